"""One task sync run: CSM actions from `sync_crm_tasks` to HubSpot tasks on their companies.

The run has the company sync's guarantees and reuses its parts: the payload comes from the
published release after the same build check; the client, rate limit, retries, redaction,
state file and audit tables are the company sync's. What differs is that a task has no
unique key HubSpot can upsert by, so a create is not idempotent:

- the state maps each action to its HubSpot task id and the hash of what HubSpot last
  confirmed (`crm_sync_state`, destination `hubspot:<api>/tasks`); unchanged rows are not
  sent, changed ones are updated by task id;
- before a create is sent it is written to `crm_sync_pending_creates`. A create that HubSpot
  confirms or definitely refuses leaves the journal; one whose answer was lost (a 5xx, a
  timeout, a dropped connection, an answer that does not name the task, a killed run) stays.
  Such a create is never resent in the same run. A later run, once `lookup_delay` has passed,
  searches the tasks created while it was in flight and recognises the action's task by the
  reference line of its body: found, the task is adopted (and updated if the row changed
  since); not found, the action is created again.

An action that closed before its task was ever created is not created (nothing is left to
do); one whose task exists is updated to COMPLETED.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import tempfile
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

from customer_health.crm_sync.hubspot import (
    MAX_BATCH_INPUTS,
    BatchOutcome,
    HubSpotClient,
    HubSpotError,
    RecordError,
    check_api_base,
)
from customer_health.crm_sync.payload import Record, find_node, node_relation
from customer_health.crm_sync.ratelimit import SlidingWindowLimiter
from customer_health.crm_sync.redact import redact, secrets_of
from customer_health.crm_sync.release import ServedRelease, payload_source
from customer_health.crm_sync.state import (
    PendingCreate,
    RunCounts,
    SyncState,
    read_task_state,
    utc_now,
)
from customer_health.crm_sync.sync import (
    EXIT_OK,
    ConfigError,
    RunSettings,
    SyncReport,
    run_audited,
)
from customer_health.crm_sync.task_client import (
    SEARCH_MAX_REQUESTS,
    SEARCH_WINDOW_SECONDS,
    TaskClient,
    TaskLookupError,
)
from customer_health.crm_sync.task_payload import MODEL_NAME, TaskRecord, read_task_records
from customer_health.dbt_artifacts import check_build, read_manifest

T = TypeVar("T")

# How long after a lost create the sync first looks for it: HubSpot's search index may lag
# behind a write, and a task it does not show yet must not be created a second time.
DEFAULT_LOOKUP_DELAY = 900.0
# The clocks of this machine and HubSpot may differ by this much.
CLOCK_SKEW = dt.timedelta(minutes=5)
# A killed run never noted when it stopped waiting: search this long after the send.
UNSETTLED_WINDOW = dt.timedelta(hours=1)


@dataclass(frozen=True)
class TaskSyncSettings(RunSettings):
    """One task sync run's configuration: the shared settings, a dry run's plan file, the
    search endpoint's own limit and how long a lost create waits before it is looked up."""

    plan_file: Path | None = None
    search_max_requests: int = SEARCH_MAX_REQUESTS
    search_window_seconds: float = SEARCH_WINDOW_SECONDS
    lookup_delay: float = DEFAULT_LOOKUP_DELAY

    @property
    def destination(self) -> str:
        """The key the task state is kept under (another portal needs another state file)."""
        return f"hubspot:{redact(self.base_url.rstrip('/'))}/tasks"


@dataclass
class TaskCounts(RunCounts):
    """The run's counts; the fields beyond RunCounts appear in the report and summary."""

    closed_not_created: int = 0
    looked_up: int = 0
    recovered: int = 0
    awaiting_lookup: int = 0
    company_not_found: int = 0


@dataclass
class TaskPlan:
    creates: list[TaskRecord]
    updates: list[tuple[TaskRecord, str]]
    unchanged: int
    closed_not_created: int
    # Lost creates to look up now, and those still within the lookup delay.
    lookups: list[PendingCreate]
    awaiting: list[PendingCreate]


