"""One sync run: check the release and the build, read the payload, plan, deliver, record.

The payload is read from the published release (the served database BI tools read), and only
when the latest dbt build is the one that release published.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from customer_health.crm_sync import files, state
from customer_health.crm_sync.hubspot import (
    MAX_BATCH_INPUTS,
    HubSpotClient,
    HubSpotError,
    RecordError,
    RetryPolicy,
    TransientError,
    check_api_base,
)
from customer_health.crm_sync.payload import (
    PayloadModel,
    Record,
    load_payload_model,
    read_records,
)
from customer_health.crm_sync.redact import redact, secrets_of
from customer_health.crm_sync.release import ServedRelease, payload_source
from customer_health.crm_sync.state import RunCounts, SyncState
from customer_health.dbt_artifacts import check_build, read_manifest
from customer_health.settings import DEFAULT_HUBSPOT_API_BASE

EXIT_OK = 0
EXIT_INCOMPLETE = 1
EXIT_REFUSED = 2
EXIT_FAILED = 3
EXIT_INTERRUPTED = 130


class ConfigError(Exception):
    """The run cannot start as configured."""


@dataclass(frozen=True)
class RunSettings:
    """What the company and task syncs share. The payload comes from the release served in
    `serving_dir`, or from `db_path` when given (an existing database other than
    `build_db`)."""

    target_dir: Path
    serving_dir: Path
    state_path: Path
    db_path: Path | None = None
    build_db: Path | None = None
    id_property: str = "health_account_id"
    batch_size: int = MAX_BATCH_INPUTS
    full: bool = False
    dry_run: bool = False
    base_url: str = DEFAULT_HUBSPOT_API_BASE
    max_requests: int = 100
    window_seconds: float = 10.0
    policy: RetryPolicy = field(default_factory=RetryPolicy)


@dataclass(frozen=True)
class SyncSettings(RunSettings):
    """One company sync run's configuration: to HubSpot, or to `file_path` when given."""

    file_path: Path | None = None
    file_format: str | None = None

    @property
    def destination(self) -> str:
        """The key the state is kept under: a file path, or portal URL, object and id
        property (another portal behind the same URL needs its own state file)."""
        if self.file_path is not None:
            return f"file:{self.file_path.resolve()}"
        url = redact(self.base_url.rstrip("/"))
        return f"hubspot:{url}/companies?idProperty={self.id_property}"


@dataclass
class Plan:
    creates: list[Record]
    updates: list[Record]
    unchanged: int

    @property
    def to_send(self) -> list[Record]:
        return sorted(self.creates + self.updates, key=lambda record: record.record_id)


@dataclass
class SyncReport:
    destination: str
    dry_run: bool
    counts: RunCounts
    status: str
    exit_code: int
    summary: str
    run_id: str | None = None
    errors: list[RecordError] = field(default_factory=list)
    release: ServedRelease | None = None


def make_plan(records: Sequence[Record], confirmed: dict[str, str], full: bool = False) -> Plan:
    """Records never confirmed (creates), confirmed with other content (updates), the rest
    unchanged; with `full`, unchanged records are sent as updates too."""
    creates, updates, unchanged = [], [], 0
    for record in records:
        known = confirmed.get(record.record_id)
        if known is None:
            creates.append(record)
        elif known != record.payload_hash or full:
            updates.append(record)
        else:
            unchanged += 1
    return Plan(creates, updates, unchanged)


def prepare(settings: SyncSettings) -> tuple[PayloadModel, ServedRelease, list[Record]]:
    """The payload of the published release, after checking that the latest dbt build is
    the published one and built and tested the payload model cleanly."""
    if not 1 <= settings.batch_size <= MAX_BATCH_INPUTS:
        raise ConfigError(f"--batch-size must be between 1 and {MAX_BATCH_INPUTS}")
    if settings.file_path is None:
        check_api_base(settings.base_url)
    manifest = read_manifest(settings.target_dir)
    model = load_payload_model(manifest)
    release, database = payload_source(
        settings.target_dir, settings.serving_dir, settings.db_path, settings.build_db
    )
    check_build(settings.target_dir, manifest=manifest, model_id=model.unique_id)
    return model, release, read_records(database, model)


def chunks(records: Sequence[Record], size: int) -> list[Sequence[Record]]:
    return [records[start : start + size] for start in range(0, len(records), size)]


def summarise(counts: RunCounts, dry_run: bool) -> str:
    planned = counts.planned_creates + counts.planned_updates
    if dry_run:
        return (
            f"would send {planned} of {counts.rows_considered} rows: "
            f"{counts.planned_creates} creates, {counts.planned_updates} updates, "
            f"{counts.rows_unchanged} unchanged"
        )
    return (
        f"{counts.rows_succeeded} of {planned} changed rows delivered, "
        f"{counts.rows_rejected} rejected, {counts.rows_undelivered} undelivered; "
        f"{counts.rows_unchanged} unchanged; {counts.requests} requests, "
        f"{counts.retries} retries"
    )


