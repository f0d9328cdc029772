"""The CRM sync against a stand-in HubSpot server on 127.0.0.1.

The payload is a copy of the clean build's sync_crm_account_health with two more copies
of every row under suffixed ids (over 200 rows), so that batches of 100 are used. That copy
is published (the publish step's own function) and the sync reads the served release.
Most runs call the CLI in-process; the kill test and the token test run it as a process.
"""

from __future__ import annotations

import json
import math
import os
import re
import shutil
import signal
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import duckdb
import pytest
from harness import PROJECT_DIR, DbtProject
from hubspot_stub import HubSpotStub

from customer_health.crm_sync import cli
from customer_health.crm_sync.payload import load_payload_model, read_records
from customer_health.dbt_artifacts import read_manifest as load_manifest
from customer_health.dbt_artifacts import read_run_results
from customer_health.serving.publish import SERVED_SCHEMAS, SERVED_TABLES, ServingPaths, publish

pytestmark = pytest.mark.functional

# The allow-list: what may leave the warehouse. Adding a column is a privacy review.
ALLOWED_COLUMNS = [
    "health_account_id",
    "health_band",
    "health_trend",
    "health_tree_outcome",
    "health_recommended_action",
    "health_score",
    "health_score_change_30d",
    "health_usage_score",
    "health_adoption_score",
    "health_lifecycle_score",
    "health_support_score",
    "health_commercial_score",
    "health_churn_probability_90d",
    "health_churn_risk_level",
    "health_churn_risk_factors",
    "health_red_flag_count",
    "health_new_red_flag_count",
    "health_red_flags",
    "health_green_light_count",
    "health_green_lights",
    "health_expansion_level",
    "health_expansion_seats",
    "health_expansion_signals",
    "health_as_of_date",
]
SYNC_CLI = [sys.executable, "-m", "customer_health"]
FAST_RETRIES = ["--backoff-initial", "0.05", "--backoff-max", "0.2"]


@pytest.fixture(scope="module")
def sync_source(
    clean_build: tuple[DbtProject, Any], tmp_path_factory: pytest.TempPathFactory
) -> Path:
    """A published release of the clean build with the payload x3, plus the build's
    artifacts."""
    project, result = clean_build
    assert result.success, result.exception
    base = tmp_path_factory.mktemp("crm_sync_source")
    with duckdb.connect(str(project.db_path)) as con:
        served = con.execute(
            "select table_schema, table_name from information_schema.tables "
            "where table_catalog = current_database() and (list_contains(?, table_schema) "
            "or list_contains(?, table_schema || '.' || table_name))",
            [list(SERVED_SCHEMAS), list(SERVED_TABLES)],
        ).fetchall()
        con.execute(f"attach '{base / 'warehouse.duckdb'}' as payload_copy")
        for schema, table in served:
            con.execute(f"create schema if not exists payload_copy.{schema}")
            con.execute(
                f"create table payload_copy.{schema}.{table} as select * from {schema}.{table}"
            )
        for suffix in ("_b", "_c"):
            con.execute(
                "insert into payload_copy.marts.sync_crm_account_health select * replace "
                f"(health_account_id || '{suffix}' as health_account_id) "
                "from marts.sync_crm_account_health"
            )
        con.execute("detach payload_copy")
    (base / "target").mkdir()
    for name in ("manifest.json", "run_results.json"):
        shutil.copy2(project.work_dir / "target" / name, base / "target" / name)
    publish(
        base / "warehouse.duckdb",
        ServingPaths(base / "serving"),
        read_run_results(base / "target"),
        load_manifest(base / "target"),
        project_dir=PROJECT_DIR,
    )
    return base


