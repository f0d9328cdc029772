"""Command line of the CRM sync: `sync`, `sync-tasks`, `properties` and `audit`."""

from __future__ import annotations

import argparse
import json
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import duckdb
from rich.console import Console
from rich.table import Table
from rich.text import Text

from customer_health import settings
from customer_health.crm_sync.hubspot import (
    MAX_BATCH_INPUTS,
    ApiBaseError,
    HubSpotClient,
    HubSpotError,
    RetryPolicy,
    TransientError,
)
from customer_health.crm_sync.payload import PayloadError, load_payload_model
from customer_health.crm_sync.properties import (
    DEFAULT_GROUP,
    DEFAULT_GROUP_LABEL,
    option_values,
    property_definitions,
)
from customer_health.crm_sync.redact import redact, secrets_of
from customer_health.crm_sync.release import ReleaseError, payload_source
from customer_health.crm_sync.state import StateFileError, read_audit
from customer_health.crm_sync.sync import (
    EXIT_FAILED,
    EXIT_INTERRUPTED,
    EXIT_OK,
    EXIT_REFUSED,
    ConfigError,
    SyncReport,
    SyncSettings,
    run_sync,
)
from customer_health.crm_sync.task_sync import (
    DEFAULT_LOOKUP_DELAY,
    TaskCounts,
    TaskSyncReport,
    TaskSyncSettings,
    run_task_sync,
)
from customer_health.dbt_artifacts import BuildCheckError, read_manifest

DESCRIPTION = """\
Sync health scores to HubSpot companies (or to a CSV/JSONL file): only rows of the dbt
model sync_crm_account_health whose properties changed since the CRM last confirmed them.
`sync-tasks` sends the open (and recently closed) CSM actions of the model sync_crm_tasks
as HubSpot tasks associated with their companies, the same way: changed rows only.
The rows come from the published release (the served database BI tools read); the sync
refuses when the latest dbt build was not published.

Environment: HUBSPOT_ACCESS_TOKEN (private-app token, sent as a Bearer header and never
printed), HUBSPOT_API_BASE (default https://api.hubapi.com; https only, plain http only to
a loopback host), HEALTH_SERVING_DIR (the published release), HEALTH_DB_PATH (the build
database, never read by the sync), HEALTH_SYNC_STATE_PATH (the sync state and audit file).

Exit codes: 0 every changed row delivered (or nothing to send); 1 some rows rejected or
undelivered (recorded, retried on the next run); 2 refused before sending (the latest build
not published, failing tests in it, bad configuration, payload or state file); 3 stopped by
an API error no retry fixes; 130 interrupted (Ctrl-C).
"""


def add_state_db(parser: argparse.ArgumentParser, config: settings.Settings) -> None:
    parser.add_argument(
        "--state-db",
        type=Path,
        default=config.sync_state_db,
        help="sync state and audit tables (default: $HEALTH_SYNC_STATE_PATH or %(default)s)",
    )


def add_common(parser: argparse.ArgumentParser, config: settings.Settings) -> None:
    parser.add_argument(
        "--target-path",
        type=Path,
        default=config.target_path,
        help="dbt's target directory: manifest.json and run_results.json (default: "
        "$DBT_TARGET_PATH or %(default)s)",
    )
    parser.add_argument(
        "--serving-dir",
        type=Path,
        default=config.serving_dir,
        help="the published release: release.json and the served database (default: "
        "$HEALTH_SERVING_DIR or %(default)s)",
    )
    parser.add_argument(
        "--db",
        type=Path,
        default=None,
        help="read the payload from this existing database instead of the served one, "
        "read-only; never the build database (default: the published release's)",
    )
    add_state_db(parser, config)
    parser.add_argument(
        "--id-property",
        default="health_account_id",
        help="unique HubSpot company property holding the account id (default: %(default)s)",
    )


def add_http(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--max-requests",
        type=int,
        default=100,
        help="requests allowed per rolling window (default: %(default)s)",
    )
    parser.add_argument(
        "--window-seconds",
        type=float,
        default=10.0,
        help="length of the rate-limit window (default: %(default)s)",
    )
    parser.add_argument(
        "--max-attempts",
        type=int,
        default=6,
        help="attempts per request on 429, 5xx and timeouts (default: %(default)s)",
    )
    parser.add_argument(
        "--backoff-initial",
        type=float,
        default=1.0,
        help="first retry wait in seconds, doubling (default: %(default)s)",
    )
    parser.add_argument(
        "--backoff-max",
        type=float,
        default=60.0,
        help="longest retry wait in seconds (default: %(default)s)",
    )
    parser.add_argument(
        "--timeout",
        type=float,
        default=30.0,
        help="seconds to wait for a response (default: %(default)s)",
    )


