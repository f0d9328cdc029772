"""The named selections of selectors.yml, and the commands that run them by default."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml

from customer_health.bench import cli as bench_cli
from customer_health.serving.publish import DAILY_SELECTOR, build_selection

PROJECT_DIR = Path(__file__).resolve().parents[3]


def selectors() -> dict[str, dict[str, Any]]:
    text = (PROJECT_DIR / "selectors.yml").read_text(encoding="utf-8")
    return {item["name"]: item for item in yaml.safe_load(text)["selectors"]}


def test_the_daily_selector_leaves_out_unit_tests_and_full_check_tests_only() -> None:
    definition = selectors()["daily"]["definition"]["union"]
    assert definition[0] == {"method": "fqn", "value": "*"}
    assert definition[1]["exclude"] == [
        {"method": "resource_type", "value": "unit_test"},
        {"method": "tag", "value": "full_check"},
    ]


def test_the_full_check_selects_every_node() -> None:
    assert selectors()["full_check"]["definition"] == {"method": "fqn", "value": "*"}


def test_publish_and_the_bench_run_the_daily_selector() -> None:
    assert DAILY_SELECTOR in selectors()
    assert bench_cli.DAILY_SELECTOR == DAILY_SELECTOR


@pytest.mark.parametrize(
    ("dbt_args", "added"),
    [
        ([], ["--selector", "daily"]),
        (["--vars", "{as_of_date: 2024-06-30}"], ["--selector", "daily"]),
        (["--selector", "full_check"], []),
        (["--select", "dim_account_health"], []),
        (["-s", "dim_account_health"], []),
        (["--select=dim_account_health"], []),
        (["--exclude", "tag:monthly"], []),
    ],
)
def test_publish_builds_the_daily_selector_unless_told_what_to_build(
    dbt_args: list[str], added: list[str]
) -> None:
    assert build_selection(dbt_args) == added