@dataclass
class SyncEnv:
    root: Path
    stub: HubSpotStub
    token: str

    @property
    def serving(self) -> Path:
        return self.root / "serving"

    @property
    def db(self) -> Path:
        return ServingPaths(self.serving).database

    @property
    def target(self) -> Path:
        return self.root / "target"

    @property
    def state(self) -> Path:
        return self.root / "crm_sync_state.duckdb"

    def argv(self, command: str, *args: str) -> list[str]:
        paths = ["--state-db", str(self.state)]
        if command != "audit":
            paths += ["--target-path", str(self.target), "--serving-dir", str(self.serving)]
        return [command, *paths, *args]

    def environ(self) -> dict[str, str]:
        return {"HUBSPOT_ACCESS_TOKEN": self.token, "HUBSPOT_API_BASE": self.stub.base_url}

    def mart(self) -> dict[str, dict[str, str]]:
        model = load_payload_model(load_manifest(self.target))
        return {record.record_id: record.properties for record in read_records(self.db, model)}

    def execute(self, sql: str) -> None:
        with duckdb.connect(str(self.db)) as con:
            con.execute(sql)

    def runs(self) -> list[dict[str, Any]]:
        with duckdb.connect(str(self.state), read_only=True) as con:
            cursor = con.execute("select * from crm_sync_runs order by started_at")
            names = [item[0] for item in cursor.description or []]
            return [dict(zip(names, row, strict=True)) for row in cursor.fetchall()]

    def rejections(self) -> list[tuple[Any, ...]]:
        with duckdb.connect(str(self.state), read_only=True) as con:
            return con.execute(
                "select record_id, error_kind, http_status, message from crm_sync_rejections "
                "order by recorded_at, record_id"
            ).fetchall()

    def confirmed(self) -> set[str]:
        with duckdb.connect(str(self.state), read_only=True) as con:
            return {
                row[0] for row in con.execute("select record_id from crm_sync_state").fetchall()
            }

    def assert_crm_equals_mart(self) -> None:
        """Every record in the CRM once, with exactly the mart's properties."""
        stored = self.stub.records()
        mart = self.mart()
        assert set(stored) == set(mart)
        for record_id, properties in mart.items():
            got = {name: value for name, value in stored[record_id].items() if name in properties}
            assert got == properties, record_id