def run_sync(
    settings: SyncSettings,
    token: str | None,
    on_batch: Callable[[int, int], None] | None = None,
) -> SyncReport:
    """Run one sync. Raises PayloadError, BuildCheckError, ReleaseError, ConfigError,
    ApiBaseError or StateFileError before anything is sent or recorded; everything after
    that is in the report and the audit tables."""
    model, release, records = prepare(settings)
    secrets = secrets_of(token, settings.base_url)
    destination = settings.destination
    counts = RunCounts(rows_considered=len(records))
    if settings.file_path is not None:
        fmt = files.file_format(settings.file_path, settings.file_format)
    elif not settings.dry_run and not token:
        raise ConfigError("HUBSPOT_ACCESS_TOKEN is not set (a HubSpot private-app token)")

    if settings.dry_run:
        plan = make_plan(
            records, state.confirmed_hashes(settings.state_path, destination), settings.full
        )
        fill_plan(counts, plan)
        return SyncReport(
            destination,
            True,
            counts,
            "dry_run",
            EXIT_OK,
            summarise(counts, True),
            release=release,
        )

    store = SyncState(settings.state_path, secrets)
    try:
        store.mark_interrupted()
        run_id = store.begin_run(destination, "full" if settings.full else "changed")
        plan = make_plan(records, store.confirmed_hashes(destination), settings.full)
        fill_plan(counts, plan)
        store.update_counts(run_id, counts)
        report = SyncReport(
            destination, False, counts, "running", EXIT_OK, "", run_id, release=release
        )

        def deliver() -> None:
            if settings.file_path is not None:
                files.write_payload(settings.file_path, fmt, model, plan.to_send)
                counts.rows_sent = counts.rows_succeeded = len(plan.to_send)
                store.confirm(run_id, destination, plan.to_send, {}, counts)
            else:
                deliver_hubspot(settings, token or "", plan, store, report, on_batch)

        run_audited(
            store,
            report,
            deliver,
            summary=lambda: summarise(counts, False),
            complete=lambda: counts.rows_succeeded == len(plan.to_send),
            secrets=secrets,
        )
        return report
    finally:
        store.close()


def run_audited(
    store: SyncState,
    report: SyncReport,
    deliver: Callable[[], None],
    summary: Callable[[], str],
    complete: Callable[[], bool],
    secrets: Sequence[str],
) -> None:
    """Run `deliver` and record how the run ended, in `report` and the audit tables: an API
    failure stops the run as failed; an interrupt or a crash is recorded, then raised; the
    rest ends succeeded when `complete()`, incomplete otherwise."""
    assert report.run_id is not None
    run_id, counts = report.run_id, report.counts
    try:
        deliver()
    except (HubSpotError, TransientError) as exc:
        report.status, report.exit_code = "failed", EXIT_FAILED
        report.summary = redact(f"stopped: {exc}; {summary()}", secrets)
    except KeyboardInterrupt:
        store.finish_run(run_id, counts, "interrupted", EXIT_INTERRUPTED, summary())
        raise
    except Exception as exc:
        store.finish_run(
            run_id, counts, "failed", EXIT_FAILED, redact(f"crashed: {exc!r}", secrets)
        )
        raise
    else:
        done = complete()
        report.status = "succeeded" if done else "incomplete"
        report.exit_code = EXIT_OK if done else EXIT_INCOMPLETE
        report.summary = summary()
    store.finish_run(run_id, counts, report.status, report.exit_code, report.summary)


def fill_plan(counts: RunCounts, plan: Plan) -> None:
    counts.planned_creates = len(plan.creates)
    counts.planned_updates = len(plan.updates)
    counts.rows_unchanged = plan.unchanged


def deliver_hubspot(
    settings: SyncSettings,
    token: str,
    plan: Plan,
    store: SyncState,
    report: SyncReport,
    on_batch: Callable[[int, int], None] | None,
) -> None:
    """Send the plan's records in batches; confirm each batch's successes as they come."""
    assert report.run_id is not None
    counts = report.counts
    by_id = {record.record_id: record for record in plan.to_send}
    with HubSpotClient.with_rate_limit(
        settings.base_url,
        token,
        id_property=settings.id_property,
        max_requests=settings.max_requests,
        window_seconds=settings.window_seconds,
        policy=settings.policy,
    ) as client:
        batches = chunks(plan.to_send, settings.batch_size)
        for number, batch in enumerate(batches, start=1):
            counts.rows_sent += len(batch)
            try:
                outcome = client.upsert(batch)
            finally:
                counts.requests = client.stats.requests
                counts.retries = client.stats.retries
                counts.rate_limited = client.stats.rate_limited
            counts.rows_succeeded += len(outcome.succeeded)
            for error in outcome.errors:
                if error.error_kind == "rejected":
                    counts.rows_rejected += 1
                else:
                    counts.rows_undelivered += 1
            report.errors.extend(outcome.errors)
            store.record_errors(report.run_id, report.destination, outcome.errors, by_id)
            confirmed = [by_id[record_id] for record_id in outcome.succeeded]
            store.confirm(report.run_id, report.destination, confirmed, outcome.succeeded, counts)
            if on_batch is not None:
                on_batch(number, len(batches))
