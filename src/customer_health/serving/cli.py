"""Command line of the publish step: build and test, then publish or refuse."""

from __future__ import annotations

import argparse
import fcntl
import sys
import textwrap
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
    DEFAULT_MAX_SHRINK,
    KEEP_RELEASES,
    NEVER_EMPTY_MARTS,
    SERVED_SCHEMAS,
    PublishRefusedError,
    Release,
    ReleaseGates,
    ServingPaths,
    check_serving_dir,
    prepare,
    publish,
    run_dbt_build,
)

EXIT_PUBLISHED = 0
EXIT_REFUSED = 1
EXIT_USAGE = 2
GATES = textwrap.fill(
    f"Release gates: {', '.join(name.split('.', 1)[1] for name in NEVER_EMPTY_MARTS)} must "
    "never be empty; against the served release, no table may lose more than --max-shrink of "
    "its rows (--allow-shrink accepts that once) and the as-of date may not move backwards "
    "(--allow-earlier-as-of accepts that once).",
    width=92,
)
DESCRIPTION = f"""\
Build and test the warehouse in the build database, then publish it for BI tools: only when
every error-severity test passed and the release gates hold is the serving database replaced
(by a rename) and the marts exported as Parquet. Otherwise the serving files stay exactly as
they were.

{GATES}

Arguments after `--` go to `dbt build` (for example `-- --vars '{{as_of_date: 2024-06-30}}'`).
The build runs the selector `daily` (selectors.yml: every model, the data tests in proportion
to what changed, no unit tests) unless they select nodes themselves (`-- --selector full_check`
for the periodic full check).

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
    parser.add_argument(
        "--max-shrink",
        type=share,
        default=DEFAULT_MAX_SHRINK,
        metavar="SHARE",
        help="largest share of its rows a served table may lose against the served release, "
        "0-1 or a percentage (default: %(default)s)",
    )
    parser.add_argument(
        "--allow-shrink",
        action="store_true",
        help="publish even if tables shrink by more than --max-shrink",
    )
    parser.add_argument(
        "--allow-earlier-as-of",
        action="store_true",
        help="publish even if the as-of date is earlier than the served release's",
    )
    args = parser.parse_args(argv)
    if args.keep < 1:
        parser.error("--keep must be at least 1")
    return args, dbt_args


def share(text: str) -> float:
    """A share between 0 and 1, written as a fraction (0.2) or a percentage (20%)."""
    number = text[:-1] if text.endswith("%") else text
    try:
        value = float(number) / (100 if number != text else 1)
    except ValueError as error:
        raise argparse.ArgumentTypeError(f"not a share: {text!r}") from error
    if not 0 <= value <= 1:
        raise argparse.ArgumentTypeError(f"a share is between 0 and 1 (0%-100%), not {text}")
    return value


def refused(console: Console, problems: Sequence[str]) -> int:
    console.print("[red bold]Not published[/]: the serving files are unchanged.")
    for problem in problems[:20]:
        console.print(f"  - {problem}", markup=False)
    if len(problems) > 20:
        console.print(f"  ... and {len(problems) - 20} more")
    return EXIT_REFUSED


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
    gates = ReleaseGates(
        max_shrink=args.max_shrink,
        allow_shrink=args.allow_shrink,
        allow_earlier_as_of=args.allow_earlier_as_of,
    )
    try:
        # Before the lock file is created: a directory that is not ours stays untouched.
        check_serving_dir(paths)
    except PublishRefusedError as refusal:
        return refused(console, refusal.problems)
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
        try:
            # A publish stopped earlier is finished (or its leftovers removed) first, whatever
            # this build's outcome.
            for done in prepare(paths):
                console.print(f"Serving directory: {done}", markup=False)
            started_at = datetime.now(UTC)
            env = config.dbt_env(HEALTH_DB_PATH=str(args.build_db))
            code = run_dbt_build(dbt, args.project_dir, target_path, env, dbt_args)
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
                gates=gates,
            )
        except PublishRefusedError as refusal:
            return refused(console, refusal.problems)
    console.print(release_table(release, paths))
    return EXIT_PUBLISHED