def build_parser(config: settings.Settings, prog: str) -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog=prog,
        description=DESCRIPTION,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    commands = parser.add_subparsers(dest="command", required=True)

    sync = commands.add_parser("sync", help="send changed rows to HubSpot or a file")
    add_common(sync, config)
    add_http(sync)
    sync.add_argument(
        "--dry-run",
        action="store_true",
        help="send and record nothing; print planned creates/updates/unchanged",
    )
    sync.add_argument(
        "--full",
        action="store_true",
        help="send every row, changed or not (e.g. after restoring the CRM)",
    )
    sync.add_argument(
        "--batch-size",
        type=int,
        default=MAX_BATCH_INPUTS,
        help=f"inputs per upsert request, at most {MAX_BATCH_INPUTS}",
    )
    sync.add_argument(
        "--file",
        type=Path,
        default=None,
        help="write the changed rows to this CSV or JSONL file instead of HubSpot",
    )
    sync.add_argument(
        "--format",
        choices=("csv", "jsonl"),
        default=None,
        help="file format (default: from the file name)",
    )

    tasks = commands.add_parser(
        "sync-tasks",
        help="send open and recently closed CSM actions to HubSpot as tasks on their companies",
    )
    add_common(tasks, config)
    add_http(tasks)
    tasks.add_argument(
        "--dry-run",
        action="store_true",
        help="send and record nothing; print the planned creates/updates/lookups",
    )
    tasks.add_argument(
        "--plan-file",
        type=Path,
        default=None,
        help="with --dry-run: write every planned request input to this JSONL file",
    )
    tasks.add_argument(
        "--full",
        action="store_true",
        help="update every known task, changed or not (e.g. after restoring the CRM)",
    )
    tasks.add_argument(
        "--batch-size",
        type=int,
        default=MAX_BATCH_INPUTS,
        help=f"inputs per create or update request, at most {MAX_BATCH_INPUTS}",
    )
    tasks.add_argument(
        "--lookup-delay",
        type=float,
        default=DEFAULT_LOOKUP_DELAY,
        help="seconds after a create whose answer was lost before it is looked up in "
        "HubSpot (and created again if not found) (default: %(default)s)",
    )

    props = commands.add_parser(
        "properties", help="print (or create in HubSpot) the company properties the sync writes"
    )
    add_common(props, config)
    add_http(props)
    props.add_argument(
        "--group", default=DEFAULT_GROUP, help="property group (default: %(default)s)"
    )
    props.add_argument(
        "--apply",
        action="store_true",
        help="create missing properties and update enumeration options in HubSpot",
    )

    audit = commands.add_parser("audit", help="show recent sync runs and their rejected rows")
    add_state_db(audit, config)
    audit.add_argument("--runs", type=int, default=10, help="runs to list (default: 10)")
    audit.add_argument(
        "--run-id", default=None, help="run whose rejections to list (default: the latest run)"
    )
    return parser


def retry_policy(args: argparse.Namespace) -> RetryPolicy:
    return RetryPolicy(
        max_attempts=args.max_attempts,
        backoff_initial=args.backoff_initial,
        backoff_max=args.backoff_max,
        jitter=min(1.0, args.backoff_initial),
        timeout=args.timeout,
    )


def secrets(args: argparse.Namespace) -> tuple[str, ...]:
    """The configuration's literal secrets, for `redact`."""
    config: settings.Settings = args.config
    return secrets_of(config.hubspot_token, config.hubspot_api_base)


def show(
    console: Console, text: str, secret_values: Sequence[str], prefix: str = "", style: str = ""
) -> None:
    """A message, redacted, on one line: `prefix` in `style`, then the text as it is (no
    markup is read from it)."""
    line = Text(prefix, style=style) if prefix else Text()
    line.append(redact(text, secret_values))
    console.print(line, soft_wrap=True, highlight=False)


# What makes a sync refuse to start: nothing is sent and the exit code is EXIT_REFUSED.
REFUSALS = (PayloadError, BuildCheckError, ReleaseError, StateFileError, ConfigError, ValueError)


def run_settings(args: argparse.Namespace) -> dict[str, Any]:
    """The settings the company and task syncs share, from their common options."""
    return {
        "target_dir": args.target_path,
        "serving_dir": args.serving_dir,
        "db_path": args.db,
        "build_db": args.config.build_db,
        "state_path": args.state_db,
        "id_property": args.id_property,
        "batch_size": args.batch_size,
        "full": args.full,
        "dry_run": args.dry_run,
        "base_url": args.config.hubspot_api_base,
        "max_requests": args.max_requests,
        "window_seconds": args.window_seconds,
        "policy": retry_policy(args),
    }


