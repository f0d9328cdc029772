"""The portfolio summary's source freshness: the table, the stale line and the no-file line,
from hand-written `dbt source freshness` output."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import duckdb
import pytest
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
