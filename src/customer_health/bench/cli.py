#!/usr/bin/env python3
"""Benchmark the customer-health build at a size: full build, one appended day, the floor.

For each size (presets S, M, L, or --accounts/--days) it:

1. generates the raw extract and the next day's delivery once (cached under --cache);
2. measures the floors: one DuckDB pass that reads every raw file, touching every column,
   and the typed floor, the same pass casting every column to its contract type;
3. runs a full ``dbt build`` into a new warehouse file;
4. appends the next day (new part files for the streamed tables, new snapshots of the
   others) and runs ``dbt build`` again, which updates the incremental models;
5. with --compare (the default for S and custom sizes), builds a full refresh of the
   appended data into a second file and compares every mart table row for row;

recording wall time, peak RSS of the whole process tree, the most DuckDB had spilled to its
temporary folder at once, rows per mart, account-days scored per second and dbt's slowest
models. Results go to <cache>/results/<size>.json and, with
--docs, into docs/benchmarks.md. Exit status 1 when a build fails or the comparison finds
a difference.
"""

from __future__ import annotations

import argparse
import dataclasses
import datetime as dt
import json
import shutil
import sys
from collections.abc import Sequence
from dataclasses import asdict
from pathlib import Path
from typing import Any

from rich.console import Console

from customer_health import settings
from customer_health.bench import rawdata, report, warehouse
from customer_health.bench.floor import measure_floor
from customer_health.bench.measure import Measured, run_measured
from customer_health.bench.presets import PRESETS, Preset, custom, is_month_end
from customer_health.dbt_artifacts import RUN_RESULTS

# Under the project directory.
DOCS = Path("docs") / "benchmarks.md"
DEFAULT_CACHE = Path("data") / "bench"
# The selector of the scheduled run (selectors.yml), and dbt's saved parse.
DAILY_SELECTOR = "daily"
PARTIAL_PARSE = "partial_parse.msgpack"
INTRO = """
Figures from `customer-health bench` (see docs/performance.md). Each size is generated
once (seed 42), then measured: a full `dbt build` into a new DuckDB file, the next day
appended (new part files for the two streamed tables, new snapshots of the others) and
`dbt build` again, and two floors: one DuckDB pass that reads every raw Parquet file and
touches every column, and the typed floor, the same pass casting every column to its
contract type (integers, decimals, dates, timestamps, booleans). Peak RSS is the resident
memory of the whole process tree and peak spill the most bytes in DuckDB's temporary folder
at once, both sampled every 0.1 s. An account-day is one row of `fct_account_health_daily`;
the incremental run counts the new day's. Goals are those of the 2-core, 24 GB reference
machine.
"""

console = Console(stderr=True)


def parse_args(
    argv: Sequence[str] | None = None, prog: str = "customer-health bench"
) -> argparse.Namespace:
    config = settings.load()
    p = argparse.ArgumentParser(prog=prog, description=__doc__.split("\n", 1)[0])
    p.add_argument("sizes", nargs="*", default=[], help="presets to run: S, M, L (default S)")
    p.add_argument("--accounts", type=int, help="a custom size instead of the presets")
    p.add_argument("--days", type=int, help="days of the custom size")
    p.add_argument("--seed", type=int, default=42, help="generator seed of a custom size")
    p.add_argument(
        "--start-date",
        type=dt.date.fromisoformat,
        help="first generated day (YYYY-MM-DD); the appended day follows the last "
        "(default 2024-01-01: at 730 days, the month-end 2025-12-31)",
    )
    p.add_argument(
        "--cache",
        type=Path,
        default=config.project_dir / DEFAULT_CACHE,
        help="data and results folder (default: %(default)s)",
    )
    p.add_argument(
        "--threads",
        type=int,
        default=config.threads,
        help="dbt threads: queries run at once (DuckDB uses every core for each)",
    )
    p.add_argument(
        "--memory-limit",
        default=config.duckdb_memory_limit,
        help="DuckDB memory_limit for the builds and the floor",
    )
    group = p.add_mutually_exclusive_group()
    group.add_argument("--compare", dest="compare", action="store_true", default=None)
    group.add_argument("--no-compare", dest="compare", action="store_false")
    p.add_argument("--no-incremental", action="store_true", help="full build and floor only")
    p.add_argument("--docs", action="store_true", help=f"rewrite {DOCS}")
    p.add_argument(
        "--report-only",
        action="store_true",
        help="run nothing: rewrite the docs from the saved results of every preset",
    )
    a = p.parse_args(argv)
    a.project_dir = config.project_dir
    if (a.accounts is None) != (a.days is None):
        p.error("--accounts and --days go together")
    if a.accounts is not None and a.sizes:
        p.error("give presets or --accounts/--days, not both")
    unknown = [s for s in a.sizes if s not in PRESETS]
    if unknown:
        p.error(f"unknown preset(s) {unknown}; choose from {sorted(PRESETS)}")
    return a