def command_sync(args: argparse.Namespace, out: Console, err: Console) -> int:
    sync_settings = SyncSettings(**run_settings(args), file_path=args.file, file_format=args.format)
    try:
        report = run_sync(sync_settings, args.config.hubspot_token, on_batch=progress(err))
    except REFUSALS as exc:
        show(err, str(exc), secrets(args), "Refused, nothing sent: ", "red")
        return EXIT_REFUSED
    print_report(report, out, secrets(args))
    return report.exit_code


def command_sync_tasks(args: argparse.Namespace, out: Console, err: Console) -> int:
    task_settings = TaskSyncSettings(
        **run_settings(args), plan_file=args.plan_file, lookup_delay=args.lookup_delay
    )
    try:
        report = run_task_sync(task_settings, args.config.hubspot_token, on_batch=progress(err))
    except REFUSALS as exc:
        show(err, str(exc), secrets(args), "Refused, nothing sent: ", "red")
        return EXIT_REFUSED
    print_task_report(report, out, secrets(args))
    return report.exit_code


def progress(err: Console, every: int = 50) -> Callable[[int, int], None]:
    """Report every `every` batches (5,000 rows at the default size) on stderr."""

    def report(done: int, total: int) -> None:
        if done % every == 0:
            err.print(f"batch {done:,} of {total:,} sent", highlight=False)

    return report


def print_report(
    report: SyncReport,
    out: Console,
    secret_values: Sequence[str] = (),
    name: str = "CRM sync",
    extra: Sequence[tuple[str, int]] = (),
) -> None:
    counts = report.counts
    title = f"{name} (dry run: nothing sent or recorded)" if report.dry_run else name
    table = Table(title=title, show_header=False)
    table.add_column("what")
    table.add_column("rows", justify="right")
    table.add_row("destination", Text(redact(report.destination, secret_values)))
    if report.release is not None:
        release = report.release
        table.add_row(
            "release",
            Text(f"{release.release_id} (scores as of {release.as_of_date or 'unknown'})"),
        )
    rows = [
        ("rows considered", counts.rows_considered),
        ("planned creates", counts.planned_creates),
        ("planned updates", counts.planned_updates),
        ("unchanged", counts.rows_unchanged),
        *extra,
    ]
    if not report.dry_run:
        rows += [
            ("sent", counts.rows_sent),
            ("succeeded", counts.rows_succeeded),
            ("rejected", counts.rows_rejected),
            ("undelivered", counts.rows_undelivered),
            ("requests", counts.requests),
            ("retries", counts.retries),
            ("rate limited (429)", counts.rate_limited),
        ]
    for name, value in rows:
        table.add_row(name, f"{value:,}")
    out.print(table)
    for error in report.errors[:10]:
        show(
            out,
            f"  {error.error_kind} {error.record_id}: HTTP {error.http_status} "
            f"{error.category or ''} {error.message}",
            secret_values,
        )
    if len(report.errors) > 10:
        out.print(f"  ... and {len(report.errors) - 10} more (customer-health audit)")
    style = "green" if report.exit_code == EXIT_OK else "red"
    run = f" (run {report.run_id})" if report.run_id else ""
    show(out, f"{run}: {report.summary}", secret_values, report.status, style)


def print_task_report(
    report: TaskSyncReport, out: Console, secret_values: Sequence[str] = ()
) -> None:
    """The company sync's report, with the task counts; a dry run lists its first writes."""
    counts = report.counts
    assert isinstance(counts, TaskCounts)
    extra = [
        ("closed before a task was created", counts.closed_not_created),
        ("lost creates looked up", counts.looked_up),
        ("awaiting lookup", counts.awaiting_lookup),
    ]
    if not report.dry_run:
        extra += [
            ("lost creates found", counts.recovered),
            ("without a company", counts.company_not_found),
        ]
    print_report(report, out, secret_values, "CRM task sync", extra)
    for entry in report.planned[:10]:
        subject = (entry.get("properties") or {}).get("hs_task_subject", "")
        status = (entry.get("properties") or {}).get("hs_task_status", "")
        target = entry.get("task_id") or entry.get("health_account_id") or ""
        show(
            out,
            f"  {entry['operation']} {entry['health_action_id']} {target} {status} {subject}",
            secret_values,
        )
    if len(report.planned) > 10:
        out.print(f"  ... and {len(report.planned) - 10} more (--plan-file lists them all)")


