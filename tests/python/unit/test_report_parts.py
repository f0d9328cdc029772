"""Unit tests of the report's pure parts: band lookup, account file names, the decision path
as questions, the score histogram's colors and the output directory swap."""

from __future__ import annotations

import datetime as dt
import decimal
import json
import math
from pathlib import Path

import pytest

from customer_health.decision_tree.dsl import parse_dag
from customer_health.report import charts
from customer_health.report.charts import band_for, score_distribution
from customer_health.report.data import Band
from customer_health.report.render import account_slugs, replace_directory, tree_path

PROJECT_DIR = Path(__file__).resolve().parents[3]
BANDS = [
    Band("healthy", "Healthy", "#22c55e", 1, 80.0, None),
    Band("needs_attention", "Needs attention", "#eab308", 2, 60.0, 80.0),
    Band("at_risk", "At risk", "#f97316", 3, 40.0, 60.0),
    Band("critical", "Critical", "#ef4444", 4, 0.0, 40.0),
    Band("insufficient_data", "Insufficient data", "#9ca3af", 5, None, None),
]


@pytest.mark.parametrize(
    ("score", "band_id"),
    [
        (0.0, "critical"),
        (39.9, "critical"),
        (40.0, "at_risk"),
        (59.99, "at_risk"),
        (60.0, "needs_attention"),
        (79.9, "needs_attention"),
        (80.0, "healthy"),
        (100.0, "healthy"),
    ],
)
def test_band_for_uses_closed_lower_and_open_upper_bounds(score: float, band_id: str) -> None:
    band = band_for(score, BANDS)
    assert band is not None
    assert band.band_id == band_id


def test_band_for_a_score_outside_every_band_is_none() -> None:
    assert band_for(-1.0, BANDS) is None


def test_score_histogram_bins_take_their_band_color() -> None:
    figure = score_distribution([12.0, 41.0, 44.0, 61.0, 99.0, 100.0], BANDS)
    (trace,) = figure["data"]
    colors: dict[str, int] = {}
    for color, count in zip(trace["marker"]["color"], trace["y"], strict=True):
        colors[color] = colors.get(color, 0) + count
    assert colors == {"#ef4444": 1, "#f97316": 2, "#eab308": 1, "#22c55e": 2}
    # 100 falls in the top bin, 95-100.
    assert trace["y"][-1] == 2


def test_account_slugs_are_unique_safe_file_names() -> None:
    ids = ["ACC-0001", "ACC/0001", "ACC 0001", "ACC_0001", "", "../etc"]
    slugs = account_slugs(ids)
    assert slugs["ACC-0001"] == "ACC-0001"
    assert len(set(slugs.values())) == len(ids)
    for slug in slugs.values():
        assert slug
        assert "/" not in slug
        assert " " not in slug
    # Stable: the same ids give the same names on the next run.
    assert account_slugs(ids) == slugs


def test_tree_path_gives_each_question_its_text_and_answer() -> None:
    tree = parse_dag((PROJECT_DIR / "seeds" / "cs-customer-health.dag").read_text())
    steps = tree_path(tree, "Q1:no>Q2:yes")
    assert [(step.question_id, step.answer) for step in steps] == [("Q1", "no"), ("Q2", "yes")]
    assert steps[0].question.startswith("Is the customer's product adoption rate above 60%")
    assert [step.question for step in tree_path(None, "Q1:no")] == [""]
    assert tree_path(tree, None) == []
    assert tree_path(tree, "") == []


def test_replace_directory_swaps_the_link_and_deletes_the_old_build(tmp_path: Path) -> None:
    out = tmp_path / "report"
    first = tmp_path / ".report-1"
    second = tmp_path / ".report-2"
    for built in (first, second):
        built.mkdir()
        (built / "index.html").write_text(built.name)
    replace_directory(out, first)
    assert (out / "index.html").read_text() == ".report-1"
    replace_directory(out, second)
    assert (out / "index.html").read_text() == ".report-2"
    assert not first.exists()


def test_replace_directory_leaves_a_real_directory_alone(tmp_path: Path) -> None:
    out = tmp_path / "report"
    out.mkdir()
    (out / "notes.txt").write_text("mine")
    built = tmp_path / ".report-1"
    built.mkdir()
    with pytest.raises(FileExistsError):
        replace_directory(out, built)
    assert (out / "notes.txt").read_text() == "mine"


def test_figure_json_holds_dates_and_decimals_and_cannot_close_its_script_element() -> None:
    spec = charts.figure(
        {"title": {"text": "</script><script>alert(1)</script>"}},
        {"x": [dt.date(2025, 1, 31)], "y": [decimal.Decimal("71.5")], "type": "scatter"},
    )
    text = charts.to_json(spec)
    assert "</" not in text
    assert json.loads(text) == {
        "data": [{"x": ["2025-01-31"], "y": [71.5], "type": "scatter"}],
        "layout": {"title": {"text": "</script><script>alert(1)</script>"}},
    }
    with pytest.raises(ValueError, match="JSON compliant"):
        charts.to_json(charts.figure({}, {"y": [math.nan]}))


def test_the_shared_template_is_one_script_for_every_page() -> None:
    script = charts.template_script()
    assert script.startswith("window.REPORT_TEMPLATE = {")
    template = json.loads(script.removeprefix("window.REPORT_TEMPLATE = ").rstrip(";\n"))
    assert template["layout"]["plot_bgcolor"] == "white"
    assert "template" not in charts.base_layout("x")