@pytest.fixture
def sync_env(
    sync_source: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> Iterator[SyncEnv]:
    shutil.copytree(sync_source / "serving", tmp_path / "serving", symlinks=True)
    shutil.copytree(sync_source / "target", tmp_path / "target")
    # The tests change scores in the served copy to stand for a new release.
    ServingPaths(tmp_path / "serving").database.chmod(0o644)
    token = f"pat-na1-{uuid.uuid4()}"
    stub = HubSpotStub(token).start()
    env = SyncEnv(tmp_path, stub, token)
    for name, value in env.environ().items():
        monkeypatch.setenv(name, value)
    assert cli.main(env.argv("properties", "--apply")) == 0
    yield env
    stub.stop()


def run_cli(env: SyncEnv, capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str]:
    code = cli.main(env.argv(*args))
    captured = capsys.readouterr()
    return code, captured.out + captured.err


def test_payload_holds_exactly_the_allow_listed_columns(sync_env: SyncEnv) -> None:
    model = load_payload_model(load_manifest(sync_env.target))
    assert [prop.name for prop in model.properties] == ALLOWED_COLUMNS
    assert model.external_id.name == "health_account_id"


def test_properties_apply_defines_every_payload_property(sync_env: SyncEnv) -> None:
    defined = sync_env.stub.properties
    assert set(ALLOWED_COLUMNS) <= set(defined)
    assert defined["health_account_id"]["hasUniqueValue"] is True
    options = {
        name: [item["value"] for item in defined[name].get("options", [])]
        for name in (
            "health_band",
            "health_trend",
            "health_tree_outcome",
            "health_churn_risk_level",
            "health_expansion_level",
        )
    }
    assert options == {
        "health_band": ["healthy", "needs_attention", "at_risk", "critical", "insufficient_data"],
        "health_trend": ["up", "flat", "down", "new"],
        "health_tree_outcome": ["HEALTHY", "NEEDS_ATTENTION", "AT_RISK", "CRITICAL"],
        "health_churn_risk_level": ["low", "medium", "high", "critical"],
        "health_expansion_level": ["low", "medium", "high"],
    }
    assert defined["health_red_flags"]["fieldType"] == "textarea"
    assert defined["health_red_flag_count"]["type"] == "number"
    assert {item["groupName"] for name, item in defined.items() if name.startswith("health_")} == {
        "customer_health"
    }


def test_first_run_upserts_every_row_in_batches_of_100_then_nothing(
    sync_env: SyncEnv, capsys: pytest.CaptureFixture[str]
) -> None:
    total = len(sync_env.mart())
    assert 200 < total < 300
    code, output = run_cli(sync_env, capsys, "sync")
    assert code == 0, output
    upserts = sync_env.stub.upserts()
    assert [request.inputs for request in upserts] == [100, 100, total - 200]
    assert all(len(set(request.ids)) == len(request.ids) for request in upserts)
    sync_env.assert_crm_equals_mart()
    first = sync_env.runs()[-1]
    assert (first["status"], first["rows_considered"], first["planned_creates"]) == (
        "succeeded",
        total,
        total,
    )
    assert (first["rows_sent"], first["rows_succeeded"], first["requests"]) == (total, total, 3)

    code, output = run_cli(sync_env, capsys, "sync")
    assert code == 0, output
    assert len(sync_env.stub.upserts()) == 3, "an unchanged mart must send no write request"
    second = sync_env.runs()[-1]
    assert (second["rows_unchanged"], second["rows_sent"], second["requests"]) == (total, 0, 0)


def test_only_changed_rows_are_sent_and_dry_run_predicts_the_run(
    sync_env: SyncEnv, capsys: pytest.CaptureFixture[str]
) -> None:
    total = len(sync_env.mart())
    code, output = run_cli(sync_env, capsys, "sync", "--dry-run")
    assert code == 0
    assert f"{total} creates, 0 updates, 0 unchanged" in output
    assert not sync_env.state.exists(), "a dry run records nothing"
    assert sync_env.stub.upserts() == []
    assert run_cli(sync_env, capsys, "sync")[0] == 0

    # Seven scores move; one new account appears.
    sync_env.execute(
        "update marts.sync_crm_account_health set health_score = coalesce(health_score, 50) + 0.1 "
        "where health_account_id in (select health_account_id from "
        "marts.sync_crm_account_health order by health_account_id limit 7)"
    )
    sync_env.execute(
        "insert into marts.sync_crm_account_health select * replace "
        "('acc_new_1' as health_account_id) from marts.sync_crm_account_health limit 1"
    )
    code, output = run_cli(sync_env, capsys, "sync", "--dry-run")
    assert (
        f"would send 8 of {total + 1} rows: 1 creates, 7 updates, {total - 7} unchanged" in output
    )
    requests_before = len(sync_env.stub.upserts())
    assert run_cli(sync_env, capsys, "sync")[0] == 0
    run = sync_env.runs()[-1]
    assert (run["planned_creates"], run["planned_updates"], run["rows_unchanged"]) == (
        1,
        7,
        total - 7,
    )
    assert [request.inputs for request in sync_env.stub.upserts()[requests_before:]] == [8]
    sync_env.assert_crm_equals_mart()


def test_rejected_rows_are_isolated_recorded_and_land_on_the_next_run(
    sync_env: SyncEnv, capsys: pytest.CaptureFixture[str]
) -> None:
    # The CRM's band property lacks an option: HubSpot rejects the whole batch.
    band = sync_env.stub.properties["health_band"]
    band["options"] = [item for item in band["options"] if item["value"] != "at_risk"]
    at_risk = {key for key, value in sync_env.mart().items() if value["health_band"] == "at_risk"}
    assert 0 < len(at_risk) < 100

    code, output = run_cli(sync_env, capsys, "sync", *FAST_RETRIES)
    assert code == 1, output
    run = sync_env.runs()[-1]
    assert run["status"] == "incomplete"
    assert run["rows_rejected"] == len(at_risk)
    assert run["rows_succeeded"] == len(sync_env.mart()) - len(at_risk)
    assert run["requests"] > 3, "rejected batches are split to isolate the bad rows"
    rejected = sync_env.rejections()
    assert {row[0] for row in rejected} == at_risk
    assert all(row[1] == "rejected" and row[2] == 400 for row in rejected)
    assert all("at_risk was not one of the allowed options" in row[3] for row in rejected)
    assert sync_env.confirmed() == set(sync_env.mart()) - at_risk
    assert set(sync_env.stub.records()) == set(sync_env.mart()) - at_risk

    # An admin aligns the options; the next run sends exactly the rejected rows.
    assert run_cli(sync_env, capsys, "properties", "--apply")[0] == 0
    before = len(sync_env.stub.upserts())
    code, output = run_cli(sync_env, capsys, "sync")
    assert code == 0, output
    assert sum(request.inputs for request in sync_env.stub.upserts()[before:]) == len(at_risk)
    sync_env.assert_crm_equals_mart()


def test_partial_207_response_confirms_the_good_rows_only(
    sync_env: SyncEnv, capsys: pytest.CaptureFixture[str]
) -> None:
    sync_env.stub.partial = True
    bad = sorted(sync_env.mart())[5:7]
    sync_env.stub.reject_ids = {key: f"{key} is locked by a workflow" for key in bad}
    code, output = run_cli(sync_env, capsys, "sync")
    assert code == 1, output
    assert len(sync_env.stub.upserts()) == 3, "a 207 needs no split"
    assert {row[0] for row in sync_env.rejections()} == set(bad)
    assert sync_env.confirmed() == set(sync_env.mart()) - set(bad)


def test_client_keeps_under_the_rate_limit(
    sync_env: SyncEnv, capsys: pytest.CaptureFixture[str]
) -> None:
    sync_env.stub.set_rate_limit(4, 1.0)
    start = time.monotonic()
    code, output = run_cli(
        sync_env,
        capsys,
        "sync",
        "--batch-size",
        "20",
        "--max-requests",
        "4",
        "--window-seconds",
        "1",
    )
    assert code == 0, output
    stamps = [request.at for request in sync_env.stub.upserts()]
    assert len(stamps) == math.ceil(len(sync_env.mart()) / 20)
    assert all(stamps[index + 4] - stamps[index] >= 0.99 for index in range(len(stamps) - 4))
    assert time.monotonic() - start >= 2.0
    assert sync_env.runs()[-1]["rate_limited"] == 0
    assert {request.status for request in sync_env.stub.upserts()} == {200}
    sync_env.assert_crm_equals_mart()


def test_429_waits_at_least_retry_after(
    sync_env: SyncEnv, capsys: pytest.CaptureFixture[str]
) -> None:
    sync_env.stub.inject(status=429, retry_after=1.5)
    code, output = run_cli(sync_env, capsys, "sync", *FAST_RETRIES)
    assert code == 0, output
    upserts = sync_env.stub.upserts()
    assert upserts[0].status == 429
    assert upserts[1].at - upserts[0].at >= 1.5
    run = sync_env.runs()[-1]
    assert (run["rate_limited"], run["retries"], run["requests"]) == (1, 1, 4)
    sync_env.assert_crm_equals_mart()


def test_5xx_and_timeouts_are_retried_without_duplicates(
    sync_env: SyncEnv, capsys: pytest.CaptureFixture[str]
) -> None:
    sync_env.stub.inject(count=2, status=503)
    sync_env.stub.inject(delay=1.5)  # answered after the client gave up: applied twice
    code, output = run_cli(sync_env, capsys, "sync", "--timeout", "0.5", *FAST_RETRIES)
    assert code == 0, output
    run = sync_env.runs()[-1]
    assert run["retries"] == 3
    assert run["rows_succeeded"] == len(sync_env.mart())
    time.sleep(1.2)  # let the slow request finish on the server
    sync_env.assert_crm_equals_mart()


def test_retries_are_bounded_and_undelivered_rows_are_sent_next_time(
    sync_env: SyncEnv, capsys: pytest.CaptureFixture[str]
) -> None:
    sync_env.stub.inject(count=3, status=502)
    code, output = run_cli(sync_env, capsys, "sync", "--max-attempts", "3", *FAST_RETRIES)
    assert code == 1, output
    run = sync_env.runs()[-1]
    assert (run["rows_undelivered"], run["rows_succeeded"], run["retries"]) == (
        100,
        len(sync_env.mart()) - 100,
        2,
    )
    undelivered = {row[0] for row in sync_env.rejections() if row[1] == "undelivered"}
    assert len(undelivered) == 100
    assert sync_env.confirmed() == set(sync_env.mart()) - undelivered
    assert run_cli(sync_env, capsys, "sync")[0] == 0
    assert sync_env.runs()[-1]["rows_sent"] == 100
    sync_env.assert_crm_equals_mart()


def _default_sigint() -> None:
    # A test run started as a background job inherits an ignored SIGINT, which Python keeps
    # ignoring; the sync under test must see Ctrl-C as a terminal sends it.
    signal.signal(signal.SIGINT, signal.SIG_DFL)


def subprocess_sync(env: SyncEnv, *args: str) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [*SYNC_CLI, *env.argv("sync", *args)],
        env={**os.environ, **env.environ()},
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        preexec_fn=_default_sigint,
    )