def dbt_env(
    project_dir: Path, db_path: Path, raw: Path, threads: int, memory_limit: str
) -> dict[str, str]:
    return settings.load().dbt_env(
        DBT_PROFILES_DIR=str(project_dir),
        HEALTH_DB_PATH=str(db_path),
        HEALTH_RAW_DIR=str(raw),
        HEALTH_THREADS=str(threads),
        HEALTH_DUCKDB_MEMORY_LIMIT=memory_limit,
        HEALTH_TARGET="duckdb",
    )


def spill_folder(db_path: Path) -> Path:
    """Where DuckDB spills for a database file: `<database file>.tmp` beside it."""
    return db_path.with_name(db_path.name + ".tmp")


def dbt_build(
    run: Path,
    label: str,
    env: dict[str, str],
    project_dir: Path,
    *extra: str,
    parsed_in: Path | None = None,
    spill_dir: Path | None = None,
) -> tuple[Measured, Path]:
    """One measured ``dbt build --selector daily`` (the scheduled run); returns the
    measurement and its target folder. ``parsed_in``: the target folder of an earlier build
    of the same project, whose parse dbt reuses, as a scheduled run in one folder does.
    ``spill_dir``: DuckDB's temporary folder, whose peak size is measured."""
    target = run / f"target-{label}"
    if parsed_in is not None and (parsed_in / PARTIAL_PARSE).is_file():
        target.mkdir(parents=True, exist_ok=True)
        shutil.copy2(parsed_in / PARTIAL_PARSE, target / PARTIAL_PARSE)
    dbt = Path(sys.executable).parent / "dbt"
    command = [
        str(dbt),
        "build",
        "--selector",
        DAILY_SELECTOR,
        "--target-path",
        str(target),
        "--log-path",
        str(run / f"logs-{label}"),
        *extra,
    ]
    measured = run_measured(command, env, project_dir, run / f"{label}.log", spill_dir)
    return measured, target


def build_summary(
    measured: Measured, target: Path, db_path: Path, account_days: int | None = None
) -> dict[str, Any]:
    """A build's figures; account_days defaults to every row of the scores mart."""
    mart_rows = warehouse.row_counts(db_path, warehouse.built_relations(target, "marts"))
    return {
        "seconds": round(measured.seconds, 2),
        "peak_rss_bytes": measured.peak_rss_bytes,
        "peak_spill_bytes": measured.peak_spill_bytes,
        "account_days": mart_rows[warehouse.SCORES_MART] if account_days is None else account_days,
        "mart_rows": mart_rows,
        "slowest_models": [[n, round(s, 2)] for n, s in warehouse.slowest_models(target)],
    }


def build_failure(measured: Measured, target: Path, label: str, run: Path) -> dict[str, Any] | None:
    """None when the build succeeded; else its step, time, peak RSS, failed nodes and error."""
    if measured.returncode == 0:
        return None
    has_results = (target / RUN_RESULTS).is_file()
    failed = warehouse.failed_nodes(target) if has_results else []
    errors = warehouse.failure_messages(target) if has_results else []
    return {
        "step": label,
        "seconds": round(measured.seconds, 2),
        "peak_rss_bytes": measured.peak_rss_bytes,
        "failed_nodes": failed,
        "error": errors[0] if errors else f"exit {measured.returncode}",
        "message": f"{label} failed (exit {measured.returncode}); see "
        f"{run / (label + '.log')}" + (f"; failed: {', '.join(failed)}" if failed else ""),
    }


