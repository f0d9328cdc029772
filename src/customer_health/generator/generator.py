"""Runs the simulation chunk by chunk of accounts and writes the raw extract."""

from __future__ import annotations

import datetime as dt
import time
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from customer_health.generator import __version__
from customer_health.generator.contract import TABLES_BY_NAME
from customer_health.generator.dirty import Injector
from customer_health.generator.extract import Cutoff, Extract, Renderer, as_of, feature_records
from customer_health.generator.fmt import Formatter
from customer_health.generator.records import Records
from customer_health.generator.rng import BLOCK_SIZE
from customer_health.generator.simulate import ChunkSimulation
from customer_health.generator.worlds import DEFAULT_WORLD, WORLD_NAMES, WORLDS, world_tables
from customer_health.generator.writer import (
    GENERATOR,
    DefectWriter,
    PartWriter,
    TruthWriter,
    claim,
    part_name,
    prepare,
    write_manifest,
)

# Account ids are acc_000000..; unknown-account defects use acc_9xxxxx, which stays
# clear of every real id while the population is at most 900,000.
MAX_ACCOUNTS = 900_000
MAX_DAYS = 1095
FLUSH_DAYS = 61
STREAMED = ("user_activity_daily", "feature_usage_daily")


# The first generated day unless --start-date moves it.
DEFAULT_START_DATE = dt.date(2024, 1, 1)


@dataclass(frozen=True)
class Config:
    """Arguments of one generator run."""

    accounts: int
    days: int
    seed: int
    out: Path
    start_date: dt.date = DEFAULT_START_DATE
    dirty: bool = False
    dirty_rate: float = 0.02
    chunk_size: int = 1000
    # Also write the delivery of the day after the extract (see ``generate``).
    next_day_out: Path | None = None
    # Write even into a non-empty directory the generator did not write, replacing the
    # Parquet files of its table folders; without it such a directory is refused.
    force: bool = False
    # The kind of business simulated (see ``worlds``); "annual" is the default world.
    world: str = DEFAULT_WORLD
    # Also write every account's latent health per day to ``out/_truth/``.
    truth: bool = False

    @property
    def tables(self) -> tuple[str, ...]:
        """The raw tables this run writes."""
        return world_tables(WORLDS[self.world])

    @property
    def last_date(self) -> dt.date:
        return self.start_date + dt.timedelta(days=self.days - 1)

    @property
    def next_date(self) -> dt.date:
        return self.start_date + dt.timedelta(days=self.days)


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
    if cfg.world not in WORLDS:
        raise ValueError(f"--world must be one of {', '.join(WORLD_NAMES)}, got {cfg.world!r}")
    if cfg.next_day_out is not None and cfg.days + 1 > MAX_DAYS:
        raise ValueError(f"--next-day-out needs --days below {MAX_DAYS}, got {cfg.days}")
    if cfg.next_day_out is not None and cfg.next_day_out.resolve() == cfg.out.resolve():
        raise ValueError("--next-day-out must differ from --out")


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


def next_day_part_name(day: dt.date, part: int) -> str:
    """File name of a next-day part: sorts after, and never clashes with, the extract's parts."""
    return part_name(part, day)


def _chunk(
    cfg: Config,
    first: int,
    n: int,
    part: int,
    sink: _Sink,
    next_sink: _Sink | None,
    truth: TruthWriter | None = None,
) -> None:
    sim = ChunkSimulation(cfg.seed, cfg.start_date, first, n, cfg.world)
    render = Renderer(cfg.start_date, first)
    cut = Cutoff(cfg.days - 1)
    tables = [t for t in cfg.tables if t != "features"]
    writers = {t: PartWriter(cfg.out, t, part) for t in tables}
    next_writers: dict[str, PartWriter] = {}
    if next_sink is not None and cfg.next_day_out is not None:
        name = next_day_part_name(cfg.next_date, part)
        next_writers = {
            t: PartWriter(cfg.next_day_out, t, part, name=name if t in STREAMED else None)
            for t in tables
        }
    next_cut = Cutoff(cfg.days)
    accounts = sim.account_records()

    def emit(table: str, rec: Records) -> None:
        if table not in writers:
            return
        sink.write(writers[table], table, render.render(table, as_of(table, rec, cut, accounts)))
        if next_sink is None:
            return
        if table in STREAMED:
            # the rows of the new day only: they arrive as a new file next to the old ones
            rec = {k: v[rec["day"] == next_cut.last_day] for k, v in rec.items()}
            if not len(rec["day"]):
                return
        masked = as_of(table, rec, next_cut, accounts)
        next_sink.write(next_writers[table], table, render.render(table, masked))

    steps = cfg.days + (1 if next_sink is not None else 0)
    for t in range(steps):
        sim.step(t)
        if truth is not None and t < cfg.days:
            truth.add(first, t, *sim.latent(t))
        if (t + 1) % FLUSH_DAYS == 0 or t == steps - 1:
            emit("user_activity_daily", sim.activity.take())
            emit("feature_usage_daily", sim.usage.take())
    if truth is not None:
        truth.flush()
    sources: dict[str, Callable[[], Records]] = {
        "accounts": lambda: accounts,
        "contracts": sim.contracts.take,
        "onboarding_milestones": sim.milestones.take,
        "stakeholder_events": sim.stakeholders.take,
        "csm_activities": sim.plays.take,
        "users": sim.user_records,
        "tickets": sim.tickets.take,
        "survey_responses": sim.surveys.take,
        "invoices": sim.invoices.take,
        "payments": sim.payments.take,
        "account_outcomes": sim.outcomes.take,
    }
    for table, records in sources.items():
        if table in writers:
            emit(table, records())
    for table, w in writers.items():
        w.close()
        sink.parts[table] += 1
    if next_sink is not None:
        for table, w in next_writers.items():
            w.close()
            next_sink.parts[table] += 1