def command_properties(args: argparse.Namespace, out: Console, err: Console) -> int:
    try:
        manifest = read_manifest(args.target_path)
        model = load_payload_model(manifest)
        _, database = payload_source(
            args.target_path, args.serving_dir, args.db, args.config.build_db
        )
        definitions = property_definitions(manifest, model, database, args.group, args.id_property)
    except (PayloadError, BuildCheckError, ReleaseError, duckdb.Error) as exc:
        show(err, str(exc), secrets(args), "Cannot describe the properties: ", "red")
        return EXIT_REFUSED
    if not args.apply:
        out.print_json(redact(json.dumps({"inputs": definitions}), secrets(args)))
        return EXIT_OK
    token = args.config.hubspot_token
    if not token:
        err.print("[red]HUBSPOT_ACCESS_TOKEN is not set[/red]")
        return EXIT_REFUSED
    try:
        return apply_properties(args, token, definitions, out)
    except ApiBaseError as exc:
        show(err, str(exc), secrets(args), "Refused: ", "red")
        return EXIT_REFUSED
    except (HubSpotError, TransientError) as exc:
        show(err, str(exc), secrets(args), "Stopped: ", "red")
        return EXIT_FAILED


def apply_properties(
    args: argparse.Namespace, token: str, definitions: list[dict[str, object]], out: Console
) -> int:
    """Create the group and missing properties; align enumeration options; report type
    conflicts (a property's type is never changed here)."""
    with HubSpotClient.with_rate_limit(
        args.config.hubspot_api_base,
        token,
        id_property=args.id_property,
        max_requests=args.max_requests,
        window_seconds=args.window_seconds,
        policy=retry_policy(args),
    ) as client:
        created_group = client.create_group(args.group, DEFAULT_GROUP_LABEL)
        existing = client.list_properties()
        missing = [item for item in definitions if item["name"] not in existing]
        if missing:
            client.create_properties(missing)
        updated, conflicts = [], []
        for item in definitions:
            name = str(item["name"])
            current = existing.get(name)
            if current is None:
                continue
            if current.get("type") != item["type"]:
                conflicts.append(f"{name} is {current.get('type')} in HubSpot, not {item['type']}")
            elif item.get("options") is not None and option_values(current) != option_values(item):
                client.update_property(name, {"options": item["options"]})
                updated.append(name)
    show(
        out,
        f"group {args.group}: {'created' if created_group else 'exists'}; "
        f"properties created: {len(missing)}, options updated: {len(updated)} {updated}, "
        f"unchanged: {len(definitions) - len(missing) - len(updated) - len(conflicts)}",
        secrets(args),
    )
    for conflict in conflicts:
        show(out, conflict, secrets(args), "conflict: ", "red")
    return EXIT_FAILED if conflicts else EXIT_OK


def command_audit(args: argparse.Namespace, out: Console, err: Console) -> int:
    if not args.state_db.is_file():
        show(err, f"no sync state at {args.state_db}: no sync has run", secrets(args))
        return EXIT_REFUSED
    try:
        runs, run_id, rejections = read_audit(args.state_db, args.runs, args.run_id)
    except StateFileError as exc:
        show(err, str(exc), secrets(args), "Cannot read the audit: ", "red")
        return EXIT_REFUSED
    table = Table(title="Sync runs (newest first, UTC)")
    for column in (
        "run",
        "status",
        "considered",
        "creates",
        "updates",
        "unchanged",
        "sent",
        "ok",
        "rejected",
        "undelivered",
        "requests",
        "retries",
        "started",
        "finished",
    ):
        table.add_column(column)
    for row in runs:
        run, _, status, *numbers, started, finished = row
        table.add_row(
            run[:8],
            status,
            *(str(value) for value in numbers),
            f"{started:%Y-%m-%d %H:%M:%S}",
            f"{finished:%H:%M:%S}" if finished else "",
        )
    out.print(table)
    if rejections:
        rejected = Table(title=f"Rows not delivered by run {str(run_id)[:8]}")
        for column in ("record", "kind", "HTTP", "category", "message"):
            rejected.add_column(column)
        for row in rejections:
            rejected.add_row(
                *(
                    Text(redact(str(value), secrets(args)) if value is not None else "")
                    for value in row
                )
            )
        out.print(rejected)
    return EXIT_OK


def main(argv: Sequence[str] | None = None, prog: str = "customer-health") -> int:
    config = settings.load()
    args = build_parser(config, prog).parse_args(argv)
    args.config = config
    # Wide enough for the audit table when output is not a terminal (CI logs, files).
    out = Console(width=max(140, Console().width))
    err = Console(stderr=True)
    commands = {
        "sync": command_sync,
        "sync-tasks": command_sync_tasks,
        "properties": command_properties,
        "audit": command_audit,
    }
    try:
        return commands[args.command](args, out, err)
    except KeyboardInterrupt:
        err.print("Interrupted: rows confirmed so far are kept; the next run sends the rest.")
        return EXIT_INTERRUPTED
