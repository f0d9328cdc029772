"""Unit tests of the CRM task sync: the payload and plan as pure functions, the client's
reading of create answers (over httpx.MockTransport), and `customer-health sync-tasks` over a
small published release (a DuckDB file with `marts.sync_crm_tasks`, no dbt build) against
the stand-in HubSpot on loopback, with its faults: 429 storms, 5xx, bad rows, unknown
companies, lost answers to creates, killed runs, dry runs and echoed tokens."""

from __future__ import annotations

import datetime as dt
import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import duckdb
import httpx
import pyarrow as pa
import pytest
from hubspot_stub import HubSpotStub

from customer_health.crm_sync.hubspot import HubSpotClient, RetryPolicy
from customer_health.crm_sync.payload import PayloadError
from customer_health.crm_sync.ratelimit import SlidingWindowLimiter
from customer_health.crm_sync.state import PendingCreate
from customer_health.crm_sync.task_client import TaskClient
from customer_health.crm_sync.task_payload import (
    CONTRACT_COLUMNS,
    TaskRecord,
    build_task_records,
    format_timestamp,
    marked_actions,
    marked_body,
)
from customer_health.crm_sync.task_sync import make_task_plan, search_windows

TOKEN = "pat-na1-task-sync-secret-7f3a"
FAST = ["--backoff-initial", "0.01", "--backoff-max", "0.05"]
CREATE = "/tasks/batch/create"
UPDATE = "/tasks/batch/update"
NOW = dt.datetime(2024, 7, 1, 12, 0, 0)
DUE = dt.datetime(2024, 7, 15)
RELATION = "marts.sync_crm_tasks"
MODEL_ID = "model.p.sync_crm_tasks"


def action(
    key: str,
    account: str = "acc_1",
    status: str = "open",
    subject: str = "Schedule an executive business review",
    priority: str = "HIGH",
    due: dt.datetime | None = DUE,
    owner: str | None = None,
) -> tuple[Any, ...]:
    """A row of the contract, in CONTRACT_COLUMNS order."""
    closed = status != "open"
    body = f"Usage fell 32% in 30 days. Success: weekly active seats back over 80%. ({status})"
    return (
        key,
        account,
        subject,
        body,
        "COMPLETED" if closed else "NOT_STARTED",
        priority,
        "TODO",
        due,
        owner,
        status,
        dt.date(2024, 6, 30),
    )


# --- the payload and the plan, pure ---------------------------------------------------------


def test_a_row_becomes_the_documented_task_properties() -> None:
    [task] = build_task_records(RELATION, list(CONTRACT_COLUMNS), [action("a1", owner="77")])
    assert task.account_id == "acc_1"
    assert task.properties == {
        "hs_task_subject": "Schedule an executive business review",
        "hs_task_body": "Usage fell 32% in 30 days. Success: weekly active seats back over 80%. "
        "(open)\n\n[health action a1]",
        "hs_task_status": "NOT_STARTED",
        "hs_task_priority": "HIGH",
        "hs_task_type": "TODO",
        "hs_timestamp": "2024-07-15T00:00:00.000Z",
        "hubspot_owner_id": "77",
    }
    [unowned] = build_task_records(RELATION, list(CONTRACT_COLUMNS), [action("a1")])
    assert "hubspot_owner_id" not in unowned.properties, "an unmapped owner is left as it is"
    assert unowned.record.payload_hash != task.record.payload_hash


def test_only_contract_columns_leave_the_warehouse() -> None:
    columns = [*CONTRACT_COLUMNS, "csm_name"]
    [task] = build_task_records(RELATION, columns, [(*action("a1"), "Jane Doe")])
    assert "Jane Doe" not in json.dumps(task.properties)


@pytest.mark.parametrize(
    ("value", "text"),
    [
        (dt.datetime(2024, 7, 15), "2024-07-15T00:00:00.000Z"),
        (
            dt.datetime(2024, 7, 15, 2, tzinfo=dt.timezone(dt.timedelta(hours=2))),
            "2024-07-15T00:00:00.000Z",
        ),
        (dt.date(2024, 2, 29), "2024-02-29T00:00:00.000Z"),
        (None, ""),
    ],
)
def test_due_dates_are_sent_as_utc_timestamps(value: Any, text: str) -> None:
    assert format_timestamp(value) == text