def _features(cfg: Config, out: Path, cut: Cutoff, sink: _Sink) -> None:
    writer = PartWriter(out, "features", 0)
    rec = feature_records()
    rec = {k: v[rec["released_s"] <= cut.end_s] for k, v in rec.items()}
    sink.write(writer, "features", Renderer(cfg.start_date, 0).render("features", rec))
    writer.close()
    sink.parts["features"] += 1


def _manifest(cfg: Config, sink: _Sink, seconds: float, **extra: Any) -> dict[str, Any]:
    counts = sink.injector.counts if sink.injector is not None else {}
    tables = cfg.tables
    return {
        "generator": GENERATOR,
        "complete": True,
        "generator_version": __version__,
        "seed": cfg.seed,
        "accounts": cfg.accounts,
        "days": cfg.days,
        "start_date": cfg.start_date.isoformat(),
        "last_date": cfg.last_date.isoformat(),
        "world": cfg.world,
        **extra,
        "dirty": cfg.dirty,
        "dirty_rate": cfg.dirty_rate if cfg.dirty else 0.0,
        "chunk_size": cfg.chunk_size,
        "row_counts": {t: sink.rows[t] for t in tables},
        "clean_row_counts": {t: sink.clean_rows[t] for t in tables},
        "part_counts": {t: sink.parts[t] for t in tables},
        "defect_counts": {t: dict(sorted(counts[t].items())) for t in tables if t in counts},
        "defect_rows": int(sum(sum(k.values()) for k in counts.values())),
        "seconds": round(seconds, 2),
    }


def _sink(cfg: Config, out: Path) -> _Sink:
    prepare(out, cfg.force)
    injector = Injector(Formatter(cfg.start_date), cfg.seed, cfg.dirty_rate) if cfg.dirty else None
    defects = DefectWriter(out) if cfg.dirty else None
    return _Sink(cfg, injector, defects)


def generate(cfg: Config, log: Callable[[str], None] | None = None) -> dict[str, Any]:
    """Generate the extract described by ``cfg``; returns the manifest.

    With ``cfg.next_day_out``, the same simulation runs one day further and also writes the
    delivery of the day after the extract, as a daily load would bring it: for the two
    streamed tables (user_activity_daily, feature_usage_daily) only that day's rows, in
    files named by ``next_day_part_name`` to be added next to the extract's parts; for every
    other table a whole new snapshot, to replace the extract's. The extract itself is
    identical with or without it.

    ``cfg.world`` picks the kind of business simulated and so which tables are written
    (``worlds.world_tables``); the ``annual`` world is the default. With ``cfg.truth`` the
    latent health of every account and day is also written to ``out/_truth/``, and nothing
    else changes.

    Each output directory must be missing, empty or the generator's own (see
    ``writer.claim``); otherwise ``ForeignDataError`` is raised before anything is written,
    unless ``cfg.force``.
    """
    validate(cfg)
    claim(cfg.out, cfg.force)
    if cfg.next_day_out is not None:
        claim(cfg.next_day_out, cfg.force)
    began = time.perf_counter()
    with_features = "features" in cfg.tables
    sink = _sink(cfg, cfg.out)
    if with_features:
        _features(cfg, cfg.out, Cutoff(cfg.days - 1), sink)
    next_sink = None
    if cfg.next_day_out is not None:
        next_sink = _sink(cfg, cfg.next_day_out)
        if with_features:
            _features(cfg, cfg.next_day_out, Cutoff(cfg.days), next_sink)
    truth = TruthWriter(cfg.out, cfg.start_date) if cfg.truth else None

    starts = range(0, cfg.accounts, cfg.chunk_size)
    for part, first in enumerate(starts):
        n = min(cfg.chunk_size, cfg.accounts - first)
        _chunk(cfg, first, n, part, sink, next_sink, truth)
        if log is not None:
            log(f"chunk {part + 1}/{len(starts)} done ({time.perf_counter() - began:.1f}s)")
    for s in (sink, next_sink):
        if s is not None and s.defects is not None:
            s.defects.close()
    if truth is not None:
        truth.close()

    seconds = time.perf_counter() - began
    if next_sink is not None and cfg.next_day_out is not None:
        write_manifest(
            cfg.next_day_out,
            _manifest(
                cfg,
                next_sink,
                seconds,
                delivery_date=cfg.next_date.isoformat(),
                appended_tables=[t for t in STREAMED if t in cfg.tables],
            ),
        )
    # Only a run that wrote the latent health says so (the marker lets a rerun remove it).
    manifest = _manifest(cfg, sink, seconds, **({"truth": True} if cfg.truth else {}))
    write_manifest(cfg.out, manifest)
    return manifest


__all__ = ["STREAMED", "Config", "generate", "next_day_part_name", "validate"]
