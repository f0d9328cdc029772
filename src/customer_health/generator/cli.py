#!/usr/bin/env python3
"""Generate the synthetic raw extract the project reads: `customer-health generate`.

Writes ``OUT/<table>/part-NNNNN.parquet`` (every column as text), ``OUT/_manifest.json``
and, with ``--dirty``, ``OUT/_defects/defects.parquet``.
"""

from __future__ import annotations

import argparse
import datetime as dt
import sys
import time
from collections.abc import Sequence
from pathlib import Path

from customer_health.generator.generator import Config, generate, validate


def _date(text: str) -> dt.date:
    try:
        return dt.date.fromisoformat(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(f"not a YYYY-MM-DD date: {text!r}") from exc


def parse_args(argv: Sequence[str] | None = None, prog: str = "customer-health generate") -> Config:
    """Parse and validate the command line."""
    p = argparse.ArgumentParser(
        prog=prog,
        description="Generate synthetic raw data for the customer-health dbt project.",
    )
    p.add_argument("--accounts", type=int, required=True, help="population of accounts")
    p.add_argument("--days", type=int, required=True, help="days covered from the start date")
    p.add_argument("--seed", type=int, required=True, help="random seed")
    p.add_argument("--out", type=Path, required=True, help="output directory")
    p.add_argument(
        "--start-date", type=_date, default=dt.date(2024, 1, 1), help="first day (YYYY-MM-DD)"
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
    )
    try:
        validate(cfg)
    except ValueError as exc:
        p.error(str(exc))
    return cfg


def main(argv: Sequence[str] | None = None, prog: str = "customer-health generate") -> int:
    cfg = parse_args(argv, prog)
    began = time.perf_counter()
    manifest = generate(cfg, log=lambda msg: print(msg, file=sys.stderr))
    print(f"Wrote {cfg.out} ({cfg.start_date} .. {cfg.last_date}, seed {cfg.seed})")
    for table, rows in manifest["row_counts"].items():
        print(f"  {table:<24} {rows:>12,}")
    if cfg.dirty:
        print(f"  {'defects injected':<24} {manifest['defect_rows']:>12,}")
    if cfg.next_day_out is not None:
        print(f"Wrote the delivery of {cfg.next_date} to {cfg.next_day_out}")
    print(f"Done in {time.perf_counter() - began:.1f}s")
    return 0