@pytest.mark.parametrize(
    ("columns", "rows", "message"),
    [
        (list(CONTRACT_COLUMNS[:-1]), [], r"lacks the columns \['health_as_of_date'\]"),
        (list(CONTRACT_COLUMNS), [action("a1"), action("a1")], r"duplicate ids \['a1'\]"),
        (list(CONTRACT_COLUMNS), [action("a1", account=None)], "1 rows without"),  # type: ignore[arg-type]
        (list(CONTRACT_COLUMNS), [action("a b")], "holds a space or a bracket"),
    ],
)
def test_a_bad_task_payload_is_refused_whole(
    columns: list[str], rows: list[tuple[Any, ...]], message: str
) -> None:
    with pytest.raises(PayloadError, match=message):
        build_task_records(RELATION, columns, rows)


def test_the_reference_line_names_exactly_its_action() -> None:
    body = marked_body("text", "act_1")
    assert marked_actions(body) == {"act_1"}
    assert marked_actions(body.replace("act_1", "act_12")) == {"act_12"}
    assert marked_actions("<p>text</p><p>[health action act_&amp;1]</p>") == {"act_&1"}
    assert marked_actions(None) == set()


def tasks_of(*rows: tuple[Any, ...]) -> list[TaskRecord]:
    return build_task_records(RELATION, list(CONTRACT_COLUMNS), list(rows))


def pending(key: str, sent: dt.datetime, settled: dt.datetime | None) -> PendingCreate:
    return PendingCreate(key, "run", "hash", {}, sent, settled)


def test_plan_creates_open_actions_updates_changed_tasks_and_holds_lost_creates() -> None:
    tasks = tasks_of(
        action("new"),
        action("new_closed", status="expired"),
        action("same"),
        action("changed"),
        action("lost_due"),
        action("lost_waiting"),
    )
    by_id = {task.action_id: task for task in tasks}
    confirmed = {
        "same": (by_id["same"].record.payload_hash, "901"),
        "changed": ("old-hash", "902"),
    }
    lost = {
        "lost_due": pending(
            "lost_due", NOW - dt.timedelta(hours=1), NOW - dt.timedelta(minutes=59)
        ),
        "lost_waiting": pending("lost_waiting", NOW - dt.timedelta(minutes=2), None),
    }
    plan = make_task_plan(tasks, confirmed, lost, NOW, lookup_delay=900)
    assert [task.action_id for task in plan.creates] == ["new"]
    assert [(task.action_id, task_id) for task, task_id in plan.updates] == [("changed", "902")]
    assert (plan.unchanged, plan.closed_not_created) == (1, 1)
    assert [item.record_id for item in plan.lookups] == ["lost_due"]
    assert [item.record_id for item in plan.awaiting] == ["lost_waiting"]
    full = make_task_plan(tasks, confirmed, lost, NOW, lookup_delay=0, full=True)
    assert [task.action_id for task, _ in full.updates] == ["changed", "same"]
    assert len(full.lookups) == 2


def test_lookup_windows_of_one_batch_are_searched_once() -> None:
    sent = NOW - dt.timedelta(hours=2)
    windows = search_windows(
        [
            pending("a", sent, sent + dt.timedelta(seconds=30)),
            pending("b", sent, sent + dt.timedelta(seconds=30)),
            pending("c", NOW, None),  # killed: searched up to an hour after the send
        ]
    )
    assert [keys for _, _, keys in windows] == [{"a", "b"}, {"c"}]
    assert windows[0][0] == sent - dt.timedelta(minutes=5)
    assert windows[1][1] == NOW + dt.timedelta(hours=1, minutes=5)


# --- what an answer to a create settles -----------------------------------------------------


def task_client(handler: Any) -> TaskClient:
    client = HubSpotClient(
        "https://crm.invalid",
        TOKEN,
        id_property="health_account_id",
        limiter=SlidingWindowLimiter(100, 10.0),
        policy=RetryPolicy(max_attempts=3, backoff_initial=0.01, backoff_max=0.02, jitter=0.0),
        sleep=lambda seconds: None,
        transport=httpx.MockTransport(handler),
    )
    return TaskClient(client)


BATCH = tasks_of(action("a1"), action("a2"), action("a3"))
COMPANIES = {"acc_1": "11"}


def created(*keys: str, trace: bool = True) -> dict[str, Any]:
    return {
        "status": "COMPLETE",
        "results": [
            {
                "id": str(500 + index),
                "properties": {"hs_task_body": marked_body("x", key)},
                **({"objectWriteTraceId": key} if trace else {}),
            }
            for index, key in enumerate(keys)
        ],
    }


@pytest.mark.parametrize("trace", [True, False], ids=["by-trace-id", "by-reference-line"])
def test_a_create_answer_confirms_each_task_it_names(trace: bool) -> None:
    with task_client(
        lambda request: httpx.Response(201, json=created("a3", "a1", trace=trace))
    ) as client:
        outcome = client.create(BATCH, COMPANIES)
    assert outcome.succeeded == {"a3": "500", "a1": "501"}
    [missing] = outcome.errors
    assert (missing.record_id, missing.outcome_unknown) == ("a2", True)