@dataclass
class TaskSyncReport(SyncReport):
    # What a dry run would send, one entry per write (and per lost create to look up).
    planned: list[dict[str, Any]] = field(default_factory=list)


def lookup_due(pending: PendingCreate, now: dt.datetime, delay: float) -> bool:
    return now >= (pending.settled_at or pending.sent_at) + dt.timedelta(seconds=delay)


def make_task_plan(
    tasks: Sequence[TaskRecord],
    confirmed: Mapping[str, tuple[str, str | None]],
    pending: Mapping[str, PendingCreate],
    now: dt.datetime,
    lookup_delay: float,
    full: bool = False,
) -> TaskPlan:
    """Updates for actions whose task is known and whose properties changed (all of them
    with `full`), creates for open actions never confirmed, nothing for actions with a lost
    create (looked up first) or closed before their task was created."""
    plan = TaskPlan([], [], 0, 0, [], [])
    for item in pending.values():
        (plan.lookups if lookup_due(item, now, lookup_delay) else plan.awaiting).append(item)
    for task in tasks:
        digest, task_id = confirmed.get(task.action_id, (None, None))
        if task_id is not None:
            if digest != task.record.payload_hash or full:
                plan.updates.append((task, task_id))
            else:
                plan.unchanged += 1
        elif task.action_id in pending:
            continue
        elif task.is_closed:
            plan.closed_not_created += 1
        else:
            plan.creates.append(task)
    return plan


def prepare_tasks(settings: TaskSyncSettings) -> tuple[ServedRelease, list[TaskRecord]]:
    """The task payload of the published release, after the company sync's checks: the
    latest dbt build is the published one and built and tested `sync_crm_tasks` cleanly."""
    if not 1 <= settings.batch_size <= MAX_BATCH_INPUTS:
        raise ConfigError(f"--batch-size must be between 1 and {MAX_BATCH_INPUTS}")
    if settings.plan_file is not None and not settings.dry_run:
        raise ConfigError("--plan-file goes with --dry-run")
    if settings.plan_file is not None:
        check_plan_file(settings.plan_file)
    check_api_base(settings.base_url)
    manifest = read_manifest(settings.target_dir)
    node = find_node(manifest, MODEL_NAME)
    release, database = payload_source(
        settings.target_dir, settings.serving_dir, settings.db_path, settings.build_db
    )
    check_build(settings.target_dir, manifest=manifest, model_id=node["unique_id"])
    return release, read_task_records(database, node_relation(node))


def batches(items: Sequence[T], size: int) -> list[Sequence[T]]:
    return [items[start : start + size] for start in range(0, len(items), size)]


def summarise_tasks(counts: TaskCounts, dry_run: bool) -> str:
    if dry_run:
        return (
            f"would create {counts.planned_creates} and update {counts.planned_updates} "
            f"tasks of {counts.rows_considered} actions; {counts.rows_unchanged} unchanged, "
            f"{counts.closed_not_created} closed before a task was created, "
            f"{counts.looked_up} lost creates to look up first, {counts.awaiting_lookup} "
            "waiting for their lookup"
        )
    return (
        f"{counts.rows_succeeded} of {counts.planned_creates + counts.planned_updates} task "
        f"writes delivered, {counts.recovered} lost creates found, {counts.rows_rejected} "
        f"rejected ({counts.company_not_found} without a company), {counts.rows_undelivered} "
        f"undelivered, {counts.awaiting_lookup} awaiting lookup; {counts.rows_unchanged} "
        f"unchanged; {counts.requests} requests, {counts.retries} retries"
    )


def fill_task_plan(counts: TaskCounts, plan: TaskPlan) -> None:
    counts.planned_creates = len(plan.creates)
    counts.planned_updates = len(plan.updates)
    counts.rows_unchanged = plan.unchanged
    counts.closed_not_created = plan.closed_not_created
    counts.awaiting_lookup = len(plan.awaiting)


