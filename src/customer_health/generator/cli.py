#!/usr/bin/env python3
"""Generate the synthetic raw extract the project reads: `customer-health generate`.

Writes ``OUT/<table>/part-NNNNN.parquet`` (every column as text), ``OUT/_manifest.json``,
with ``--dirty`` ``OUT/_defects/defects.parquet`` and with ``--truth``
``OUT/_truth/latent_health.parquet``. ``--world`` picks the kind of business simulated
(``annual`` by default; see docs/generator-worlds.md).

OUT must be missing, empty or written by the generator (its ``_manifest.json`` says so);
a directory of anything else is someone's own data and is refused (exit status 1) unless
``--force``. With ``--if-absent`` (what ``make data`` runs) an extract or a directory of
other data is left as it is and the command only says so.
"""

from __future__ import annotations

import argparse
import datetime as dt
import sys
import time
from collections.abc import Sequence
from pathlib import Path

from customer_health.generator.generator import DEFAULT_START_DATE, Config, generate, validate
from customer_health.generator.worlds import DEFAULT_WORLD, WORLDS
from customer_health.generator.writer import ForeignDataError, Ownership, ownership


def _date(text: str) -> dt.date:
    try:
        return dt.date.fromisoformat(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(f"not a YYYY-MM-DD date: {text!r}") from exc


def parse_args(
    argv: Sequence[str] | None = None, prog: str = "customer-health generate"
) -> tuple[Config, bool]:
    """Parse and validate the command line: the run and whether ``--if-absent`` was given."""
    p = argparse.ArgumentParser(
        prog=prog,
        description="Generate synthetic raw data for the customer-health dbt project.",
    )
    p.add_argument("--accounts", type=int, required=True, help="population of accounts")
    p.add_argument("--days", type=int, required=True, help="days covered from the start date")
    p.add_argument("--seed", type=int, required=True, help="random seed")
    p.add_argument(
        "--out",
        type=Path,
        required=True,
        help="output directory: missing, empty or written by the generator (see --force)",
    )
    p.add_argument(
        "--start-date", type=_date, default=DEFAULT_START_DATE, help="first day (YYYY-MM-DD)"
    )
    p.add_argument("--dirty", action="store_true", help="inject realistic defects")
    p.add_argument(
        "--dirty-rate", type=float, default=0.02, help="share of rows per table given a defect"
    )
    p.add_argument(
        "--chunk-size",
        type=int,
        default=1000,
        help="accounts simulated and written per part file (multiple of 50)",
    )
    p.add_argument(
        "--next-day-out",
        type=Path,
        default=None,
        help=(
            "also write the delivery of the day after the last one here: that day's rows of "
            "the streamed tables as new part files, new snapshots of the other tables"
        ),
    )
    p.add_argument(
        "--world",
        choices=tuple(WORLDS),
        default=DEFAULT_WORLD,
        help=(
            "kind of business simulated: "
            + "; ".join(f"{w.name}: {w.summary}" for w in WORLDS.values())
            + f" (default: {DEFAULT_WORLD})"
        ),
    )
    p.add_argument(
        "--truth",
        action="store_true",
        help=(
            "also write every account's latent health per day to OUT/_truth/"
            "latent_health.parquet (the raw tables stay the same)"
        ),
    )
    existing = p.add_mutually_exclusive_group()
    existing.add_argument(
        "--force",
        action="store_true",
        help=(
            "write even into a non-empty directory the generator did not write, replacing "
            "the Parquet files of its table folders"
        ),
    )
    existing.add_argument(
        "--if-absent",
        action="store_true",
        help=(
            "generate only into a missing or empty directory (or over an unfinished run); "
            "leave an extract or a directory of other data as it is and say so"
        ),
    )
    a = p.parse_args(argv)
    cfg = Config(
        accounts=a.accounts,
        days=a.days,
        seed=a.seed,
        out=a.out,
        start_date=a.start_date,
        dirty=a.dirty,
        dirty_rate=a.dirty_rate,
        chunk_size=a.chunk_size,
        next_day_out=a.next_day_out,
        force=a.force,
        world=a.world,
        truth=a.truth,
    )
    try:
        validate(cfg)
    except ValueError as exc:
        p.error(str(exc))
    return cfg, a.if_absent


def existing_data(out: Path) -> str | None:
    """For ``--if-absent``: what ``out`` already holds, or None when demo data goes there."""
    state = ownership(out)
    if state is Ownership.GENERATED:
        return f"Raw data found in {out}"
    if state is Ownership.FOREIGN:
        return (
            f"Raw data found in {out}, not written by the generator: it is built as it is "
            "(no demo data generated)"
        )
    if state is Ownership.UNFINISHED:
        print(f"{out} holds an unfinished run of the generator: generating again")
    return None


def main(argv: Sequence[str] | None = None, prog: str = "customer-health generate") -> int:
    cfg, if_absent = parse_args(argv, prog)
    found = existing_data(cfg.out) if if_absent else None
    if found is not None:
        print(found)
        return 0
    began = time.perf_counter()
    try:
        manifest = generate(cfg, log=lambda msg: print(msg, file=sys.stderr))
    except ForeignDataError as exc:
        print(f"{prog}: {exc}", file=sys.stderr)
        return 1
    print(
        f"Wrote {cfg.out} ({cfg.start_date} .. {cfg.last_date}, seed {cfg.seed}, world {cfg.world})"
    )
    for table, rows in manifest["row_counts"].items():
        print(f"  {table:<24} {rows:>12,}")
    if cfg.dirty:
        print(f"  {'defects injected':<24} {manifest['defect_rows']:>12,}")
    if cfg.truth:
        print(f"Wrote the latent health to {cfg.out / '_truth'}")
    if cfg.next_day_out is not None:
        print(f"Wrote the delivery of {cfg.next_date} to {cfg.next_day_out}")
    print(f"Done in {time.perf_counter() - began:.1f}s")
    return 0