@pytest.mark.parametrize(
    "response",
    [
        httpx.Response(200, text="<html>Signed out</html>"),
        httpx.Response(201, json={"status": "PENDING", "results": []}),
        httpx.Response(503, json={"message": "unavailable"}),
    ],
    ids=["html-200", "pending", "503"],
)
def test_a_create_answer_that_confirms_nothing_leaves_every_row_unknown(
    response: httpx.Response,
) -> None:
    requests: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        requests.append(request)
        return response

    with task_client(handler) as client:
        outcome = client.create(BATCH, COMPANIES)
    assert outcome.succeeded == {}
    assert {(error.error_kind, error.outcome_unknown) for error in outcome.errors} == {
        ("undelivered", True)
    }
    assert len(requests) == 1, "a create that may have been applied is never resent"


def test_a_create_is_retried_only_where_hubspot_cannot_have_applied_it() -> None:
    answers = iter(
        [
            httpx.ConnectError("refused"),
            httpx.Response(429, headers={"Retry-After": "0"}),
            httpx.Response(201, json=created("a1", "a2", "a3")),
        ]
    )

    def handler(request: httpx.Request) -> httpx.Response:
        answer = next(answers)
        if isinstance(answer, Exception):
            raise answer
        return answer

    with task_client(handler) as client:
        outcome = client.create(BATCH, COMPANIES)
        assert client.client.stats.retries == 2
    assert set(outcome.succeeded) == {"a1", "a2", "a3"}


def test_a_207_rejects_the_inputs_its_errors_name() -> None:
    body = created("a1")
    body["errors"] = [
        {
            "category": "VALIDATION_ERROR",
            "message": "bad owner",
            "context": {"objectWriteTraceId": ["a2"]},
        }
    ]
    with task_client(lambda request: httpx.Response(207, json=body)) as client:
        outcome = client.create(BATCH, COMPANIES)
    assert outcome.succeeded == {"a1": "500"}
    assert [(e.record_id, e.error_kind, e.outcome_unknown) for e in outcome.errors] == [
        ("a2", "rejected", False),
        ("a3", "undelivered", True),
    ]


def test_an_update_naming_a_deleted_task_is_split_until_that_task_fails_alone() -> None:
    sent: list[list[str]] = []

    def handler(request: httpx.Request) -> httpx.Response:
        ids = [item["id"] for item in json.loads(request.content)["inputs"]]
        sent.append(ids)
        if "702" in ids:
            return httpx.Response(
                404, json={"category": "OBJECT_NOT_FOUND", "message": "task 702 was deleted"}
            )
        return httpx.Response(
            200, json={"status": "COMPLETE", "results": [{"id": key} for key in ids]}
        )

    pairs = [(task, str(701 + index)) for index, task in enumerate(BATCH)]
    with task_client(handler) as client:
        outcome = client.update(pairs)
    assert outcome.succeeded == {"a1": "701", "a3": "703"}
    [error] = outcome.errors
    assert (error.record_id, error.error_kind, error.http_status) == ("a2", "rejected", 404)
    assert "task 702 was deleted" in error.message
    assert sent[0] == ["701", "702", "703"]


# --- the command over a small published release and the stand-in HubSpot -------------------