def planned_writes(plan: TaskPlan) -> list[dict[str, Any]]:
    """The dry run's view of the plan: each request input it would send."""
    entries: list[dict[str, Any]] = [
        {"operation": "lookup", "health_action_id": item.record_id, "sent_at": str(item.sent_at)}
        for item in sorted(plan.lookups, key=lambda item: item.record_id)
    ]
    entries += [
        {
            "operation": "create",
            "health_action_id": task.action_id,
            "health_account_id": task.account_id,
            "properties": task.properties,
        }
        for task in plan.creates
    ]
    entries += [
        {
            "operation": "update",
            "health_action_id": task.action_id,
            "task_id": task_id,
            "properties": task.properties,
        }
        for task, task_id in plan.updates
    ]
    return entries


PLAN_OPERATIONS = frozenset({"lookup", "create", "update"})


def is_plan_file(path: Path) -> bool:
    """Whether `path` holds only lines a dry run writes: JSON objects with a planned
    `operation` and a `health_action_id` (an empty plan is an empty file)."""
    try:
        with path.open(encoding="utf-8") as lines:
            for line in lines:
                entry = json.loads(line)
                if not (
                    isinstance(entry, dict)
                    and entry.get("operation") in PLAN_OPERATIONS
                    and isinstance(entry.get("health_action_id"), str)
                ):
                    return False
    except (OSError, UnicodeDecodeError, json.JSONDecodeError):
        return False
    return True


def check_plan_file(path: Path) -> None:
    """Refuse unless `path` is new or a plan file an earlier dry run wrote."""
    if path.is_symlink():
        raise ConfigError(f"refusing to replace {path}: it is a symbolic link")
    if path.exists() and not (path.is_file() and is_plan_file(path)):
        raise ConfigError(
            f"refusing to overwrite {path}: not a plan file written by sync-tasks --dry-run"
        )


def write_plan(path: Path, entries: list[dict[str, Any]], secrets: Sequence[str]) -> None:
    """Write the plan atomically (a temporary file, then a rename), over nothing but an
    earlier plan: readers see the old file or the whole new one."""
    path.parent.mkdir(parents=True, exist_ok=True)
    text = "".join(json.dumps(entry, ensure_ascii=False) + "\n" for entry in entries)
    handle, temp_name = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
    try:
        with os.fdopen(handle, "w", encoding="utf-8") as out:
            out.write(redact(text, secrets))
        check_plan_file(path)
        os.replace(temp_name, path)
    finally:
        Path(temp_name).unlink(missing_ok=True)


def run_task_sync(
    settings: TaskSyncSettings,
    token: str | None,
    on_batch: Callable[[int, int], None] | None = None,
) -> TaskSyncReport:
    """Run one task sync. Raises PayloadError, BuildCheckError, ReleaseError, ConfigError,
    ApiBaseError or StateFileError before anything is sent or recorded; everything after
    that is in the report and the audit tables."""
    release, tasks = prepare_tasks(settings)
    secrets = secrets_of(token, settings.base_url)
    destination = settings.destination
    counts = TaskCounts(rows_considered=len(tasks))
    if settings.dry_run:
        confirmed, pending = read_task_state(settings.state_path, destination)
        plan = make_task_plan(
            tasks, confirmed, pending, utc_now(), settings.lookup_delay, settings.full
        )
        fill_task_plan(counts, plan)
        counts.looked_up = len(plan.lookups)
        planned = planned_writes(plan)
        if settings.plan_file is not None:
            write_plan(settings.plan_file, planned, secrets)
        summary = summarise_tasks(counts, True)
        return TaskSyncReport(
            destination, True, counts, "dry_run", EXIT_OK, summary, release=release, planned=planned
        )
    if not token:
        raise ConfigError("HUBSPOT_ACCESS_TOKEN is not set (a HubSpot private-app token)")

    store = SyncState(settings.state_path, secrets)
    try:
        store.mark_interrupted()
        run_id = store.begin_run(destination, "tasks-full" if settings.full else "tasks")
        report = TaskSyncReport(
            destination, False, counts, "running", EXIT_OK, "", run_id, release=release
        )

        def deliver() -> None:
            with open_client(settings, token) as client:
                TaskDelivery(settings, client, store, report, on_batch).run(tasks)

        run_audited(
            store,
            report,
            deliver,
            summary=lambda: summarise_tasks(counts, False),
            complete=lambda: not report.errors and counts.awaiting_lookup == 0,
            secrets=secrets,
        )
        return report
    finally:
        store.close()