def bench(preset: Preset, args: argparse.Namespace) -> dict[str, Any]:
    cache = args.cache / preset.name
    run = cache / "run"
    if not rawdata.is_cached(cache, preset.accounts, preset.days, preset.seed, preset.start_date):
        console.print(f"[bold]{preset.name}[/]: generating {preset.accounts:,} x {preset.days}")
        rawdata.remove_folder(cache)
        rawdata.make_folder(cache)
        rawdata.generate(
            cache,
            preset.accounts,
            preset.days,
            preset.seed,
            preset.start_date,
            cache / "generate.log",
        )
    rawdata.remove_folder(run)
    rawdata.make_folder(run)
    raw = run / "raw"
    rawdata.link_extract(cache, raw)

    console.print(f"[bold]{preset.name}[/]: floor")
    floor = measure_floor(rawdata.raw_files(raw), args.memory_limit)

    db_path = run / "warehouse.duckdb"
    env = dbt_env(args.project_dir, db_path, raw, args.threads, args.memory_limit)
    result: dict[str, Any] = {
        "name": preset.name,
        "accounts": preset.accounts,
        "days": preset.days,
        "seed": preset.seed,
        "start_date": preset.start_date.isoformat(),
        "threads": args.threads,
        "memory_limit": args.memory_limit,
        "measured_at": report.now(),
        "machine": report.machine(),
        "targets": asdict(preset.targets),
        "floor": asdict(floor),
        "full": None,
        "incremental": None,
        "comparison": None,
        "failed": None,
    }
    console.print(f"[bold]{preset.name}[/]: full build")
    measured, target = dbt_build(
        run, "full", env, args.project_dir, spill_dir=spill_folder(db_path)
    )
    result["failed"] = build_failure(measured, target, "full", run)
    if result["failed"]:
        return result
    result["full"] = build_summary(measured, target, db_path)
    console.print(f"  {measured.seconds:.1f} s, peak {measured.peak_rss_bytes / 1024**3:.2f} GB")
    if args.no_incremental:
        return result

    delivered = rawdata.append_next_day(cache, raw)
    console.print(f"[bold]{preset.name}[/]: incremental build of {delivered}")
    measured, target = dbt_build(
        run,
        "incremental",
        env,
        args.project_dir,
        parsed_in=target,
        spill_dir=spill_folder(db_path),
    )
    result["failed"] = build_failure(measured, target, "incremental", run)
    if result["failed"]:
        return result
    new_rows = warehouse.rows_on(db_path, delivered)
    result["incremental"] = build_summary(measured, target, db_path, new_rows)
    result["incremental"]["delivery_date"] = delivered
    result["incremental"]["delivery_is_month_end"] = is_month_end(dt.date.fromisoformat(delivered))
    console.print(f"  {measured.seconds:.1f} s, peak {measured.peak_rss_bytes / 1024**3:.2f} GB")

    compare = preset.compare if args.compare is None else args.compare
    if compare:
        console.print(f"[bold]{preset.name}[/]: full refresh to compare")
        fresh_db = run / "full_refresh.duckdb"
        fresh_env = dbt_env(args.project_dir, fresh_db, raw, args.threads, args.memory_limit)
        measured, fresh_target = dbt_build(
            run, "refresh", fresh_env, args.project_dir, "--full-refresh"
        )
        result["failed"] = build_failure(measured, fresh_target, "refresh", run)
        if result["failed"]:
            return result
        relations = warehouse.built_relations(target, "marts")
        result["comparison"] = warehouse.differing_rows(db_path, fresh_db, relations)
    return result


def main(argv: Sequence[str] | None = None, prog: str = "customer-health bench") -> int:
    args = parse_args(argv, prog)
    if args.accounts is not None:
        presets = [custom(args.accounts, args.days, args.seed)]
    else:
        presets = [PRESETS[name] for name in (args.sizes or ["S"])]
    if args.start_date is not None:
        presets = [dataclasses.replace(p, start_date=args.start_date) for p in presets]
    results_dir = args.cache / "results"
    results_dir.mkdir(parents=True, exist_ok=True)
    status = 0
    if args.report_only:
        presets, args.docs = [], True
    for preset in presets:
        try:
            result = bench(preset, args)
        except rawdata.NotBenchFolderError as exc:
            console.print(f"[red]{exc}[/]")
            return 1
        path = results_dir / f"{preset.name}.json"
        path.write_text(json.dumps(result, indent=2) + "\n", encoding="utf-8")
        console.print(f"[bold]{preset.name}[/]: results in {path}")
        if result["failed"]:
            console.print(f"[red]{result['failed']['message']}[/]")
            status = 1
        differing = {k: v for k, v in (result["comparison"] or {}).items() if v}
        if differing:
            console.print(f"[red]incremental marts differ from a full refresh: {differing}[/]")
            status = 1
    if args.docs:
        results = report.load_results(results_dir, list(PRESETS))
        missing = [name for name in PRESETS if name not in {r["name"] for r in results}]
        intro = INTRO + (f"\nNot measured yet: {', '.join(missing)}.\n" if missing else "")
        docs = args.project_dir / DOCS
        docs.parent.mkdir(parents=True, exist_ok=True)
        docs.write_text(report.render(results, intro), encoding="utf-8")
        console.print(f"Wrote {docs}")
    return status