class TaskProject:
    """dbt's target directory, a build database and a published release holding
    `marts.sync_crm_tasks`, as `dbt build` and `customer-health publish` leave them."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.target = root / "target"
        self.serving = root / "serving"
        self.build_db = root / "build" / "customer_health.duckdb"
        self.state = root / "crm_sync_state.duckdb"
        self.target.mkdir()
        manifest = {
            "nodes": {
                MODEL_ID: {
                    "unique_id": MODEL_ID,
                    "resource_type": "model",
                    "name": "sync_crm_tasks",
                    "schema": "marts",
                    "alias": "sync_crm_tasks",
                    "columns": {},
                },
                "test.p.unique_tasks": {
                    "resource_type": "test",
                    "name": "unique_tasks",
                    "attached_node": MODEL_ID,
                    "depends_on": {"nodes": [MODEL_ID]},
                },
            },
            "parent_map": {MODEL_ID: []},
        }
        (self.target / "manifest.json").write_text(json.dumps(manifest), encoding="utf-8")
        results = {
            "metadata": {"invocation_id": "inv-1"},
            "args": {"which": "build"},
            "results": [
                {"unique_id": MODEL_ID, "status": "success"},
                {"unique_id": "test.p.unique_tasks", "status": "pass"},
            ],
        }
        (self.target / "run_results.json").write_text(json.dumps(results), encoding="utf-8")
        self.publish([])
        self.build_db.parent.mkdir(parents=True)
        write_tasks(self.build_db, [])

    def publish(self, rows: list[tuple[Any, ...]]) -> None:
        """Serve these rows as the release of the latest build."""
        self.serving.mkdir(exist_ok=True)
        served = self.serving / "customer_health.duckdb"
        served.unlink(missing_ok=True)
        write_tasks(served, rows)
        release = {
            "release_id": "20240630T000000000000Z-inv-1",
            "dbt_invocation_id": "inv-1",
            "as_of_date": "2024-06-30",
            "tables": {RELATION: len(rows)},
        }
        (self.serving / "release.json").write_text(json.dumps(release), encoding="utf-8")

    def query(self, sql: str) -> list[tuple[Any, ...]]:
        with duckdb.connect(str(self.state), read_only=True) as con:
            return con.execute(sql).fetchall()

    def task_ids(self) -> dict[str, str]:
        return dict(
            self.query(
                "select record_id, crm_object_id from crm_sync_state "
                "where destination like '%/tasks'"
            )
        )

    def pending(self) -> list[str]:
        return [
            row[0]
            for row in self.query("select record_id from crm_sync_pending_creates order by 1")
        ]

    def last_run(self) -> dict[str, Any]:
        with duckdb.connect(str(self.state), read_only=True) as con:
            cursor = con.execute("select * from crm_sync_runs order by started_at desc limit 1")
            names = [item[0] for item in cursor.description or []]
            return dict(zip(names, cursor.fetchone() or (), strict=True))


def write_tasks(path: Path, rows: list[tuple[Any, ...]]) -> None:
    with duckdb.connect(str(path)) as con:
        con.execute("create schema marts")
        con.execute(
            "create table marts.sync_crm_tasks (health_action_id varchar, health_account_id "
            "varchar, hs_task_subject varchar, hs_task_body varchar, hs_task_status varchar, "
            "hs_task_priority varchar, hs_task_type varchar, hs_timestamp timestamp, "
            "hubspot_owner_id varchar, action_status varchar, health_as_of_date date)"
        )
        if rows:
            # One statement: DuckDB's executemany takes a round trip per row.
            columns = {
                name: [row[index] for row in rows] for index, name in enumerate(CONTRACT_COLUMNS)
            }
            con.register("task_rows", pa.table(columns))
            con.execute("insert into marts.sync_crm_tasks select * from task_rows")


@pytest.fixture
def stub() -> Iterator[HubSpotStub]:
    """The stand-in HubSpot with the unique company property and companies acc_1..acc_3."""
    server = HubSpotStub(TOKEN).start()
    server.properties["health_account_id"] = {
        "name": "health_account_id",
        "type": "string",
        "fieldType": "text",
        "hasUniqueValue": True,
    }
    server.owners = {"77", "78"}
    for key in ("acc_1", "acc_2", "acc_3"):
        server.add_company(key)
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture
def project(tmp_path: Path, stub: HubSpotStub, monkeypatch: pytest.MonkeyPatch) -> TaskProject:
    mini = TaskProject(tmp_path)
    for name, value in {
        "HEALTH_DB_PATH": mini.build_db,
        "HEALTH_SERVING_DIR": mini.serving,
        "HEALTH_SYNC_STATE_PATH": mini.state,
        "DBT_TARGET_PATH": mini.target,
        "HUBSPOT_ACCESS_TOKEN": TOKEN,
        "HUBSPOT_API_BASE": stub.base_url,
    }.items():
        monkeypatch.setenv(name, str(value))
    return mini


def sync_tasks(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str]:
    from customer_health.crm_sync import cli

    code = cli.main(["sync-tasks", *FAST, *argv])
    captured = capsys.readouterr()
    return code, captured.out + captured.err


OPEN_ROWS = [
    action("act_1", "acc_1", owner="77"),
    action("act_2", "acc_1", priority="MEDIUM"),
    action("act_3", "acc_2", priority="LOW", owner="78"),
]


def one_task_each(stub: HubSpotStub) -> dict[str, dict[str, Any]]:
    """Action id -> its only task in the stub (fails on a duplicate)."""
    found = stub.tasks_by_action()
    duplicates = {
        key: [task["id"] for task in tasks] for key, tasks in found.items() if len(tasks) > 1
    }
    assert not duplicates, f"duplicate tasks {duplicates}"
    return {key: tasks[0] for key, tasks in found.items()}


def test_first_run_creates_tasks_on_their_companies_then_an_unchanged_run_sends_nothing(
    project: TaskProject, stub: HubSpotStub, capsys: pytest.CaptureFixture[str]
) -> None:
    project.publish([*OPEN_ROWS, action("act_closed", "acc_2", status="done")])
    code, output = sync_tasks(capsys)
    assert code == 0, output
    tasks = one_task_each(stub)
    assert set(tasks) == {"act_1", "act_2", "act_3"}, "a closed action never gets a new task"
    company = {c["properties"]["health_account_id"]: c["id"] for c in stub.companies.values()}
    assert {key: task["companies"] for key, task in tasks.items()} == {
        "act_1": [company["acc_1"]],
        "act_2": [company["acc_1"]],
        "act_3": [company["acc_2"]],
    }
    assert tasks["act_1"]["properties"]["hubspot_owner_id"] == "77"
    assert "hubspot_owner_id" not in tasks["act_2"]["properties"]
    assert tasks["act_3"]["properties"]["hs_timestamp"] == "2024-07-15T00:00:00.000Z"
    assert project.task_ids() == {key: task["id"] for key, task in tasks.items()}
    assert project.pending() == []
    run = project.last_run()
    assert (run["status"], run["planned_creates"], run["rows_succeeded"]) == ("succeeded", 3, 3)
    assert "closed before a task was created" in output
    assert [request.inputs for request in stub.task_creates()] == [3]
    assert len(stub.requests_to("/crm/v3/objects/companies/batch/read")) == 1

    before = len(stub.log)
    code, output = sync_tasks(capsys)
    assert code == 0, output
    assert len(stub.log) == before, "an unchanged mart sends no request at all"
    run = project.last_run()
    assert (run["rows_unchanged"], run["rows_sent"], run["requests"]) == (3, 0, 0)


def test_creates_go_in_batches_of_at_most_100(
    project: TaskProject, stub: HubSpotStub, capsys: pytest.CaptureFixture[str]
) -> None:
    project.publish([action(f"act_{index:03}", f"acc_{index % 3 + 1}") for index in range(205)])
    code, output = sync_tasks(capsys)
    assert code == 0, output
    assert [request.inputs for request in stub.task_creates()] == [100, 100, 5]
    assert len(one_task_each(stub)) == 205


def test_closing_an_action_updates_its_task_to_completed(
    project: TaskProject, stub: HubSpotStub, capsys: pytest.CaptureFixture[str]
) -> None:
    project.publish(OPEN_ROWS)
    assert sync_tasks(capsys)[0] == 0
    task_id = project.task_ids()["act_2"]
    project.publish(
        [OPEN_ROWS[0], action("act_2", "acc_1", status="expired", priority="MEDIUM"), OPEN_ROWS[2]]
    )

    code, output = sync_tasks(capsys, "--dry-run")
    assert code == 0, output
    assert f"update act_2 {task_id} COMPLETED" in output
    code, output = sync_tasks(capsys)
    assert code == 0, output
    [update] = stub.task_updates()
    assert update.ids == [task_id]
    assert stub.tasks[task_id]["properties"]["hs_task_status"] == "COMPLETED"
    assert "(expired)" in stub.tasks[task_id]["properties"]["hs_task_body"]
    assert len(stub.task_creates()) == 1
    assert project.last_run()["planned_updates"] == 1


def test_a_429_storm_is_waited_out_and_nothing_is_duplicated(
    project: TaskProject, stub: HubSpotStub, capsys: pytest.CaptureFixture[str]
) -> None:
    project.publish(OPEN_ROWS)
    stub.inject(count=4, status=429, retry_after=0.1, path=CREATE)
    start = time.monotonic()
    code, output = sync_tasks(capsys)
    assert code == 0, output
    assert time.monotonic() - start >= 0.4, "each 429 waits at least its Retry-After"
    run = project.last_run()
    assert (run["rate_limited"], run["retries"]) == (4, 4)
    assert len(one_task_each(stub)) == 3


def test_a_5xx_on_an_update_is_retried_until_it_succeeds(
    project: TaskProject, stub: HubSpotStub, capsys: pytest.CaptureFixture[str]
) -> None:
    project.publish(OPEN_ROWS)
    assert sync_tasks(capsys)[0] == 0
    project.publish(
        [action(key, account, subject="Call the sponsor") for key, account, *_ in OPEN_ROWS]
    )
    stub.inject(count=2, status=503, path=UPDATE)
    code, output = sync_tasks(capsys)
    assert code == 0, output
    assert [request.status for request in stub.task_updates()] == [503, 503, 200]
    assert {task["properties"]["hs_task_subject"] for task in stub.tasks.values()} == {
        "Call the sponsor"
    }
    assert project.last_run()["retries"] == 2


def test_a_5xx_on_a_create_is_not_resent_but_looked_up_on_a_later_run(
    project: TaskProject, stub: HubSpotStub, capsys: pytest.CaptureFixture[str]
) -> None:
    project.publish(OPEN_ROWS)
    stub.inject(status=503, path=CREATE)
    code, output = sync_tasks(capsys)
    assert code == 1, output
    assert [request.status for request in stub.task_creates()] == [503]
    assert project.pending() == ["act_1", "act_2", "act_3"]
    assert project.task_ids() == {}
    assert "may have created the task" in output

    # Within the lookup delay nothing is sent for them.
    code, output = sync_tasks(capsys)
    assert code == 1, output
    assert len(stub.task_creates()) == 1
    assert stub.task_searches() == []
    assert project.last_run()["summary"].endswith("0 retries")
    assert "3 awaiting lookup" in project.last_run()["summary"]

    # Later: the search finds no task, so they are created, once.
    code, output = sync_tasks(capsys, "--lookup-delay", "0")
    assert code == 0, output
    assert len(stub.task_searches()) == 1
    assert set(one_task_each(stub)) == {"act_1", "act_2", "act_3"}
    assert project.pending() == []


@pytest.mark.parametrize("loss", ["dropped-connection", "timeout"])
def test_a_lost_answer_to_a_create_never_makes_a_second_task(
    project: TaskProject, stub: HubSpotStub, capsys: pytest.CaptureFixture[str], loss: str
) -> None:
    project.publish(OPEN_ROWS)
    if loss == "timeout":
        stub.inject(delay=0.6, path=CREATE)
        code, output = sync_tasks(capsys, "--timeout", "0.2")
        deadline = time.monotonic() + 5
        while len(stub.tasks) < 3 and time.monotonic() < deadline:
            time.sleep(0.05)
    else:
        stub.inject(drop=True, path=CREATE)
        code, output = sync_tasks(capsys)
    assert code == 1, output
    created = one_task_each(stub)
    assert set(created) == {"act_1", "act_2", "act_3"}, "HubSpot applied the create"
    assert project.task_ids() == {}, "nothing HubSpot did not confirm is recorded as created"
    assert project.pending() == ["act_1", "act_2", "act_3"]
    assert len(stub.task_creates()) == 1, "a create that may have been applied is not resent"

    code, output = sync_tasks(capsys, "--lookup-delay", "0")
    assert code == 0, output
    assert len(stub.task_creates()) == 1
    assert project.task_ids() == {key: task["id"] for key, task in created.items()}
    assert project.pending() == []
    assert project.last_run()["summary"].startswith(
        "0 of 0 task writes delivered, 3 lost creates found"
    )

    # The adopted tasks are updated like any other.
    project.publish([OPEN_ROWS[0], action("act_2", "acc_1", status="done"), OPEN_ROWS[2]])
    assert sync_tasks(capsys)[0] == 0
    assert stub.task_updates()[-1].ids == [created["act_2"]["id"]]
    assert len(one_task_each(stub)) == 3


def test_a_run_killed_while_a_create_is_in_flight_is_looked_up_not_duplicated(
    project: TaskProject, stub: HubSpotStub
) -> None:
    project.publish(OPEN_ROWS)
    stub.hold_path, stub.hold_after = "/tasks/batch/create", 0
    process = subprocess.Popen(
        [sys.executable, "-m", "customer_health", "sync-tasks", *FAST],
        env=dict(os.environ),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    assert stub.held.wait(timeout=60), "the sync never sent its create"
    process.send_signal(signal.SIGKILL)
    process.wait(timeout=30)
    stub.hold_after = None
    stub.release.set()
    assert project.pending() == ["act_1", "act_2", "act_3"]
    assert project.query(
        "select count(*) from crm_sync_pending_creates where settled_at is null"
    ) == [(3,)]

    process = subprocess.run(
        [sys.executable, "-m", "customer_health", "sync-tasks", *FAST, "--lookup-delay", "0"],
        env=dict(os.environ),
        capture_output=True,
        text=True,
        check=False,
    )
    assert process.returncode == 0, process.stdout + process.stderr
    assert len(stub.task_creates()) == 1
    assert set(project.task_ids()) == set(one_task_each(stub)) == {"act_1", "act_2", "act_3"}
    statuses = project.query("select status from crm_sync_runs order by started_at")
    assert statuses == [("interrupted",), ("succeeded",)]


def test_a_failed_lookup_keeps_the_lost_creates_journaled_and_creates_nothing(
    project: TaskProject, stub: HubSpotStub, capsys: pytest.CaptureFixture[str]
) -> None:
    project.publish(OPEN_ROWS)
    stub.inject(drop=True, path=CREATE)
    assert sync_tasks(capsys)[0] == 1
    stub.inject(count=2, status=500, path="/tasks/search")
    code, output = sync_tasks(capsys, "--lookup-delay", "0", "--max-attempts", "2")
    assert code == 1, output
    assert "the task search failed" in output
    assert len(stub.task_creates()) == 1
    assert project.pending() == ["act_1", "act_2", "act_3"]
    assert sync_tasks(capsys, "--lookup-delay", "0")[0] == 0
    assert len(stub.task_creates()) == 1
    assert set(project.task_ids()) == set(one_task_each(stub))


def test_a_task_deleted_in_hubspot_is_rejected_alone_and_never_created_again(
    project: TaskProject, stub: HubSpotStub, capsys: pytest.CaptureFixture[str]
) -> None:
    project.publish(OPEN_ROWS)
    assert sync_tasks(capsys)[0] == 0
    deleted = project.task_ids()["act_2"]
    del stub.tasks[deleted]
    project.publish(
        [action(key, account, subject="Call the sponsor") for key, account, *_ in OPEN_ROWS]
    )
    code, output = sync_tasks(capsys)
    assert code == 1, output
    [row] = project.query("select record_id, error_kind, message from crm_sync_rejections")
    assert row[:2] == ("act_2", "rejected")
    assert f"task {deleted} does not exist" in row[2]
    assert len(stub.task_creates()) == 1
    assert {task["properties"]["hs_task_subject"] for task in stub.tasks.values()} == {
        "Call the sponsor"
    }


def test_one_bad_row_in_a_create_batch_is_isolated(
    project: TaskProject, stub: HubSpotStub, capsys: pytest.CaptureFixture[str]
) -> None:
    project.publish([*OPEN_ROWS, action("act_bad", "acc_3", due=None)])
    code, output = sync_tasks(capsys)
    assert code == 1, output
    assert set(one_task_each(stub)) == {"act_1", "act_2", "act_3"}
    rejected = project.query(
        "select record_id, error_kind, http_status, message from crm_sync_rejections"
    )
    assert [row[:3] for row in rejected] == [("act_bad", "rejected", 400)]
    assert "hs_timestamp is required" in rejected[0][3]
    assert project.pending() == [], "a refused create is known not to exist"
    assert stub.task_creates()[0].status == 400
    assert project.last_run()["rows_rejected"] == 1

    # Fixed in the warehouse: only that row is sent.
    project.publish([*OPEN_ROWS, action("act_bad", "acc_3")])
    assert sync_tasks(capsys)[0] == 0
    assert stub.task_creates()[-1].ids == ["act_bad"]
    assert len(one_task_each(stub)) == 4


def test_one_bad_row_in_an_update_batch_is_isolated_and_a_207_needs_no_split(
    project: TaskProject, stub: HubSpotStub, capsys: pytest.CaptureFixture[str]
) -> None:
    project.publish(OPEN_ROWS)
    assert sync_tasks(capsys)[0] == 0
    changed = [action(key, account, priority="LOW") for key, account, *_ in OPEN_ROWS]
    changed[1] = action("act_2", "acc_1", priority="URGENT")
    project.publish(changed)
    code, output = sync_tasks(capsys)
    assert code == 1, output
    assert "URGENT was not one of the allowed options" in output
    assert len(stub.task_updates()) > 1, "the rejected batch is split"
    ids = project.task_ids()
    assert stub.tasks[ids["act_1"]]["properties"]["hs_task_priority"] == "LOW"
    assert stub.tasks[ids["act_2"]]["properties"]["hs_task_priority"] == "MEDIUM"

    stub.partial = True
    changed[0] = action("act_1", "acc_1", priority="LOW", owner="99")  # no such owner
    project.publish(changed)
    before = len(stub.task_updates())
    code, output = sync_tasks(capsys)
    assert code == 1, output
    assert len(stub.task_updates()) == before + 1
    rejected = project.query(
        "select record_id, http_status from crm_sync_rejections "
        "where run_id = (select run_id from crm_sync_runs order by started_at desc limit 1) "
        "order by 1"
    )
    assert rejected == [("act_1", 207), ("act_2", 207)]


def test_a_task_whose_company_is_unknown_fails_alone(
    project: TaskProject, stub: HubSpotStub, capsys: pytest.CaptureFixture[str]
) -> None:
    project.publish([*OPEN_ROWS, action("act_orphan", "acc_unknown")])
    code, output = sync_tasks(capsys)
    assert code == 1, output
    assert set(one_task_each(stub)) == {"act_1", "act_2", "act_3"}
    [row] = project.query(
        "select record_id, error_kind, category, message from crm_sync_rejections"
    )
    assert row[:3] == ("act_orphan", "rejected", "COMPANY_NOT_FOUND")
    assert "no HubSpot company has health_account_id = acc_unknown" in row[3]
    assert project.pending() == []

    stub.add_company("acc_unknown")  # e.g. the company sync ran
    assert sync_tasks(capsys)[0] == 0
    assert stub.task_creates()[-1].ids == ["act_orphan"]


def test_dry_run_sends_and_records_nothing_and_writes_the_plan(
    project: TaskProject, stub: HubSpotStub, capsys: pytest.CaptureFixture[str]
) -> None:
    project.publish(OPEN_ROWS)
    plan_file = project.root / "plan.jsonl"
    code, output = sync_tasks(capsys, "--dry-run", "--plan-file", str(plan_file))
    assert code == 0, output
    assert stub.log == []
    assert not project.state.exists()
    assert "would create 3 and update 0 tasks of 3 actions" in output
    planned = [json.loads(line) for line in plan_file.read_text().splitlines()]
    assert [(entry["operation"], entry["health_action_id"]) for entry in planned] == [
        ("create", "act_1"),
        ("create", "act_2"),
        ("create", "act_3"),
    ]
    assert planned[0]["properties"]["hs_task_priority"] == "HIGH"

    code, output = sync_tasks(capsys, "--plan-file", str(plan_file))
    assert code == 2
    assert "--plan-file goes with --dry-run" in output


def test_the_plan_file_replaces_only_an_earlier_plan(
    project: TaskProject, stub: HubSpotStub, capsys: pytest.CaptureFixture[str]
) -> None:
    project.publish(OPEN_ROWS)
    plan_file = project.root / "plan.jsonl"
    assert sync_tasks(capsys, "--dry-run", "--plan-file", str(plan_file))[0] == 0
    project.publish(OPEN_ROWS[:1])
    code, output = sync_tasks(capsys, "--dry-run", "--plan-file", str(plan_file))
    assert code == 0, output
    planned = [json.loads(line) for line in plan_file.read_text().splitlines()]
    assert [entry["health_action_id"] for entry in planned] == ["act_1"]

    notes = project.root / "notes.txt"
    notes.write_text("not a plan\n")
    target = project.root / "link.jsonl"
    target.symlink_to(plan_file)
    for path in (notes, target, project.root):
        code, output = sync_tasks(capsys, "--dry-run", "--plan-file", str(path))
        assert code == 2
        assert "refusing to" in output, output
        assert path.name in output
    assert notes.read_text() == "not a plan\n"
    assert [
        json.loads(line)["health_action_id"] for line in plan_file.read_text().splitlines()
    ] == ["act_1"]
    assert stub.log == []
    assert sorted(path.name for path in project.root.glob(".*plan*")) == []


def test_refuses_without_the_tasks_model_or_a_published_build(
    project: TaskProject, capsys: pytest.CaptureFixture[str]
) -> None:
    results = json.loads((project.target / "run_results.json").read_text())
    results["metadata"]["invocation_id"] = "inv-2"
    (project.target / "run_results.json").write_text(json.dumps(results))
    code, output = sync_tasks(capsys)
    assert code == 2
    assert "the latest dbt build (invocation inv-2) was not published" in output
    (project.target / "manifest.json").write_text(json.dumps({"nodes": {}}))
    code, output = sync_tasks(capsys, "--dry-run")
    assert code == 2
    assert "has no single model sync_crm_tasks" in output
    assert not project.state.exists()


@pytest.mark.parametrize("status", [400, 503])
def test_an_echoing_server_never_gets_the_token_printed_or_stored(
    project: TaskProject, stub: HubSpotStub, capsys: pytest.CaptureFixture[str], status: int
) -> None:
    project.publish(OPEN_ROWS)
    stub.inject(count=20, status=status, echo=True)
    code, output = sync_tasks(capsys, "--max-attempts", "2")
    assert code == 1, output
    from customer_health.crm_sync import cli

    assert cli.main(["audit"]) == 0
    audit = capsys.readouterr().out
    stored = project.query(
        "select message from crm_sync_rejections union all select summary from crm_sync_runs "
        "union all select properties_json from crm_sync_pending_creates"
    )
    assert stored
    for text in [output, audit, *(str(row[0]) for row in stored)]:
        assert TOKEN not in text
    assert "Bearer [redacted]" in output
    assert TOKEN.encode() not in project.state.read_bytes()