def test_killed_mid_run_then_rerun_converges(sync_env: SyncEnv) -> None:
    # The second batch is applied by the CRM, then the sync is killed before the answer.
    sync_env.stub.hold_after = 1
    process = subprocess_sync(sync_env)
    assert sync_env.stub.held.wait(timeout=60), "the sync never reached the second batch"
    process.send_signal(signal.SIGKILL)
    process.wait(timeout=30)
    sync_env.stub.hold_after = None
    sync_env.stub.release.set()
    assert len(sync_env.confirmed()) == 100
    assert len(sync_env.stub.records()) == 200
    assert sync_env.runs()[-1]["status"] == "running"

    rerun = subprocess_sync(sync_env)
    out, err = rerun.communicate(timeout=120)
    assert rerun.returncode == 0, out + err
    runs = sync_env.runs()
    assert [run["status"] for run in runs] == ["interrupted", "succeeded"]
    assert runs[-1]["rows_sent"] == len(sync_env.mart()) - 100
    sync_env.assert_crm_equals_mart()


def test_ctrl_c_keeps_confirmed_rows_and_records_the_run_as_interrupted(
    sync_env: SyncEnv,
) -> None:
    sync_env.stub.hold_after = 1
    process = subprocess_sync(sync_env)
    assert sync_env.stub.held.wait(timeout=60), "the sync never reached the second batch"
    process.send_signal(signal.SIGINT)
    _, err = process.communicate(timeout=30)
    sync_env.stub.release.set()
    assert process.returncode == 130
    assert "Interrupted" in err
    run = sync_env.runs()[-1]
    assert (run["status"], run["exit_code"]) == ("interrupted", 130)
    assert len(sync_env.confirmed()) == 100


