"""Unit tests of the CRM sync's pure parts: payload formatting, planning, the build check,
the rate limiter and the client's retry and split logic (over httpx.MockTransport)."""

from __future__ import annotations

import datetime as dt
import decimal
import json
from pathlib import Path
from typing import Any

import httpx
import pytest

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


def test_429_waits_at_least_retry_after_and_5xx_backs_off() -> None:
    answers = iter(
        [
            httpx.Response(429, headers={"Retry-After": "7"}),
            httpx.Response(503),
            httpx.Response(200, json={"results": []}),
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
        return httpx.Response(
            200,
            json={
                "results": [
                    {"id": str(100 + index), "objectWriteTraceId": key}
                    for index, key in enumerate(ids)
                ]
            },
        )

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
