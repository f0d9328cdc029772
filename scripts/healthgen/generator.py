"""Runs the simulation chunk by chunk of accounts and writes the raw extract."""

from __future__ import annotations

import datetime as dt
import time
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from healthgen import __version__
from healthgen.contract import TABLE_NAMES, TABLES_BY_NAME
from healthgen.dirty import Injector
from healthgen.extract import Cutoff, Extract, Renderer, as_of, feature_records
from healthgen.fmt import Formatter
from healthgen.records import Records
from healthgen.rng import BLOCK_SIZE
from healthgen.simulate import ChunkSimulation
from healthgen.writer import DefectWriter, PartWriter, prepare, write_manifest

# Account ids are acc_000000..; unknown-account defects use acc_9xxxxx, which stays
# clear of every real id while the population is at most 900,000.
MAX_ACCOUNTS = 900_000
MAX_DAYS = 1095
FLUSH_DAYS = 61
STREAMED = ("user_activity_daily", "feature_usage_daily")


@dataclass(frozen=True)
class Config:
    """Arguments of one generator run."""

    accounts: int
    days: int
    seed: int
    out: Path
    start_date: dt.date = dt.date(2024, 1, 1)
    dirty: bool = False
    dirty_rate: float = 0.02
    chunk_size: int = 1000

    @property
    def last_date(self) -> dt.date:
        return self.start_date + dt.timedelta(days=self.days - 1)


def validate(cfg: Config) -> None:
    """Raise ``ValueError`` with a readable message when an argument is out of range."""
    if not 1 <= cfg.accounts <= MAX_ACCOUNTS:
        raise ValueError(f"--accounts must be between 1 and {MAX_ACCOUNTS}, got {cfg.accounts}")
    if not 1 <= cfg.days <= MAX_DAYS:
        raise ValueError(f"--days must be between 1 and {MAX_DAYS}, got {cfg.days}")
    if cfg.seed < 0:
        raise ValueError(f"--seed must be a non-negative integer, got {cfg.seed}")
    if not 0.0 < cfg.dirty_rate <= 0.5:
        raise ValueError(f"--dirty-rate must be in (0, 0.5], got {cfg.dirty_rate}")
    if cfg.chunk_size < BLOCK_SIZE or cfg.chunk_size % BLOCK_SIZE:
        raise ValueError(
            f"--chunk-size must be a positive multiple of {BLOCK_SIZE}, got {cfg.chunk_size}"
        )


class _Sink:
    """Renders, optionally damages, and writes batches; keeps the counts."""

    def __init__(
        self, cfg: Config, injector: Injector | None, defects: DefectWriter | None
    ) -> None:
        self.cfg = cfg
        self.injector = injector
        self.defects = defects
        self.clean_rows: dict[str, int] = defaultdict(int)
        self.rows: dict[str, int] = defaultdict(int)
        self.parts: dict[str, int] = defaultdict(int)

    def write(self, writer: PartWriter, table: str, ex: Extract) -> None:
        self.clean_rows[table] += ex.num_rows
        batch = ex.table
        if self.injector is not None and self.defects is not None:
            batch, found = self.injector.inject(TABLES_BY_NAME[table], ex)
            self.defects.write(found)
        writer.write(batch)
        self.rows[table] += batch.num_rows


def _chunk(cfg: Config, first: int, n: int, part: int, sink: _Sink) -> None:
    sim = ChunkSimulation(cfg.seed, cfg.start_date, first, n)
    render = Renderer(cfg.start_date, first)
    cut = Cutoff(cfg.days - 1)
    writers = {t: PartWriter(cfg.out, t, part) for t in TABLE_NAMES if t != "features"}
    accounts = sim.account_records()

    def emit(table: str, rec: Records) -> None:
        sink.write(writers[table], table, render.render(table, as_of(table, rec, cut, accounts)))

    for t in range(cfg.days):
        sim.step(t)
        if (t + 1) % FLUSH_DAYS == 0 or t == cfg.days - 1:
            emit("user_activity_daily", sim.activity.take())
            emit("feature_usage_daily", sim.usage.take())
    sources: dict[str, Records] = {
        "accounts": accounts,
        "contracts": sim.contracts.take(),
        "onboarding_milestones": sim.milestones.take(),
        "stakeholder_events": sim.stakeholders.take(),
        "users": sim.user_records(),
        "tickets": sim.tickets.take(),
        "survey_responses": sim.surveys.take(),
        "invoices": sim.invoices.take(),
        "payments": sim.payments.take(),
        "account_outcomes": sim.outcomes.take(),
    }
    for table, rec in sources.items():
        emit(table, rec)
    for table, w in writers.items():
        w.close()
        sink.parts[table] += 1


def generate(cfg: Config, log: Callable[[str], None] | None = None) -> dict[str, Any]:
    """Generate the extract described by ``cfg``; returns the manifest."""
    validate(cfg)
    began = time.perf_counter()
    prepare(cfg.out)
    fmt = Formatter(cfg.start_date)
    injector = Injector(fmt, cfg.seed, cfg.dirty_rate) if cfg.dirty else None
    defects = DefectWriter(cfg.out) if cfg.dirty else None
    sink = _Sink(cfg, injector, defects)
    cut = Cutoff(cfg.days - 1)

    features = PartWriter(cfg.out, "features", 0)
    rec = feature_records()
    rec = {k: v[rec["released_s"] <= cut.end_s] for k, v in rec.items()}
    sink.write(features, "features", Renderer(cfg.start_date, 0).render("features", rec))
    features.close()
    sink.parts["features"] += 1

    starts = range(0, cfg.accounts, cfg.chunk_size)
    for part, first in enumerate(starts):
        n = min(cfg.chunk_size, cfg.accounts - first)
        _chunk(cfg, first, n, part, sink)
        if log is not None:
            log(f"chunk {part + 1}/{len(starts)} done ({time.perf_counter() - began:.1f}s)")
    if defects is not None:
        defects.close()

    counts = injector.counts if injector is not None else {}
    manifest: dict[str, Any] = {
        "generator": "healthgen",
        "generator_version": __version__,
        "seed": cfg.seed,
        "accounts": cfg.accounts,
        "days": cfg.days,
        "start_date": cfg.start_date.isoformat(),
        "last_date": cfg.last_date.isoformat(),
        "dirty": cfg.dirty,
        "dirty_rate": cfg.dirty_rate if cfg.dirty else 0.0,
        "chunk_size": cfg.chunk_size,
        "row_counts": {t: sink.rows[t] for t in TABLE_NAMES},
        "clean_row_counts": {t: sink.clean_rows[t] for t in TABLE_NAMES},
        "part_counts": {t: sink.parts[t] for t in TABLE_NAMES},
        "defect_counts": {t: dict(sorted(counts[t].items())) for t in TABLE_NAMES if t in counts},
        "defect_rows": int(sum(sum(k.values()) for k in counts.values())),
        "seconds": round(time.perf_counter() - began, 2),
    }
    write_manifest(cfg.out, manifest)
    return manifest


__all__ = ["Config", "generate", "validate"]