def open_client(settings: TaskSyncSettings, token: str) -> TaskClient:
    return TaskClient(
        HubSpotClient.with_rate_limit(
            settings.base_url,
            token,
            id_property=settings.id_property,
            max_requests=settings.max_requests,
            window_seconds=settings.window_seconds,
            policy=settings.policy,
        ),
        search_limiter=SlidingWindowLimiter(
            settings.search_max_requests, settings.search_window_seconds
        ),
    )


def to_ms(moment: dt.datetime) -> int:
    """Milliseconds since the epoch of a naive UTC timestamp (as the state file keeps them)."""
    return int(moment.replace(tzinfo=dt.UTC).timestamp() * 1000)


def search_windows(
    lookups: Sequence[PendingCreate],
) -> list[tuple[dt.datetime, dt.datetime, set[str]]]:
    """Overlapping creation windows merged: each is searched once for all its actions."""
    spans = sorted(
        (
            item.sent_at - CLOCK_SKEW,
            (item.settled_at or item.sent_at + UNSETTLED_WINDOW) + CLOCK_SKEW,
            item.record_id,
        )
        for item in lookups
    )
    merged: list[tuple[dt.datetime, dt.datetime, set[str]]] = []
    for start, end, key in spans:
        if merged and start <= merged[-1][1]:
            last_start, last_end, keys = merged[-1]
            merged[-1] = (last_start, max(last_end, end), keys | {key})
        else:
            merged.append((start, end, {key}))
    return merged


