"""The portfolio summary's source freshness: the table, the stale line and the no-file line,
from hand-written `dbt source freshness` output; its churn model section, from
hand-written churn model marts; and its CSM action queue, from hand-written playbook marts."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import duckdb
import pytest
from churn_model_marts import churn_model_db
from csm_action_marts import csm_actions_db
from rich.console import Console

from customer_health import dbt_artifacts
from customer_health import summary as portfolio_summary


def result(table: str, status: str, loaded_at: str, age_s: float) -> dict[str, Any]:
    return {
        "unique_id": f"source.customer_health.{table}",
        "max_loaded_at": loaded_at,
        "snapshotted_at": "2024-03-10T12:00:00+00:00",
        "max_loaded_at_time_ago_in_s": age_s,
        "status": status,
        "criteria": {
            "warn_after": {"count": 36, "period": "hour"},
            "error_after": {"count": 72, "period": "hour"},
            "filter": None,
        },
    }


SOURCES: dict[str, Any] = {
    "metadata": {"generated_at": "2024-03-10T12:00:05.000000Z"},
    "results": [
        result("support.tickets", "warn", "2024-03-08T12:00:00+00:00", 48 * 3600),
        result("crm.accounts", "pass", "2024-03-10T09:30:00+00:00", 2.5 * 3600),
        result("billing.invoices", "error", "2024-02-29T02:00:00+02:00", 10 * 86400),
        {
            "unique_id": "source.customer_health.product.users",
            "error": "Binder Error: column _loaded_at not found",
            "status": "runtime error",
        },
    ],
    "elapsed_time": 1.5,
}


def printed(sources: dict[str, Any] | None) -> str:
    console = Console(record=True, width=200)
    portfolio_summary.print_freshness(console, sources)
    return console.export_text()


def test_every_table_shows_its_newest_load_age_and_status() -> None:
    rows = {
        line.split("│")[1].strip(): [cell.strip() for cell in line.split("│")[2:5]]
        for line in printed(SOURCES).splitlines()
        if line.startswith("│")
    }
    assert rows == {
        "billing.invoices": ["2024-02-29 00:00:00 UTC", "10.0 d", "error"],
        "crm.accounts": ["2024-03-10 09:30:00 UTC", "2.5 h", "pass"],
        "product.users": ["-", "-", "runtime error"],
        "support.tickets": ["2024-03-08 12:00:00 UTC", "2.0 d", "warn"],
    }


def test_stale_tables_are_highlighted_and_named() -> None:
    table = portfolio_summary.freshness_table(SOURCES)
    names = list(table.columns[0].cells)
    styles = dict(zip(names, (row.style for row in table.rows), strict=True))
    assert styles == {
        "billing.invoices": "red",
        "crm.accounts": "",
        "product.users": "red",
        "support.tickets": "yellow",
    }
    text = printed(SOURCES)
    assert "Source freshness (checked 2024-03-10 12:00:05 UTC)" in text
    assert "Stale sources (2): billing.invoices, support.tickets" in text
    assert "Freshness not computed for: product.users" in text
    assert "fresh." not in text


def test_all_fresh_says_so() -> None:
    fresh = {"results": [r for r in SOURCES["results"] if r["status"] == "pass"]}
    text = printed(fresh)
    assert "All 1 source tables are fresh." in text
    assert "Stale sources" not in text


def test_without_sources_json_one_line_says_freshness_was_not_checked() -> None:
    text = printed(None)
    assert text.strip().splitlines() == [
        "Source freshness was not checked: no sources.json from `dbt source freshness`."
    ]


def test_read_sources_reads_the_file_or_returns_none(tmp_path: Path) -> None:
    assert dbt_artifacts.read_sources(tmp_path) is None
    (tmp_path / "sources.json").write_text(json.dumps(SOURCES), encoding="utf-8")
    assert dbt_artifacts.read_sources(tmp_path) == SOURCES
    (tmp_path / "sources.json").write_text("{not json", encoding="utf-8")
    with pytest.raises(dbt_artifacts.BuildCheckError, match="cannot read"):
        dbt_artifacts.read_sources(tmp_path)


@pytest.mark.parametrize("written", [True, False], ids=["sources-json", "no-sources-json"])
def test_main_passes_the_target_paths_sources_json_to_render(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, written: bool
) -> None:
    target = tmp_path / "target"
    target.mkdir()
    if written:
        (target / "sources.json").write_text(json.dumps(SOURCES), encoding="utf-8")
    database = tmp_path / "warehouse.duckdb"
    duckdb.connect(str(database)).close()
    # A relative DBT_TARGET_PATH is read from the project directory.
    monkeypatch.setenv("HEALTH_PROJECT_DIR", str(tmp_path))
    monkeypatch.setenv("DBT_TARGET_PATH", "target")
    seen: dict[str, Any] = {}

    def render(con: object, console: Console, label: str, **kwargs: Any) -> int:
        seen.update(kwargs)
        return 0

    monkeypatch.setattr(portfolio_summary, "render", render)
    assert portfolio_summary.main(["--db", str(database)]) == 0
    assert seen == {"sources": SOURCES if written else None}


def churn_section(con: duckdb.DuckDBPyConnection) -> str:
    console = Console(record=True, width=200)
    for part in portfolio_summary.churn_model_section(con):
        console.print(part)
    return console.export_text()


def table_rows(text: str) -> list[list[str]]:
    return [
        [cell.strip() for cell in line.split("│")[1:-1]]
        for line in text.splitlines()
        if line.startswith("│")
    ]


def test_the_churn_model_section_compares_the_three_models_and_lists_the_riskiest() -> None:
    with churn_model_db() as con:
        text = churn_section(con)
    assert "Churn model back-test, out of time (2024-12-31 .. 2025-02-28)" in text
    assert (
        "Version in force: 2025-05-31, trained on 5,138 observations (115 churned) of"
        " month-ends 2024-01-31 .. 2025-02-28, 38 features." in " ".join(text.split())
    )
    rows = table_rows(text)
    # AUC to 3 places, lift to 2, Brier and calibration error to 4; the churn model first
    assert rows[:3] == [
        ["churn model", "0.862", "5.35", "0.0335", "0.0188", "1,116", "41"],
        ["rules health score", "0.719", "3.16", "0.0351", "0.0260", "1,116", "41"],
        ["baseline: key events, last 30 days", "0.743", "2.19", "0.0350", "0.0201", "1,116", "41"],
    ]
    assert "3 highest churn probabilities (90 days)" in text
    riskiest = rows[3:]
    # active accounts with a probability, highest first, each factor on its own line
    assert riskiest[:3] == [
        [
            "Top Risk Inc",
            "Mid-Market",
            "53.6%",
            "critical",
            "renews_within_horizon = 1.00 (+1.37)",
        ],
        ["", "", "", "", "key_events_per_active_day = 1.35 (+0.49)"],
        ["", "", "", "", "arr = 16960.00 (+0.48)"],
    ]
    assert [row[0] for row in riskiest if row[0]] == [
        "Top Risk Inc",
        "Second Risk GmbH",
        "Low Risk Ltd",
    ]
    assert ["Low Risk Ltd", "SMB", "1.2%", "low", "arr = 1000.00 (+0.10)"] in riskiest
    assert "Gone Co" not in text
    assert "Unscored AG" not in text


def test_without_a_trained_version_one_line_says_why() -> None:
    with churn_model_db(trained=False) as con:
        text = churn_section(con)
    assert text.strip().splitlines() == [
        "No churn model yet (month-end 2024-11-30): 49 churned observations known, 50 needed:"
        " the rules score stands alone."
    ]


def test_a_trained_version_not_yet_back_tested_still_lists_the_riskiest() -> None:
    with churn_model_db() as con:
        con.execute("delete from marts.rpt_churn_model_backtest")
        text = churn_section(con)
    assert "No out-of-time back-test yet." in text
    assert "Top Risk Inc" in text


def test_a_warehouse_without_the_churn_model_marts_prints_no_churn_section() -> None:
    with duckdb.connect() as con:
        assert portfolio_summary.churn_model_section(con) == []


def queue_section(con: duckdb.DuckDBPyConnection) -> str:
    console = Console(record=True, width=200)
    for part in portfolio_summary.csm_queue_section(con):
        console.print(part)
    return console.export_text()


def test_the_queue_counts_each_csms_open_actions_by_priority() -> None:
    with csm_actions_db() as con:
        text = queue_section(con)
    assert "CSM action queue on 2026-11-30: 8 open, 3 overdue" in text
    rows = table_rows(text)
    # CSM, high, medium, low, open, overdue, next due (of the actions not yet overdue)
    assert rows == [
        ["Ana", "4", "1", "1", "6", "2", "2026-12-01"],
        ["Zoe Ward", "0", "1", "0", "1", "0", "2026-12-02"],
        ["Unassigned", "1", "0", "0", "1", "1", "-"],
    ]


def test_a_csm_name_is_printed_as_text() -> None:
    with csm_actions_db() as con:
        con.execute("update marts.fct_csm_actions set csm_owner = '[red]Ana[/red]'")
        text = queue_section(con)
    assert "[red]Ana[/red]" in text


def test_without_open_actions_one_line_says_so() -> None:
    with csm_actions_db() as con:
        con.execute("delete from marts.fct_csm_actions where action_status = 'open'")
        text = queue_section(con)
    assert text.strip().splitlines() == ["CSM action queue: no open action on 2026-11-30."]


def test_a_warehouse_built_before_the_playbook_says_so_in_one_line() -> None:
    with duckdb.connect() as con:
        text = queue_section(con)
    assert text.strip().splitlines() == [
        "CSM action queue: not in this warehouse (no marts.fct_csm_actions: built before the"
        " playbook)."
    ]