def test_token_never_appears_in_output_state_files_or_dbt_artifacts(
    sync_env: SyncEnv, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    sync_env.stub.inject(status=503)
    sync_env.stub.reject_ids = {sorted(sync_env.mart())[0]: "rejected for the test"}
    outputs = []
    for args in (["--dry-run"], [*FAST_RETRIES], ["--file", str(tmp_path / "out.jsonl")]):
        process = subprocess_sync(sync_env, *args)
        outputs.extend(process.communicate(timeout=120))
    code, output = run_cli(sync_env, capsys, "audit")
    outputs.append(output)
    assert code == 0
    assert "rejected for the test" in "".join(outputs)

    # A wrong token: refused by the API, and neither token is shown.
    wrong = f"pat-na1-{uuid.uuid4()}"
    process = subprocess.run(
        [*SYNC_CLI, *sync_env.argv("sync", "--full")],
        env={**os.environ, **sync_env.environ(), "HUBSPOT_ACCESS_TOKEN": wrong},
        capture_output=True,
        text=True,
        check=False,
    )
    assert process.returncode == 3
    assert "HubSpot refused the token" in process.stdout
    outputs += [process.stdout, process.stderr]

    # dbt itself, run with the token in its environment.
    project = DbtProject(
        raw_dir=tmp_path / "raw", db_path=tmp_path / "parse.duckdb", work_dir=tmp_path / "dbt"
    )
    assert project.invoke("parse", env={"HUBSPOT_ACCESS_TOKEN": sync_env.token}).success

    for text in outputs:
        assert sync_env.token not in text
        assert wrong not in text
    for path in [sync_env.state, tmp_path / "out.jsonl", *(tmp_path / "dbt").rglob("*")]:
        if path.is_file():
            data = path.read_bytes()
            assert sync_env.token.encode() not in data, path
            assert wrong.encode() not in data, path


def test_refuses_when_the_last_build_failed_a_test_on_its_inputs(
    sync_env: SyncEnv, capsys: pytest.CaptureFixture[str]
) -> None:
    path = sync_env.target / "run_results.json"
    manifest = load_manifest(sync_env.target)
    run_results = json.loads(path.read_text())
    original = json.dumps(run_results)

    def set_status(test_name: str, status: str) -> None:
        for item in run_results["results"]:
            node = manifest["nodes"].get(item["unique_id"], {})
            if node.get("name") == test_name:
                item["status"] = status
                path.write_text(json.dumps(run_results))
                return
        raise AssertionError(test_name)

    # An error-severity test on an upstream model failed: refused, nothing sent.
    set_status("unique_dim_account_health_account_id", "fail")
    code, output = run_cli(sync_env, capsys, "sync")
    assert code == 2
    failed = r"test\.customer_health\.unique_dim_account_health_account_id\S* fail\b"
    assert re.search(failed, output), output
    assert sync_env.stub.upserts() == []
    assert not sync_env.state.exists()

    # A warning does not block.
    run_results = json.loads(original)
    set_status("unique_dim_account_health_account_id", "warn")
    assert run_cli(sync_env, capsys, "sync", "--dry-run")[0] == 0

    # The last invocation was not a build.
    run_results = json.loads(original)
    run_results["args"]["which"] = "run"
    path.write_text(json.dumps(run_results))
    code, output = run_cli(sync_env, capsys, "sync", "--dry-run")
    assert code == 2
    assert "not `dbt build`" in output


def test_refuses_a_build_that_was_not_published(
    sync_env: SyncEnv, capsys: pytest.CaptureFixture[str]
) -> None:
    # A later `dbt build` whose publish was refused: its run results name another invocation.
    path = sync_env.target / "run_results.json"
    run_results = json.loads(path.read_text())
    run_results["metadata"]["invocation_id"] = str(uuid.uuid4())
    path.write_text(json.dumps(run_results))
    for args in (["--dry-run"], []):
        code, output = run_cli(sync_env, capsys, "sync", *args)
        assert code == 2, output
        assert "was not published" in output
    assert sync_env.stub.upserts() == []
    assert not sync_env.state.exists()


@pytest.mark.parametrize("fmt", ["csv", "jsonl"])
def test_file_destination_writes_changed_rows_of_the_same_payload(
    sync_env: SyncEnv, capsys: pytest.CaptureFixture[str], fmt: str
) -> None:
    out = sync_env.root / f"health.{fmt}"
    assert run_cli(sync_env, capsys, "sync", "--file", str(out))[0] == 0
    model = load_payload_model(load_manifest(sync_env.target))
    if fmt == "csv":
        import csv

        with out.open(newline="", encoding="utf-8") as handle:
            rows = list(csv.DictReader(handle))
    else:
        rows = [json.loads(line) for line in out.read_text(encoding="utf-8").splitlines()]
    assert [list(row) for row in rows[:1]] == [[prop.name for prop in model.properties]]
    mart = sync_env.mart()
    assert {
        row["health_account_id"]: {k: v for k, v in row.items() if k != "health_account_id"}
        for row in rows
    } == mart

    # Unchanged: an empty file; --full: every row again.
    assert run_cli(sync_env, capsys, "sync", "--file", str(out))[0] == 0
    expected_lines = 1 if fmt == "csv" else 0
    assert len(out.read_text(encoding="utf-8").splitlines()) == expected_lines
    assert run_cli(sync_env, capsys, "sync", "--file", str(out), "--full")[0] == 0
    assert len(out.read_text(encoding="utf-8").splitlines()) == len(mart) + expected_lines
    assert sync_env.stub.upserts() == [], "the file destination never calls the API"


def test_open_actions_become_tasks_on_their_companies_once(
    sync_env: SyncEnv, capsys: pytest.CaptureFixture[str]
) -> None:
    with duckdb.connect(str(sync_env.db), read_only=True) as con:
        rows = con.execute(
            "select health_action_id, health_account_id, hs_task_status from marts.sync_crm_tasks"
        ).fetchall()
    open_actions = {key: account for key, account, status in rows if status == "NOT_STARTED"}
    assert open_actions, "the clean build has open actions"
    assert run_cli(sync_env, capsys, "sync")[0] == 0  # the companies first

    code, output = run_cli(sync_env, capsys, "sync-tasks")
    assert code == 0, output
    stub = sync_env.stub
    tasks = stub.tasks_by_action()
    assert {key: len(found) for key, found in tasks.items()} == dict.fromkeys(open_actions, 1)
    company = {item["properties"]["health_account_id"]: key for key, item in stub.companies.items()}
    assert {key: found[0]["companies"] for key, found in tasks.items()} == {
        key: [company[account]] for key, account in open_actions.items()
    }
    run = sync_env.runs()[-1]
    assert (run["status"], run["planned_creates"], run["rows_succeeded"]) == (
        "succeeded",
        len(open_actions),
        len(open_actions),
    )
    assert [request.inputs for request in stub.task_creates()] == [
        min(100, len(open_actions) - start) for start in range(0, len(open_actions), 100)
    ]

    requests = len(stub.log)
    code, output = run_cli(sync_env, capsys, "sync-tasks")
    assert code == 0, output
    assert len(stub.log) == requests, "an unchanged mart sends no request"
    assert sync_env.runs()[-1]["rows_unchanged"] == len(open_actions)


def test_help_describes_every_command() -> None:
    for command in ([], ["sync"], ["sync-tasks"], ["properties"], ["audit"]):
        process = subprocess.run(
            [*SYNC_CLI, *command, "--help"],
            capture_output=True,
            text=True,
            check=False,
        )
        assert process.returncode == 0, process.stderr
        assert "usage: customer-health" in process.stdout