class TaskDelivery:
    """The live part of a run: look up lost creates, plan, create and update in batches,
    recording each outcome in the state and audit tables as it comes."""

    def __init__(
        self,
        settings: TaskSyncSettings,
        client: TaskClient,
        store: SyncState,
        report: TaskSyncReport,
        on_batch: Callable[[int, int], None] | None,
    ) -> None:
        assert report.run_id is not None
        assert isinstance(report.counts, TaskCounts)
        self.settings = settings
        self.client = client
        self.store = store
        self.report = report
        self.run_id: str = report.run_id
        self.counts: TaskCounts = report.counts
        self.destination = report.destination
        self.on_batch = on_batch

    def plan(self, tasks: Sequence[TaskRecord]) -> TaskPlan:
        return make_task_plan(
            tasks,
            self.store.confirmed_objects(self.destination),
            self.store.pending_creates(self.destination),
            utc_now(),
            self.settings.lookup_delay,
            self.settings.full,
        )

    def run(self, tasks: Sequence[TaskRecord]) -> None:
        self.recover(self.plan(tasks).lookups)
        plan = self.plan(tasks)
        fill_task_plan(self.counts, plan)
        self.store.update_counts(self.run_id, self.counts)
        creatable, companies = self.resolve_companies(plan.creates)
        size = self.settings.batch_size
        creates, updates = batches(creatable, size), batches(plan.updates, size)
        total = len(creates) + len(updates)
        for number, batch in enumerate(creates, start=1):
            self.create(batch, companies)
            self.progress(number, total)
        for number, pairs in enumerate(updates, start=len(creates) + 1):
            self.counts.rows_sent += len(pairs)
            try:
                outcome = self.client.update(pairs)
            finally:
                self.count_requests()
            self.settle(outcome, {task.action_id: task.record for task, _ in pairs})
            self.progress(number, total)

    def progress(self, number: int, total: int) -> None:
        if self.on_batch is not None:
            self.on_batch(number, total)

    def count_requests(self) -> None:
        stats = self.client.client.stats
        self.counts.requests, self.counts.retries = stats.requests, stats.retries
        self.counts.rate_limited = stats.rate_limited

    def fail(self, errors: Sequence[RecordError], records: Mapping[str, Record]) -> None:
        """Count, report and record rows not delivered."""
        for error in errors:
            if error.error_kind == "rejected":
                self.counts.rows_rejected += 1
            else:
                self.counts.rows_undelivered += 1
        self.report.errors.extend(errors)
        self.store.record_errors(self.run_id, self.destination, errors, records)

    def settle(self, outcome: BatchOutcome, records: Mapping[str, Record]) -> None:
        """Record a batch's failures and confirm its successes (with their task ids)."""
        self.counts.rows_succeeded += len(outcome.succeeded)
        self.fail(outcome.errors, records)
        confirmed = [records[key] for key in outcome.succeeded]
        self.store.confirm(self.run_id, self.destination, confirmed, outcome.succeeded, self.counts)

    def recover(self, lookups: Sequence[PendingCreate]) -> None:
        """Look for the tasks of lost creates: adopt those found, forget the others (they
        are created below); a failed search keeps them journaled for the next run."""
        by_id = {item.record_id: item for item in lookups}
        for start, end, keys in search_windows(lookups):
            self.counts.looked_up += len(keys)
            try:
                found = self.client.find_created(to_ms(start), to_ms(end), keys)
            except TaskLookupError as exc:
                message = self.client.client.redact(
                    f"{exc}; the create's outcome stays unknown, looked up again next run"
                )
                errors = [
                    RecordError(key, "undelivered", None, None, message, outcome_unknown=True)
                    for key in sorted(keys)
                ]
                self.fail(errors, {})
                continue
            finally:
                self.count_requests()
            adopted = [
                Record(key, by_id[key].properties, by_id[key].payload_hash) for key in sorted(found)
            ]
            self.counts.recovered += len(adopted)
            self.store.confirm(
                self.run_id,
                self.destination,
                adopted,
                {key: item.task_id for key, item in found.items()},
                self.counts,
            )
            self.store.drop_pending(self.destination, sorted(keys - set(found)))

    def resolve_companies(
        self, tasks: Sequence[TaskRecord]
    ) -> tuple[list[TaskRecord], dict[str, str]]:
        """The tasks whose company HubSpot knows, and account id -> company id. A task
        without a company is rejected on its own; the others go ahead."""
        accounts = sorted({task.account_id for task in tasks})
        companies: dict[str, str] = {}
        lookup_errors: dict[str, RecordError] = {}
        for chunk in batches(accounts, MAX_BATCH_INPUTS):
            try:
                found, errors = self.client.read_companies(chunk)
            finally:
                self.count_requests()
            companies.update(found)
            lookup_errors.update({error.record_id: error for error in errors})
        creatable, errors = [], []
        for task in tasks:
            if task.account_id in companies:
                creatable.append(task)
            elif task.account_id in lookup_errors:
                error = lookup_errors[task.account_id]
                errors.append(
                    RecordError(
                        task.action_id,
                        error.error_kind,
                        error.http_status,
                        error.category,
                        error.message,
                    )
                )
            else:
                self.counts.company_not_found += 1
                errors.append(
                    RecordError(
                        task.action_id,
                        "rejected",
                        None,
                        "COMPANY_NOT_FOUND",
                        f"no HubSpot company has {self.settings.id_property} = "
                        f"{task.account_id} (run `customer-health sync` first; or the "
                        "company was deleted or merged)",
                    )
                )
        self.fail(errors, {task.action_id: task.record for task in tasks})
        return creatable, companies

    def create(self, batch: Sequence[TaskRecord], companies: Mapping[str, str]) -> None:
        """Journal the batch, send it, then settle the journal: confirmed and refused rows
        leave it, rows of unknown outcome stay until a later run looks them up."""
        records = {task.action_id: task.record for task in batch}
        self.counts.rows_sent += len(batch)
        self.store.journal_creates(self.run_id, self.destination, records.values(), utc_now())
        try:
            outcome = self.client.create(batch, companies)
        except HubSpotError:
            # Refused before HubSpot acted on it (a bad token, a missing scope, a wrong URL).
            self.store.drop_pending(self.destination, records)
            raise
        finally:
            self.count_requests()
        unknown = [error.record_id for error in outcome.errors if error.outcome_unknown]
        self.store.settle_creates(self.destination, unknown, utc_now())
        self.store.drop_pending(
            self.destination,
            [error.record_id for error in outcome.errors if not error.outcome_unknown],
        )
        self.settle(outcome, records)
