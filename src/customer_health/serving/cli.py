"""Command line of the publish step: build and test, then publish or refuse."""

from __future__ import annotations

import argparse
import fcntl
import sys
from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path

from rich.console import Console
from rich.table import Table

from customer_health import settings
from customer_health.dbt_artifacts import (
    BuildCheckError,
    build_problems,
    read_manifest,
    read_run_results,
)
from customer_health.serving.publish import (
    KEEP_RELEASES,
    SERVED_SCHEMAS,
    PublishRefusedError,
    Release,
    ServingPaths,
    publish,
    run_dbt_build,
)

EXIT_PUBLISHED = 0
EXIT_REFUSED = 1
EXIT_USAGE = 2
DESCRIPTION = """\
Build and test the warehouse in the build database, then publish it for BI tools: only when
every error-severity test passed is the serving database replaced (by a rename) and the
marts exported as Parquet. Otherwise the serving files stay exactly as they were.

Arguments after `--` go to `dbt build` (for example `-- --vars '{as_of_date: 2024-06-30}'`).

Exit codes: 0 published; 1 the build failed or could not be published (serving unchanged);
2 bad arguments.
"""


def parse_args(
    argv: Sequence[str], config: settings.Settings, prog: str = "customer-health publish"
) -> tuple[argparse.Namespace, list[str]]:
    argv = list(argv)
    dbt_args: list[str] = []
    if "--" in argv:
        split = argv.index("--")
        argv, dbt_args = argv[:split], argv[split + 1 :]
    parser = argparse.ArgumentParser(
        prog=prog,
        description=DESCRIPTION,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument(
        "--build-db",
        type=Path,
        default=config.build_db,
        help="the database dbt builds into (default: $HEALTH_DB_PATH or %(default)s)",
    )
    parser.add_argument(
        "--serving-dir",
        type=Path,
        default=config.serving_dir,
        help="where the served database and Parquet files live (default: "
        "$HEALTH_SERVING_DIR or %(default)s)",
    )
    parser.add_argument(
        "--project-dir",
        type=Path,
        default=config.project_dir,
        help="the dbt project (default: $HEALTH_PROJECT_DIR or %(default)s)",
    )
    parser.add_argument(
        "--target-path",
        type=Path,
        default=config.target_path,
        help="dbt's target directory (default: $DBT_TARGET_PATH or %(default)s)",
    )
    parser.add_argument(
        "--schemas",
        nargs="+",
        default=list(SERVED_SCHEMAS),
        help=f"schemas to serve (default: {' '.join(SERVED_SCHEMAS)})",
    )
    parser.add_argument(
        "--keep",
        type=int,
        default=KEEP_RELEASES,
        help=f"releases of Parquet files to keep (default: {KEEP_RELEASES})",
    )
    args = parser.parse_args(argv)
    if args.keep < 1:
        parser.error("--keep must be at least 1")
    return args, dbt_args


def release_table(release: Release, paths: ServingPaths) -> Table:
    table = Table(
        title=f"Published release {release.release_id} (scores as of {release.as_of_date})"
    )
    table.add_column("table")
    table.add_column("rows", justify="right")
    for name, rows in release.tables.items():
        table.add_row(name, f"{rows:,}")
    table.caption = f"{paths.database}  ·  {paths.parquet}/"
    return table


def main(argv: Sequence[str] | None = None, prog: str = "customer-health publish") -> int:
    config = settings.load()
    args, dbt_args = parse_args(sys.argv[1:] if argv is None else argv, config, prog)
    console = Console(stderr=True)
    paths = ServingPaths(args.serving_dir)
    paths.root.mkdir(parents=True, exist_ok=True)
    args.build_db.parent.mkdir(parents=True, exist_ok=True)
    target_path = (
        args.target_path if args.target_path.is_absolute() else args.project_dir / args.target_path
    )
    dbt = Path(sys.executable).parent / "dbt"
    with paths.lock.open("w") as lock:
        try:
            fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            console.print(f"[red]Another publish holds {paths.lock}; not starting a second one.")
            return EXIT_REFUSED
        started_at = datetime.now(UTC)
        env = config.dbt_env(HEALTH_DB_PATH=str(args.build_db))
        code = run_dbt_build(dbt, args.project_dir, target_path, env, dbt_args)
        try:
            try:
                run_results = read_run_results(target_path)
                manifest = read_manifest(target_path)
            except BuildCheckError as missing:
                raise PublishRefusedError(missing.problems) from missing
            problems = build_problems(run_results, since=started_at)
            if code != 0 and not problems:
                problems.append(f"dbt build exited with code {code}")
            if problems:
                raise PublishRefusedError(problems)
            release = publish(
                args.build_db,
                paths,
                run_results,
                manifest,
                project_dir=args.project_dir,
                schemas=args.schemas,
                keep=args.keep,
            )
        except PublishRefusedError as refused:
            console.print("[red bold]Not published[/]: the serving files are unchanged.")
            for problem in refused.problems[:20]:
                console.print(f"  - {problem}", markup=False)
            if len(refused.problems) > 20:
                console.print(f"  ... and {len(refused.problems) - 20} more")
            return EXIT_REFUSED
    console.print(release_table(release, paths))
    return EXIT_PUBLISHED
