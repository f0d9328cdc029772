"""Unit tests of the report's pure parts: band lookup, account file names, the decision path
as questions, the score histogram's colors, the output directory swap, which deletes or
replaces only what the report wrote, and the churn model section (its readers, calibration
chart and page)."""

from __future__ import annotations

import dataclasses
import datetime as dt
import decimal
import json
import math
import re
import shutil
from pathlib import Path
from typing import Any

import duckdb
import pytest
from churn_model_marts import churn_model_db
from csm_action_marts import add_csm_action_marts, csm_actions_db

from customer_health.decision_tree.dsl import parse_dag
from customer_health.report import charts
from customer_health.report import cli as report_cli
from customer_health.report.actions import (
    play_sections,
    queue_counts,
    queue_order,
    read_action_queue,
    read_play_effect,
    read_play_overviews,
    read_playbook,
)
from customer_health.report.charts import band_for, score_distribution
from customer_health.report.data import (
    Band,
    CalibrationDecile,
    HealthFlag,
    Portfolio,
    ReportSettings,
    account_events,
    read_account_flags,
    read_categories,
    read_categories_left_out,
    read_category_weights,
    read_churn_model,
    read_churn_model_backtest,
    read_churn_model_calibration,
    read_churn_model_status,
    read_churn_risk_accounts,
    read_expansion_backtest,
    read_expansion_candidates,
    read_histories,
    read_missing_data,
    read_new_red_flags,
    read_portfolio,
    read_unevaluated_flags,
)
from customer_health.report.render import (
    MISSING,
    REPORT_MARKER,
    ImmediateAction,
    NotOurReportError,
    account_slugs,
    build_directory,
    immediate_action,
    probability,
    render_report,
    replace_directory,
    tree_path,
)
from customer_health.summary import missing_data_table

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


def report_build(out: Path, minute: int, *, marker: bool = True) -> Path:
    """A build directory of the report at `out`, as the report command names it."""
    built = build_directory(out, dt.datetime(2026, 12, 1, 2, minute))
    built.mkdir()
    (built / "index.html").write_text(built.name)
    if marker:
        (built / REPORT_MARKER).write_text("")
    return built


def test_replace_directory_swaps_the_link_and_deletes_the_old_build(tmp_path: Path) -> None:
    out = tmp_path / "report"
    first = report_build(out, 1)
    second = report_build(out, 2)
    assert first.name == ".report-20261201T020100000000"
    replace_directory(out, first)
    assert (out / "index.html").read_text() == first.name
    replace_directory(out, second)
    assert (out / "index.html").read_text() == second.name
    assert not first.exists()


def test_replace_directory_leaves_a_real_directory_alone(tmp_path: Path) -> None:
    out = tmp_path / "report"
    out.mkdir()
    (out / "notes.txt").write_text("mine")
    built = report_build(out, 1)
    with pytest.raises(NotOurReportError, match="is a directory the report did not write"):
        replace_directory(out, built)
    assert (out / "notes.txt").read_text() == "mine"
    (out / "notes.txt").unlink()
    # An empty directory holds nothing to lose: the report takes its place.
    replace_directory(out, built)
    assert (out / "index.html").read_text() == built.name


def test_replace_directory_never_deletes_a_directory_the_report_did_not_write(
    tmp_path: Path,
) -> None:
    out = tmp_path / "report"
    site = tmp_path / "www" / "site"
    site.mkdir(parents=True)
    (site / "index.html").write_text("mine")
    out.symlink_to(site)
    built = report_build(out, 1)
    with pytest.raises(NotOurReportError, match=f"is a link to {site}, which the report did not"):
        replace_directory(out, built)
    assert out.resolve() == site.resolve()
    assert (site / "index.html").read_text() == "mine"
    # A sibling named like a build but without the report's marker: the link to it is
    # replaced, the directory stays.
    out.unlink()
    lookalike = report_build(out, 2, marker=False)
    out.symlink_to(lookalike.name)
    replace_directory(out, built)
    assert (out / "index.html").read_text() == built.name
    assert (lookalike / "index.html").read_text() == lookalike.name
    # Only a build of the report takes the place of the output.
    with pytest.raises(ValueError, match="is not a build of the report"):
        replace_directory(out, lookalike)


@pytest.mark.parametrize("kind", ["directory", "file", "link"])
def test_the_report_command_refuses_an_output_it_did_not_write(
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    kind: str,
) -> None:
    monkeypatch.setenv("COLUMNS", "400")
    database = tmp_path / "customer_health.duckdb"
    database.write_text("not read: the output is checked first")
    out = tmp_path / "report"
    mine = tmp_path / "mine"
    mine.mkdir()
    (mine / "notes.txt").write_text("mine")
    if kind == "directory":
        shutil.move(mine, out)
    elif kind == "file":
        out.write_text("mine")
    else:
        out.symlink_to(mine)
    before = sorted(str(p.relative_to(tmp_path)) for p in tmp_path.rglob("*"))
    assert report_cli.main(["--db", str(database), "--out", str(out)]) == 1
    err = capsys.readouterr().err
    assert f"Not written: {out} is a {kind}" in err
    assert "the report did not write" in err
    assert sorted(str(p.relative_to(tmp_path)) for p in tmp_path.rglob("*")) == before


def empty_portfolio(**changes: Any) -> Portfolio:
    """A portfolio page's data with no accounts, changed by ``changes``."""
    fields: dict[str, Any] = {
        "as_of_date": dt.date(2026, 11, 30),
        "release": {"release_id": "20261201T020000000000Z"},
        "bands": BANDS,
        "categories": [],
        "accounts": [],
        "band_mix": [],
        "fallers": [],
        "risers": [],
        "renewals_at_risk": [],
        "alerts": [],
        "alert_count": 0,
        "backtest_bands": [],
        "backtest_metrics": [],
        "tree": None,
    }
    return Portfolio(**{**fields, **changes})


def test_a_report_build_carries_the_marker_and_a_failed_one_is_removed(tmp_path: Path) -> None:
    portfolio = empty_portfolio()
    out = tmp_path / "report"
    built = build_directory(out, dt.datetime(2026, 12, 1, 2, 0))
    # the portfolio, the account list, the CSM queue and the plays
    assert render_report(built, portfolio, {}, {}, {}, dt.datetime(2026, 12, 1)) == 4
    assert (built / REPORT_MARKER).is_file()
    assert (built / "index.html").is_file()
    broken = build_directory(out, dt.datetime(2026, 12, 1, 2, 1))
    with pytest.raises(AttributeError):
        render_report(broken, None, {}, {}, {}, dt.datetime(2026, 12, 1))  # type: ignore[arg-type]
    assert not broken.exists()
    # A directory that exists already is not the report's to write into, nor to delete.
    with pytest.raises(FileExistsError):
        render_report(built, portfolio, {}, {}, {}, dt.datetime(2026, 12, 1))
    assert (built / "index.html").is_file()


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


def availability_db() -> duckdb.DuckDBPyConnection:
    con = duckdb.connect()
    con.execute("create schema marts")
    con.execute(
        """
        create table marts.rpt_signal_availability as
        select * from (values
            ('usage', 'Product usage', 1, 'feature_breadth_rate', 2, true, null, null),
            ('adoption', 'Adoption depth', 2, 'integration_count', 5, false,
                'product.feature_usage_daily, product.features.integration',
                'daily feature usage; integration features'),
            ('adoption', 'Adoption depth', 2, 'feature_breadth_rate_2', 2, false,
                'product.feature_usage_daily', 'daily feature usage'),
            ('support', 'Support & sentiment', 4, 'open_ticket_count', 1, false,
                'support.tickets', 'support tickets')
        ) as t(category_id, category_label, category_order, signal_name, signal_order,
               is_available, missing_requirements, missing_data)
        """
    )
    return con


def test_missing_data_groups_the_signals_each_missing_source_would_add() -> None:
    with availability_db() as con:
        missing = read_missing_data(con)
        left_out = read_categories_left_out(con)
        table = missing_data_table(con)
    assert [m.requirement for m in missing] == [
        "product.feature_usage_daily",
        "product.features.integration",
        "support.tickets",
    ]
    assert missing[0].description == "daily feature usage"
    assert missing[0].signals == ("feature_breadth_rate_2", "integration_count")
    assert missing[0].categories == ("Adoption depth",)
    assert missing[1].signals == ("integration_count",)
    # a category none of whose signals is available is left out of every score
    assert left_out == ["Adoption depth", "Support & sentiment"]
    assert table is not None
    assert table.row_count == 3
    assert "Left out of every score: Adoption depth, Support & sentiment" in str(table.caption)


def test_no_missing_data_table_when_every_signal_has_its_data() -> None:
    with duckdb.connect() as con:
        assert read_missing_data(con) == []
        assert missing_data_table(con) is None
        con.execute("create schema marts")
        con.execute(
            "create table marts.rpt_signal_availability as select 'usage' as category_id,"
            " 'Product usage' as category_label, 1 as category_order, 'x' as signal_name,"
            " 1 as signal_order, true as is_available, null as missing_requirements,"
            " null as missing_data"
        )
        assert read_missing_data(con) == []
        assert read_categories_left_out(con) == []


def test_the_portfolio_page_lists_the_missing_data_and_the_baseline(tmp_path: Path) -> None:
    with availability_db() as con:
        missing = read_missing_data(con)
        left_out = read_categories_left_out(con)
    portfolio = empty_portfolio(
        backtest_bands=[
            {
                "assessment_value": "healthy",
                "assessment_label": "Healthy",
                "assessment_color": "#22c55e",
                "band_rank": 1,
                "observations": 10,
                "churned_observations": 2,
                "churn_rate": 0.2,
                "share_of_observations": 1.0,
            }
        ],
        backtest_metrics=[
            {
                "predictor": "health_score",
                "churn_auc": 0.8,
                "top_risk_lift": 3.0,
                "observations": 10,
                "churned_observations": 2,
                "is_below_auc_floor": False,
            },
            {
                "predictor": "key_events_30d",
                "churn_auc": 0.7,
                "top_risk_lift": 2.0,
                "observations": 10,
                "churned_observations": 2,
                "is_below_auc_floor": False,
            },
        ],
        missing_data=missing,
        categories_left_out=left_out,
    )
    built = build_directory(tmp_path / "report", dt.datetime(2026, 12, 1, 2, 0))
    render_report(built, portfolio, {}, {}, {}, dt.datetime(2026, 12, 1))
    page = (built / "index.html").read_text()
    assert "Data the score does not have" in page
    assert "support tickets" in page
    assert (
        "Left out of every score (no data source): Adoption depth, Support &amp; sentiment" in page
    )
    assert "baseline: key events, last 30 days" in page


def test_the_churn_model_readers_take_the_last_version_and_sort_the_models() -> None:
    with churn_model_db() as con:
        status = read_churn_model_status(con)
        portfolio_rows = read_churn_model_backtest(con, "all")
        every_row = read_churn_model_backtest(con)
        calibration = read_churn_model_calibration(con)
        accounts = read_churn_risk_accounts(con, limit=2)
        model = read_churn_model(con, accounts=10)
    assert status is not None
    assert status.is_trained
    assert status.version_date == dt.date(2025, 5, 31)
    assert (status.training_observations, status.training_churned) == (5138, 115)
    assert status.feature_count == 38
    assert [row.model_name for row in portfolio_rows] == [
        "churn_model",
        "health_score",
        "key_events_30d",
    ]
    assert portfolio_rows[0].churn_auc == pytest.approx(0.86169)
    assert portfolio_rows[2].label == "baseline: key events, last 30 days"
    # the portfolio first, then the segments by name, each in model order
    assert [(row.segment, row.model_name) for row in every_row][:4] == [
        ("all", "churn_model"),
        ("all", "health_score"),
        ("all", "key_events_30d"),
        ("Enterprise", "churn_model"),
    ]
    # calibration of the portfolio only, by model then decile
    assert [(d.model_name, d.decile) for d in calibration[:2]] == [
        ("churn_model", 1),
        ("churn_model", 2),
    ]
    assert len(calibration) == 20
    assert calibration[9].mean_predicted_probability == pytest.approx(0.10)
    assert calibration[9].observed_churn_rate == pytest.approx(0.20)
    # active and scored accounts only, riskiest first; factors one per item
    assert [a.account_id for a in accounts] == ["acc_2", "acc_4"]
    assert accounts[0].risk_factors == (
        "renews_within_horizon = 1.00 (+1.37)",
        "key_events_per_active_day = 1.35 (+0.49)",
        "arr = 16960.00 (+0.48)",
    )
    assert accounts[1].risk_factors == ()
    assert model is not None
    assert [a.account_id for a in model.risk_accounts] == ["acc_2", "acc_4", "acc_1"]
    # segments are shown only with enough churned observations
    assert [(m.segment, m.model_name) for m in model.segment_metrics] == [
        ("SMB", "churn_model"),
        ("SMB", "health_score"),
        ("SMB", "key_events_30d"),
    ]


def test_without_a_trained_version_the_churn_model_says_why() -> None:
    with churn_model_db(trained=False) as con:
        model = read_churn_model(con)
    assert model is not None
    assert not model.status.is_trained
    assert model.status.version_date == dt.date(2024, 11, 30)
    assert model.status.reason == (
        "49 churned observations known, 50 needed: the rules score stands alone"
    )
    assert (model.backtest, model.calibration, model.risk_accounts) == ([], [], [])


def test_a_warehouse_without_the_churn_model_marts_has_no_churn_model() -> None:
    with duckdb.connect() as con:
        con.execute("create schema marts")
        con.execute("create table marts.dim_account_health as select 'acc_1' as account_id")
        assert read_churn_model(con) is None
        assert read_churn_model_backtest(con) == []
        assert read_churn_model_calibration(con) == []
        assert read_churn_risk_accounts(con) == []
    # before the first month-end the versions mart is empty
    with churn_model_db(trained=False) as con:
        con.execute("delete from marts.rpt_churn_model_versions")
        status = read_churn_model_status(con)
    assert status is not None
    assert status.status == "no_month_end"
    assert status.reason.endswith("the rules score stands alone")


def test_the_calibration_chart_draws_each_models_deciles_over_the_diagonal() -> None:
    with churn_model_db() as con:
        deciles = read_churn_model_calibration(con)
    # in any order: the chart sorts by model and decile
    figure = charts.churn_calibration(list(reversed(deciles)))
    diagonal, model, rules = figure["data"]
    assert diagonal["name"] == "calibrated"
    # the diagonal reaches the largest probability or rate shown
    assert diagonal["x"] == diagonal["y"] == [0.0, pytest.approx(0.20)]
    assert model["name"] == "churn model"
    assert model["x"] == pytest.approx([d / 100 for d in range(1, 11)])
    assert model["y"] == pytest.approx([2 * d / 100 for d in range(1, 11)])
    assert [row[0] for row in model["customdata"]] == list(range(1, 11))
    assert rules["name"] == "rules health score"
    assert rules["x"] == pytest.approx([0.03] * 10)
    assert rules["y"] == pytest.approx([d / 100 for d in range(1, 11)])
    assert model["line"]["width"] > rules["line"]["width"]
    assert figure["layout"]["xaxis"]["tickformat"] == ".0%"
    # an unknown model still gets a line, after the known ones
    extra = CalibrationDecile("other", 1, 10, 1, 0.1, 0.1)
    names = [t["name"] for t in charts.churn_calibration([extra, *deciles])["data"]]
    assert names == ["calibrated", "churn model", "rules health score", "other"]
    json.loads(charts.to_json(figure))


def portfolio_page(tmp_path: Path, portfolio: Portfolio) -> str:
    built = build_directory(tmp_path / "report", dt.datetime(2026, 12, 1, 2, 0))
    render_report(built, portfolio, {}, {}, {}, dt.datetime(2026, 12, 1))
    return (built / "index.html").read_text()


def test_the_portfolio_page_compares_the_churn_model_and_lists_the_riskiest(
    tmp_path: Path,
) -> None:
    with churn_model_db() as con:
        model = read_churn_model(con)
    page = portfolio_page(tmp_path, empty_portfolio(churn_model=model))
    section = page[page.index('id="churn-model"') : page.index('id="missing-data"')]
    assert "Version in force: <strong>2025-05-31</strong>, trained on 5,138 observations" in section
    assert "(115 churned) of month-ends 2024-01-31 to 2025-02-28, 38 features" in section
    # AUC to 3 places, lift to 2, Brier and calibration error to 4
    for value in ("0.862", "5.35", "0.0335", "0.0188", "0.719", "3.16", "0.0351", "0.0260"):
        assert f'<td class="num">{value}</td>' in section, value
    assert "baseline: key events, last 30 days" in section
    assert 'data-chart="churn_calibration"' in section
    figure = json.loads(section.split('id="figure-churn_calibration">')[1].split("</script>")[0])
    assert [trace["name"] for trace in figure["data"]] == [
        "calibrated",
        "churn model",
        "rules health score",
    ]
    # per segment: SMB has enough churned observations, Enterprise has none
    per_segment = section[section.index("Per segment") : section.index('id="churn-risk"')]
    assert per_segment.count("<td>SMB</td>") == 3
    assert "Enterprise" not in per_segment
    risky = section[section.index('id="churn-risk"') :]
    assert risky.index("Top Risk Inc") < risky.index("Second Risk GmbH") < risky.index("Low")
    assert '<td class="num">53.6%</td>' in risky
    assert '<td class="num">1.2%</td>' in risky
    assert "<li>key_events_per_active_day = 1.35 (+0.49)</li>" in risky
    assert "Gone Co" not in risky


def test_the_portfolio_page_says_why_there_is_no_churn_model(tmp_path: Path) -> None:
    with churn_model_db(trained=False) as con:
        model = read_churn_model(con)
    page = portfolio_page(tmp_path, empty_portfolio(churn_model=model))
    section = page[page.index('id="churn-model"') : page.index('id="missing-data"')]
    assert (
        "No churn model yet (month-end 2024-11-30): 49 churned observations known, 50 needed:"
        " the rules score stands alone." in section
    )
    assert "churn_calibration" not in section
    assert "<table>" not in section
    # a release built before the churn model marts
    page = portfolio_page(tmp_path / "old", empty_portfolio())
    assert "No churn model in this release." in page


# The account assessment: red flags and green lights, the flags the deployment cannot
# evaluate, the expansion score and its back-test, on a few hand-made accounts scored on
# 2026-11-30 (acc_4 has no active contract: its last score is 2026-10-31).
AS_OF = dt.date(2026, 11, 30)
CATEGORIES = (
    ("usage", "Product usage", 1),
    ("adoption", "Adoption depth", 2),
    ("lifecycle", "Lifecycle", 3),
    ("support", "Support & sentiment", 4),
    ("commercial", "Commercial", 5),
)
DIM_COLUMNS = {
    "account_id": "varchar",
    "account_name": "varchar",
    "segment": "varchar",
    "csm_owner": "varchar",
    "lifecycle_stage": "varchar",
    "health_band": "varchar",
    "computed_health_band": "varchar",
    "trend": "varchar",
    "trend_arrow": "varchar",
    "tree_outcome_label": "varchar",
    "tree_decision_path": "varchar",
    "tree_recommended_action": "varchar",
    "tree_data_gaps": "varchar",
    "weakest_category": "varchar",
    "top_change_category": "varchar",
    "health_score": "double",
    "computed_health_score": "double",
    "score_change_30d": "double",
    "top_change_points": "double",
    "score_coverage": "double",
    **{f"{c}_{part}": "double" for c, _, _ in CATEGORIES for part in ("score", "contribution")},
    "arr": "double",
    "licensed_seats": "integer",
    "days_to_renewal": "integer",
    "is_overridden": "boolean",
    "is_active": "boolean",
    "renewal_date": "date",
    "score_date": "date",
    "as_of_date": "date",
    "churn_model_status": "varchar",
    "churn_probability_90d": "double",
    "churn_risk_level": "varchar",
    "churn_risk_factors": "varchar",
}
# dim_account_health's columns of the assessment (absent from an older warehouse)
ASSESSMENT_COLUMNS = {
    "red_flag_count": "integer",
    "green_light_count": "integer",
    "new_red_flag_count": "integer",
    "max_red_flag_severity": "varchar",
    "red_flags": "varchar",
    "green_lights": "varchar",
    "flags_not_evaluated": "varchar",
    "expansion_level": "varchar",
    "expansion_level_label": "varchar",
    "expansion_score": "double",
    "expansion_potential_arr": "double",
    "expansion_basis": "varchar",
    "expansion_signals": "varchar",
}
# sub-scores (usage, adoption, lifecycle, support, commercial) and weights in percent
SCORES = (40.0, 60.0, 80.0, 50.0, 30.0)
WEIGHTS = (30.0, 20.0, 15.0, 20.0, 15.0)


def account_row(account_id: str, name: str, **changes: Any) -> dict[str, Any]:
    row: dict[str, Any] = {
        "account_id": account_id,
        "account_name": name,
        "segment": "SMB",
        "csm_owner": "Ana",
        "lifecycle_stage": "established",
        "health_band": "at_risk",
        "computed_health_band": "at_risk",
        "trend": "down",
        "trend_arrow": "↓",
        "tree_outcome_label": "At Risk (Orange)",
        "tree_decision_path": "Q1:no",
        "tree_recommended_action": "Book a recovery call this week.",
        "tree_data_gaps": None,
        "weakest_category": "commercial",
        "top_change_category": "usage",
        "health_score": 50.5,
        "computed_health_score": 50.5,
        "score_change_30d": -6.2,
        "top_change_points": -4.0,
        "score_coverage": 1.0,
        "arr": 24000.0,
        "licensed_seats": 25,
        "days_to_renewal": 120,
        "is_overridden": False,
        "is_active": True,
        "renewal_date": dt.date(2027, 3, 30),
        "score_date": AS_OF,
        "as_of_date": AS_OF,
        "churn_model_status": "scored",
        "churn_probability_90d": 0.02,
        "churn_risk_level": "low",
        "churn_risk_factors": None,
        "red_flag_count": 0,
        "green_light_count": 0,
        "new_red_flag_count": 0,
        "max_red_flag_severity": None,
        "red_flags": None,
        "green_lights": None,
        "flags_not_evaluated": "Critical tickets open; Tickets decreasing",
        "expansion_level": "low",
        "expansion_level_label": "Low",
        "expansion_score": 10.0,
        "expansion_potential_arr": 0.0,
        "expansion_basis": "no expansion signal",
        "expansion_signals": None,
    }
    for (category, _, _), score, weight in zip(CATEGORIES, SCORES, WEIGHTS, strict=True):
        row[f"{category}_score"] = score
        row[f"{category}_contribution"] = round(score * weight / 100, 2)
    return {**row, **changes}


ACCOUNTS = [
    account_row(
        "acc_1",
        "Alpha Ltd",
        churn_probability_90d=0.53592,
        churn_risk_level="critical",
        churn_risk_factors="renews_within_horizon = 1.00 (+1.37); arr = 16960.00 (+0.48)",
        red_flag_count=2,
        green_light_count=1,
        new_red_flag_count=1,
        max_red_flag_severity="high",
        expansion_score=20.0,
    ),
    account_row(
        "acc_2",
        "Beta <b>Co</b>",
        red_flag_count=2,
        new_red_flag_count=2,
        max_red_flag_severity="high",
        expansion_level="high",
        expansion_level_label="High",
        expansion_score=80.0,
        expansion_potential_arr=12000.0,
        expansion_basis="20% of ARR at a high level",
        expansion_signals="Seats near their limit (24 of 25 seats active); Usage growing",
    ),
    account_row(
        "acc_3",
        "Gamma GmbH",
        churn_model_status="no_model",
        churn_probability_90d=None,
        churn_risk_level=None,
        red_flag_count=1,
        new_red_flag_count=1,
        max_red_flag_severity="medium",
        expansion_level="high",
        expansion_level_label="High",
        expansion_score=80.0,
        expansion_potential_arr=20000.0,
    ),
    account_row(
        "acc_4",
        "Gone Co",
        is_active=False,
        score_date=dt.date(2026, 10, 31),
        red_flag_count=1,
        new_red_flag_count=1,
        max_red_flag_severity="high",
        expansion_score=99.0,
    ),
]

# account, score date, flag, type, category, severity, label, evidence, first held, is new
FLAGS = [
    ("acc_1", AS_OF, "license_waste", "red_flag", "adoption", "medium", "License waste",
        "3 of 25 seats active in 30 days (12%)", dt.date(2026, 9, 1), False),
    ("acc_1", AS_OF, "declining_usage", "red_flag", "usage", "high", "Declining usage",
        "user-days down 40% in 30 days (60 vs 100 the 30 days before)",
        dt.date(2026, 11, 25), True),
    ("acc_1", AS_OF, "promoter_nps", "green_light", "support", "medium", "Promoter NPS",
        "NPS 9 on 2026-10-02", dt.date(2026, 10, 2), False),
    # the day before: no longer shown
    ("acc_1", dt.date(2026, 11, 29), "contraction", "red_flag", "commercial", "high",
        "Contraction", "yesterday's evidence", dt.date(2026, 11, 29), True),
    ("acc_2", AS_OF, "core_feature_unused", "red_flag", "usage", "medium",
        "Core feature unused", "core feature '<Reports & Co>' unused for 45 days",
        dt.date(2026, 11, 29), True),
    ("acc_2", AS_OF, "late_payment", "red_flag", "commercial", "high", "Late payment",
        "2 invoices past their due date and unpaid", dt.date(2026, 11, 28), True),
    ("acc_3", AS_OF, "executive_sponsor_missing", "red_flag", "commercial", "medium",
        "Executive sponsor missing", "no executive sponsor on record",
        dt.date(2026, 11, 20), True),
    # no active contract: not among the new red flags
    ("acc_4", dt.date(2026, 10, 31), "champion_left", "red_flag", "commercial", "high",
        "Champion left", "champion left 3 days ago", dt.date(2026, 10, 29), True),
]  # fmt: skip

# flag, type, category, severity, label, is evaluated, missing data
FLAG_RULES = [
    ("declining_usage", "red_flag", "usage", "high", "Declining usage", True, None),
    ("critical_tickets_open", "red_flag", "support", "high", "Critical tickets open", False,
        "support tickets"),
    ("tickets_decreasing", "green_light", "support", "low", "Tickets decreasing", False,
        "support tickets"),
]  # fmt: skip

# level, observations, expanded, churned, contracted (segment 'all'), out of order
EXPANSION_BACKTEST = [
    ("high", 200, 50, 4, 6),
    ("all", 1000, 100, 40, 60),
    ("low", 500, 20, 30, 40),
    ("medium", 300, 30, 6, 14),
]


def create_table(
    con: duckdb.DuckDBPyConnection, name: str, columns: dict[str, str], rows: list[tuple[Any, ...]]
) -> None:
    con.execute(f"create table {name} ({', '.join(f'{c} {t}' for c, t in columns.items())})")
    if rows:
        marks = ", ".join("?" for _ in columns)
        con.executemany(f"insert into {name} values ({marks})", [list(row) for row in rows])


def assessment_db(*, assessment: bool = True) -> duckdb.DuckDBPyConnection:
    """The marts the report reads; without `assessment`, a warehouse built before the red
    flags, green lights and expansion marts (and without their dim_account_health columns)."""
    con = duckdb.connect()
    con.execute("create schema marts")
    con.execute("create schema config")
    create_table(
        con,
        "config.health_bands",
        {
            "band_id": "varchar",
            "band_label": "varchar",
            "band_color": "varchar",
            "band_rank": "integer",
            "lower_bound": "double",
            "upper_bound": "double",
        },
        [(b.band_id, b.label, b.color, b.rank, b.lower, b.upper) for b in BANDS],
    )
    create_table(
        con,
        "config.health_categories",
        {"category_id": "varchar", "category_label": "varchar", "sort_order": "integer"},
        list(CATEGORIES),
    )
    columns = {**DIM_COLUMNS, **(ASSESSMENT_COLUMNS if assessment else {})}
    create_table(
        con,
        "marts.dim_account_health",
        columns,
        [tuple(account[c] for c in columns) for account in ACCOUNTS],
    )
    daily_columns = {
        "account_id": "varchar",
        "score_date": "date",
        "health_score": "double",
        "health_band": "varchar",
    }
    for category, _, _ in CATEGORIES:
        daily_columns[f"{category}_weight"] = "double"
        daily_columns[f"{category}_contribution"] = "double"
    daily: list[tuple[Any, ...]] = []
    for account in ACCOUNTS:
        for days_before, weights in ((1, (0.2,) * 5), (0, [w / 100 for w in WEIGHTS])):
            row: list[Any] = [
                account["account_id"],
                account["score_date"] - dt.timedelta(days=days_before),
                account["health_score"],
                account["health_band"],
            ]
            for (category, _, _), weight in zip(CATEGORIES, weights, strict=True):
                row += [weight, account[f"{category}_contribution"]]
            daily.append(tuple(row))
    create_table(con, "marts.fct_account_health_daily", daily_columns, daily)
    con.execute(
        "create table marts.rpt_portfolio_health_weekly as select date '2026-11-23' as"
        " week_start_date, 'at_risk' as health_band, 3 as account_count"
    )
    con.execute(
        "create table marts.fct_health_alerts (account_id varchar, alert_date date,"
        " alert_type varchar, health_band varchar, health_score double, alert_detail varchar)"
    )
    con.execute(
        "create table marts.fct_health_band_transitions (account_id varchar,"
        " transition_date date, from_band varchar, to_band varchar, from_score double,"
        " to_score double)"
    )
    if not assessment:
        return con
    create_table(
        con,
        "marts.fct_account_health_flags",
        {
            "account_id": "varchar",
            "score_date": "date",
            "flag_id": "varchar",
            "flag_type": "varchar",
            "category_id": "varchar",
            "severity": "varchar",
            "severity_rank": "integer",
            "flag_label": "varchar",
            "evidence": "varchar",
            "first_held_date": "date",
            "days_held": "integer",
            "is_new": "boolean",
        },
        [
            (
                account_id,
                score_date,
                flag_id,
                flag_type,
                category,
                severity,
                {"high": 3, "medium": 2, "low": 1}[severity],
                label,
                evidence,
                first_held,
                (score_date - first_held).days + 1,
                is_new,
            )
            for (
                account_id,
                score_date,
                flag_id,
                flag_type,
                category,
                severity,
                label,
                evidence,
                first_held,
                is_new,
            ) in FLAGS
        ],
    )
    create_table(
        con,
        "marts.rpt_health_flags",
        {
            "flag_id": "varchar",
            "flag_type": "varchar",
            "category_id": "varchar",
            "severity": "varchar",
            "flag_label": "varchar",
            "is_evaluated": "boolean",
            "missing_data": "varchar",
        },
        FLAG_RULES,
    )
    create_table(
        con,
        "marts.rpt_expansion_backtest",
        {
            "segment": "varchar",
            "expansion_level": "varchar",
            "observations": "bigint",
            "expanded_observations": "bigint",
            "expansion_rate": "double",
            "churned_observations": "bigint",
            "churn_rate": "double",
            "contracted_observations": "bigint",
            "contraction_rate": "double",
            "expansion_auc": "double",
            "health_score_expansion_auc": "double",
            "has_enough_expanded": "boolean",
            "first_as_of_date": "date",
            "last_as_of_date": "date",
        },
        [
            (
                segment,
                level,
                n,
                expanded,
                expanded / n,
                churned,
                churned / n,
                contracted,
                contracted / n,
                auc,
                0.58123,
                True,
                dt.date(2025, 1, 31),
                dt.date(2026, 8, 31),
            )
            for segment, auc in (("all", 0.71234), ("SMB", 0.6))
            for level, n, expanded, churned, contracted in EXPANSION_BACKTEST
        ],
    )
    return con


def read_assessment_report(
    tmp_path: Path, *, assessment: bool = True
) -> tuple[Portfolio, dict[str, str]]:
    """The portfolio read from the marts, and the pages written from it by name (`index`
    and each account id)."""
    with assessment_db(assessment=assessment) as con:
        alerts, transitions = account_events(con)
        portfolio = read_portfolio(con, ReportSettings(), alerts)
        histories = read_histories(con, portfolio.categories)
    built = build_directory(tmp_path / "report", dt.datetime(2026, 12, 1, 2, 0))
    render_report(built, portfolio, histories, alerts, transitions, dt.datetime(2026, 12, 1))
    pages = {"index": (built / "index.html").read_text()}
    for account in ACCOUNTS:
        pages[account["account_id"]] = (
            built / "accounts" / f"{account['account_id']}.html"
        ).read_text()
    return portfolio, pages


def section(page: str, section_id: str) -> str:
    """The HTML of the `<section id=...>` or dimension `<div id=...>` named."""
    start = page.index(f'id="{section_id}"')
    ends = [page.find(end, start) for end in ("</section>", '<div class="dimension"')]
    return page[start : min(end for end in ends if end > start)]


def test_the_assessment_readers_take_each_accounts_last_scored_day() -> None:
    with assessment_db() as con:
        flags = read_account_flags(con)
        new = read_new_red_flags(con)
        top_two = read_new_red_flags(con, limit=2)
        unevaluated = read_unevaluated_flags(con)
        candidates = read_expansion_candidates(con)
        backtest = read_expansion_backtest(con)
        weights = read_category_weights(con, read_categories(con))
    assert flags is not None
    # red flags first, most severe first; the day before the last is not read
    assert [f.flag_id for f in flags["acc_1"]] == [
        "declining_usage",
        "license_waste",
        "promoter_nps",
    ]
    assert flags["acc_1"][0].evidence == (
        "user-days down 40% in 30 days (60 vs 100 the 30 days before)"
    )
    assert flags["acc_1"][0].first_held_date == dt.date(2026, 11, 25)
    assert [f.flag_id for f in flags["acc_4"]] == ["champion_left"]
    # new red flags of the active accounts: severity, then the newest, then the account
    assert new is not None
    assert [(f.account_id, f.flag_id) for f in new] == [
        ("acc_2", "late_payment"),
        ("acc_1", "declining_usage"),
        ("acc_2", "core_feature_unused"),
        ("acc_3", "executive_sponsor_missing"),
    ]
    assert new[0].account_name == "Beta <b>Co</b>"
    assert top_two is not None
    assert [f.flag_id for f in top_two] == ["late_payment", "declining_usage"]
    assert unevaluated is not None
    assert [(f.flag_id, f.category_id, f.missing_data) for f in unevaluated] == [
        ("critical_tickets_open", "support", "support tickets"),
        ("tickets_decreasing", "support", "support tickets"),
    ]
    # active accounts only, by score then potential ARR
    assert candidates is not None
    assert [c["account_id"] for c in candidates] == ["acc_3", "acc_2", "acc_1"]
    assert backtest is not None
    assert [row.expansion_level for row in backtest] == ["low", "medium", "high", "all"]
    assert {row.segment for row in backtest} == {"all"}
    assert backtest[2].expansion_rate == pytest.approx(0.25)
    assert backtest[3].expansion_auc == pytest.approx(0.71234)
    # the weights of the dim's score date (the day before they were 0.2 each)
    assert weights["acc_1"] == pytest.approx(
        {"usage": 0.3, "adoption": 0.2, "lifecycle": 0.15, "support": 0.2, "commercial": 0.15}
    )
    assert weights["acc_4"]["usage"] == pytest.approx(0.3)


def test_the_effective_weights_are_read_from_the_dim_when_it_has_them() -> None:
    with assessment_db() as con:
        con.execute(
            "create or replace table marts.dim_account_health as select *,"
            " 0.5 as usage_effective_weight from marts.dim_account_health"
        )
        weights = read_category_weights(con, read_categories(con))
        con.execute("drop table marts.fct_account_health_daily")
        con.execute("create table marts.fct_account_health_daily as select 'acc_1' as account_id")
        con.execute(
            "create or replace table marts.dim_account_health as"
            " select * exclude (usage_effective_weight) from marts.dim_account_health"
        )
        assert read_category_weights(con, read_categories(con)) == {}
    assert weights["acc_2"] == {"usage": 0.5}


def test_immediate_action_names_the_high_severity_red_flags_and_the_churn_risk() -> None:
    flag = HealthFlag(
        "acc_1", "declining_usage", "red_flag", "usage", "high", 3, "Declining usage",
        None, None, None, True,
    )  # fmt: skip
    medium = HealthFlag(
        "acc_1", "license_waste", "red_flag", "adoption", "medium", 2, "License waste",
        None, None, None, False,
    )  # fmt: skip
    green = HealthFlag(
        "acc_1", "promoter_nps", "green_light", "support", "high", 3, "Promoter NPS",
        None, None, None, False,
    )  # fmt: skip
    critical = {"churn_risk_level": "critical", "churn_probability_90d": 0.5}
    low = {"churn_risk_level": "low", "churn_probability_90d": 0.01}
    assert immediate_action(critical, [flag, medium]) == ImmediateAction(
        True,
        (
            "high-severity red flag: Declining usage",
            "churn risk level critical (50.0% in 90 days)",
        ),
    )
    assert immediate_action(low, [flag]).reasons == ("high-severity red flag: Declining usage",)
    assert immediate_action({**low, "churn_risk_level": "high"}, []).required
    # a high-severity green light calls for nothing
    assert immediate_action(low, [medium, green]) == ImmediateAction(
        False, ("no high-severity red flag", "churn risk level low (1.0% in 90 days)")
    )
    assert immediate_action({"churn_risk_level": None}, []) == ImmediateAction(
        False, ("no high-severity red flag", "no churn probability yet")
    )
    # without the flags mart: the dim's most severe red flag
    assert immediate_action({"max_red_flag_severity": "high"}, None).required
    assert immediate_action({}, None).required is None


def test_the_account_page_is_the_account_review(tmp_path: Path) -> None:
    _, pages = read_assessment_report(tmp_path)
    page = pages["acc_1"]
    # the review's order
    order = [
        'id="summary"',
        'id="dimensions"',
        'id="churn-risk"',
        'id="expansion"',
        'id="decision-tree"',
        'id="chart-score_history"',
        "<h2>Alerts</h2>",
        "<h2>Band changes</h2>",
    ]
    assert [page.index(part) for part in order] == sorted(page.index(part) for part in order)
    summary = section(page, "summary")
    assert "Immediate action required: <strong>Yes</strong>: high-severity red flag:" in summary
    assert "Declining usage; churn risk level critical (53.6% in 90 days)" in summary
    assert "↓ -6.2" in summary
    assert '<span class="chip" style="--band: #f97316">At risk</span>' in summary
    assert '<span class="value">2</span><span class="label">red flags (1 new)</span>' in summary
    assert '<span class="value">1</span><span class="label">green lights</span>' in summary
    # each category's sub-score x its effective weight = its points
    assert (
        '<td>Product usage</td>\n        <td class="num">40.0</td>\n'
        '        <td class="num">30.0%</td>\n        <td class="num">12.0</td>'
    ) in summary
    assert '<td class="num">15.0%</td>\n        <td class="num">4.5</td>' in summary
    # evidence under its category, with severity and since
    usage = section(page, "dimension-usage")
    assert "1. Product usage: 40.0" in usage
    assert "Sub-score 40.0 \u00d7 weight 30.0% = 12.0 points" in usage
    assert '<span class="severity severity-high">high</span>' in usage
    assert '<strong>Declining usage</strong>: <span class="evidence">user-days down 40%' in usage
    assert "since 2026-11-25 (6 days)" in usage
    assert '<span class="new">new</span>' in usage
    assert "License waste" not in usage
    assert "yesterday&#39;s evidence" not in page
    adoption = section(page, "dimension-adoption")
    assert "3 of 25 seats active in 30 days (12%)" in adoption
    assert "since 2026-09-01" in adoption
    support = section(page, "dimension-support")
    assert '<strong>Promoter NPS</strong>: <span class="evidence">NPS 9 on 2026-10-02' in support
    assert "No red flag." in support
    # each flag the deployment cannot evaluate, once, under its category
    line = "Not evaluated: Critical tickets open (missing: support tickets)"
    assert page.count(line) == 1
    assert line in support
    assert "Not evaluated: Tickets decreasing (missing: support tickets)" in support
    commercial = section(page, "dimension-commercial")
    assert '<span class="warn">weakest</span>' in commercial
    assert "No red flag." in commercial
    churn = section(page, "churn-risk")
    assert "Churn probability (90 days): <strong>53.6%</strong>" in churn
    assert '<span class="risk risk-critical">critical</span>' in churn
    assert "<li>renews_within_horizon = 1.00 (+1.37)</li>" in churn
    expansion = section(page, "expansion")
    assert "Expansion potential: <strong>$0</strong>" in expansion
    assert "expansion score 20.0 of 100" in expansion
    assert "Recommended action:</strong> Book a recovery call this week." in page


def test_the_account_review_escapes_and_says_what_is_not_known(tmp_path: Path) -> None:
    _, pages = read_assessment_report(tmp_path)
    beta = pages["acc_2"]
    assert "Beta &lt;b&gt;Co&lt;/b&gt;" in beta
    assert "<b>Co</b>" not in beta
    assert "core feature &#39;&lt;Reports &amp; Co&gt;&#39; unused for 45 days" in beta
    assert "<Reports" not in beta
    summary = section(beta, "summary")
    # what to do: the decision tree's action; a low churn risk is no reason
    assert (
        "<strong>Yes</strong>: high-severity red flag: Late payment<br>"
        '<span class="next-action">Next action: Book a recovery call this week.</span></p>'
    ) in summary
    expansion = section(beta, "expansion")
    assert "Expansion potential: <strong>$12,000</strong>" in expansion
    assert '<span class="level level-high">High</span>' in expansion
    assert "Basis: 20% of ARR at a high level" in expansion
    assert "<li>Seats near their limit (24 of 25 seats active)</li>" in expansion
    gamma = pages["acc_3"]
    assert (
        "Immediate action required: <strong>No</strong>: no high-severity red flag;"
        " no churn probability yet"
    ) in gamma
    churn = section(gamma, "churn-risk")
    assert (
        "No churn probability yet: no trained churn model version was in force on 2026-11-30"
        " (model status no_model); the rules score stands alone."
    ) in churn
    assert "%" not in churn


def test_the_portfolio_page_lists_new_red_flags_and_expansion(tmp_path: Path) -> None:
    _, pages = read_assessment_report(tmp_path)
    page = pages["index"]
    new = section(page, "new-red-flags")
    rows = new.split("<tr>")[2:]
    assert len(rows) == 4
    assert 'accounts/acc_2.html">Beta &lt;b&gt;Co&lt;/b&gt;</a>' in rows[0]
    # the most severe first, then the newest
    labels = ["Late payment", "Declining usage", "Core feature unused", "Executive sponsor"]
    assert [f"<td>{label}" in row for label, row in zip(labels, rows, strict=True)] == [True] * 4
    assert "<td>2026-11-28</td>" in rows[0]
    assert "2 invoices past their due date and unpaid" in rows[0]
    assert '<span class="severity severity-high">high</span>' in rows[1]
    assert "<td>Product usage</td>" in rows[1]
    assert "Gone Co" not in new
    candidates = section(page, "expansion-candidates")
    assert (
        candidates.index("Gamma GmbH")
        < candidates.index("Beta &lt;b&gt;Co&lt;/b&gt;")
        < candidates.index("Alpha Ltd")
    )
    assert "Gone Co" not in candidates
    assert '<td class="num">$20,000</td>' in candidates
    assert "20% of ARR at a high level" in candidates
    backtest = section(page, "expansion-backtest")
    levels = [
        backtest.index(f"<td>{level}</td>") for level in ("low", "medium", "high", "all levels")
    ]
    assert levels == sorted(levels)
    # high: 200 account-months, 50 expanded, 4 churned, 6 contracted
    assert (
        '<td class="num">200</td>\n        <td class="num">50</td>\n'
        '        <td class="num">25.0%</td>\n        <td class="num">2.0%</td>\n'
        '        <td class="num">3.0%</td>'
    ) in backtest
    assert "expansion score <strong>0.712</strong>, health score 0.581" in backtest
    assert "AUC of 0.5 = chance" in backtest
    assert "2025-01-31 to 2026-08-31" in backtest


def test_a_warehouse_built_before_the_assessment_still_renders(tmp_path: Path) -> None:
    portfolio, pages = read_assessment_report(tmp_path, assessment=False)
    assert portfolio.account_flags is None
    assert portfolio.unevaluated_flags is None
    assert portfolio.new_red_flags is None
    assert portfolio.expansion_candidates is None
    assert portfolio.expansion_backtest is None
    index = pages["index"]
    assert "No red flags in this release." in section(index, "new-red-flags")
    assert "No expansion assessment in this release." in index
    assert "No expansion back-test in this release." in index
    page = pages["acc_1"]
    assert "No red flags nor green lights in this release." in page
    assert "Not evaluated" not in page
    assert "No expansion assessment in this release." in section(page, "expansion")
    # the dim still has the churn risk, and the daily scores the weights
    assert "Immediate action required: <strong>Yes</strong>: churn risk level critical" in page
    assert "Sub-score 40.0 \u00d7 weight 30.0% = 12.0 points" in page
    assert f'<span class="value">{MISSING}</span><span class="label">red flags</span>' in page


def test_the_expansion_levels_follow_their_rank_when_the_back_test_has_it() -> None:
    with assessment_db() as con:
        con.execute(
            """
            create or replace table marts.rpt_expansion_backtest as
            select * replace (
                case expansion_level when 'low' then 'starter' when 'high' then 'accelerate'
                    else expansion_level end as expansion_level
            ),
                case expansion_level when 'low' then 1 when 'medium' then 2 when 'high' then 3
                end as level_rank
            from marts.rpt_expansion_backtest
            """
        )
        backtest = read_expansion_backtest(con)
    assert backtest is not None
    assert [row.expansion_level for row in backtest] == ["starter", "medium", "accelerate", "all"]


def test_a_probability_below_a_tenth_of_a_percent_is_not_shown_as_zero() -> None:
    assert [probability(p) for p in (None, 0.0, 0.00042, 0.0005, 0.53592)] == [
        MISSING,
        "0.0%",
        "<0.1%",
        "0.1%",
        "53.6%",
    ]
    account = {"churn_risk_level": "low", "churn_probability_90d": 0.00042}
    assert immediate_action(account, []).reasons[1] == "churn risk level low (<0.1% in 90 days)"


# The CSM action queue and the plays: hand-made playbook marts (csm_action_marts) beside the
# assessment's accounts acc_1 to acc_4.


def test_the_queue_orders_each_csms_open_actions_and_counts_them() -> None:
    with csm_actions_db() as con:
        queue = read_action_queue(con)
    assert queue is not None
    assert queue.as_of_date == dt.date(2026, 11, 30)
    by_csm = queue.by_csm()
    # CSMs by name, the unassigned accounts last
    assert [owner for owner, _ in by_csm] == ["Ana", "Zoe Ward", "Unassigned"]
    # priority level, then the largest priority score (none last), then the earliest due date
    assert [action.action_id for action in by_csm[0][1]] == ["a4", "a3", "a2", "a6", "a1", "a5"]
    # every CSM's open actions in the same order
    assert [action.action_id for action in queue.open_actions][:5] == ["a4", "a3", "a2", "u1", "a6"]
    assert by_csm[0][1][0].account_name == "Alpha Ltd"
    assert by_csm[2][1][0].account_name is None
    counts = {count.csm_owner: count for count in queue.counts()}
    ana = counts["Ana"]
    assert ana.by_priority == {"high": 4, "medium": 1, "low": 1}
    assert (ana.open_actions, ana.overdue) == (6, 2)
    # the earliest due date of the actions not overdue (a6's), not a4's past one
    assert ana.next_due_date == dt.date(2026, 12, 1)
    assert counts["Unassigned"].next_due_date is None
    assert queue.overdue == 3
    # closed in the last 90 days, newest first; the June one is too old
    assert [action.action_id for action in queue.recently_closed] == ["c2", "c1", "c4"]
    assert queue.recently_closed[0].close_reason_label == "expired before it was done"
    assert queue.recently_closed[2].close_reason_label == "recorded done by the CSM"


def test_queue_counts_take_only_open_actions_and_unknown_priorities() -> None:
    with csm_actions_db() as con:
        queue = read_action_queue(con, closed_days=365)
    assert queue is not None
    assert "c3" in [action.action_id for action in queue.recently_closed]
    odd = dataclasses.replace(queue.open_actions[0], priority="urgent", action_id="x")
    counts = queue_counts([*queue.recently_closed, odd])
    assert [(c.csm_owner, c.open_actions, c.by_priority) for c in counts] == [
        ("Ana", 1, {"high": 0, "medium": 0, "low": 0, "urgent": 1})
    ]
    assert queue_order(odd) > queue_order(queue.open_actions[-1])


def test_the_play_readers_take_period_all_in_the_order_shown() -> None:
    with csm_actions_db() as con:
        plays = read_play_overviews(con)
        effect = read_play_effect(con)
    assert plays is not None
    assert effect is not None
    assert {row.period for row in effect} == {"all"}
    recovery = next(play for play in plays if play.play_id == "at_risk_recovery_plan")
    assert (recovery.actions, recovery.open_actions, recovery.done_actions) == (2, 1, 1)
    # high priority plays first
    assert [play.priority for play in plays] == sorted(
        (play.priority for play in plays), key=["high", "medium", "low"].index
    )
    sections = play_sections(plays, effect, {band.band_id: band.rank for band in BANDS})
    by_id = {section.play_id: section for section in sections}
    rows = by_id["at_risk_recovery_plan"].effect
    # 90 days first, then 30; within a horizon the bands by rank
    assert [(row.horizon_days, row.health_band_at_open) for row in rows] == [
        (90, "at_risk"),
        (90, "critical"),
        (30, "at_risk"),
    ]
    assert [(row.churn_is_comparable, row.score_is_comparable) for row in rows] == [
        (True, True),
        (True, False),
        (False, False),
    ]
    # a play only the comparison has comes last, without an overview
    assert sections[-1].play_id == "retired_play"
    assert sections[-1].overview is None
    assert by_id["champion_replacement"].effect == ()


def read_playbook_report(tmp_path: Path, *, playbook: bool = True) -> dict[str, str]:
    """The report of the assessment's accounts with (or without) the playbook marts: the
    queue, plays and account pages by name."""
    with assessment_db() as con:
        if playbook:
            add_csm_action_marts(con)
        alerts, transitions = account_events(con)
        portfolio = read_portfolio(con, ReportSettings(), alerts)
        histories = read_histories(con, portfolio.categories)
        book = read_playbook(con)
    built = build_directory(tmp_path / "report", dt.datetime(2026, 12, 1, 2, 0))
    pages = render_report(
        built, portfolio, histories, alerts, transitions, dt.datetime(2026, 12, 1), book
    )
    assert pages == len(ACCOUNTS) + 4
    read = {name: (built / f"{name}.html").read_text() for name in ("index", "queue", "plays")}
    for account in ACCOUNTS:
        read[account["account_id"]] = (
            built / "accounts" / f"{account['account_id']}.html"
        ).read_text()
    return read


def table_rows(html: str) -> list[str]:
    """The body rows of the first table of an HTML fragment."""
    body = html[html.index("<tbody>") : html.index("</tbody>")]
    return body.split("<tr")[1:]


def test_the_queue_page_lists_each_csms_actions_most_urgent_first(tmp_path: Path) -> None:
    pages = read_playbook_report(tmp_path)
    page = pages["queue"]
    # every page links the queue and the plays
    for name in ("index", "queue", "plays", "acc_1"):
        assert 'queue.html">CSM queue</a>' in pages[name], name
        assert 'plays.html">Plays</a>' in pages[name], name
    counts = section(page, "queue-counts")
    rows = table_rows(counts)
    assert [re.findall(r'<a href="#csm-[^"]+">([^<]+)</a>', row)[0] for row in rows] == [
        "Ana",
        "Zoe Ward",
        "Unassigned",
    ]
    # Ana: high, medium, low, open, overdue, next due
    cells = [cell.split("</td>")[0] for cell in rows[0].split('<td class="num')[1:]]
    assert [cell.split(">")[-1] for cell in cells] == ["4", "1", "1", "6", "2"]
    assert "<td>2026-12-01</td>" in rows[0]
    ana = section(page, "csm-Ana")
    assert "6 open, 2 overdue" in ana
    order = [ana.index(f"{label}</a>") for label in (
        "Champion replacement", "At-risk recovery plan", "Renewal rescue",
        "Critical escalation", "Adoption training", "QBR &amp; expansion",
    )]  # fmt: skip
    assert order == sorted(order)
    queue_rows = table_rows(ana)
    # a4: overdue, marked; with its account's link and the triggers absorbed since
    assert queue_rows[0].startswith(' class="is-overdue"')
    assert (
        '<span class="overdue">2026-11-20</span> <span class="overdue-mark">overdue</span>'
        in (queue_rows[0])
    )
    assert '<a href="accounts/acc_1.html">Alpha Ltd</a>' in queue_rows[0]
    assert "(triggered again 2 times since)" in queue_rows[0]
    assert 'href="plays.html#play-champion_replacement"' in queue_rows[0]
    # a3: due later, not overdue
    assert queue_rows[1].startswith(' class=""')
    assert "overdue" not in queue_rows[1]
    assert "Band went from needs_attention to at_risk (58.7)" in queue_rows[1]
    assert "started 2026-11-28" in queue_rows[2]
    # escaped: account names and evidence are text
    assert "Beta &lt;b&gt;Co&lt;/b&gt;" in ana
    assert "core feature &#39;&lt;Reports &amp; Co&gt;&#39; unused" in ana
    unassigned = section(page, "csm-Unassigned")
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in unassigned
    assert "<script>alert" not in page
    # an account the report has no page for is named, not linked
    assert "<td>acc_9</td>" in unassigned
    assert page.index('id="csm-Zoe_Ward') < page.index('id="csm-Unassigned"')


def test_the_account_page_lists_its_open_and_recently_closed_actions(tmp_path: Path) -> None:
    pages = read_playbook_report(tmp_path)
    page = pages["acc_1"]
    actions = section(page, "csm-actions")
    assert page.index('id="decision-tree"') < page.index('id="csm-actions"')
    assert page.index('id="csm-actions"') < page.index('id="chart-score_history"')
    assert "<h3>Open (2)</h3>" in actions
    assert actions.index("Champion replacement") < actions.index("Adoption training</a>")
    assert '<span class="overdue-mark">overdue</span>' in actions
    assert 'In the <a href="../queue.html#csm-Ana">queue of Ana</a>.' in actions
    closed = actions[actions.index("<h3>Closed in the last 90 days (2)</h3>") :]
    rows = table_rows(closed)
    assert len(rows) == 2
    assert '<span class="status status-expired">expired</span>' in rows[0]
    assert "<td>expired before it was done</td>" in rows[0]
    assert '<td class="date">2026-11-28</td>' in rows[0]
    assert "<td>success metric met</td>" in rows[1]
    # closed in June: not recent
    assert "QBR" not in closed
    beta = section(pages["acc_2"], "csm-actions")
    assert "<td>recorded done by the CSM</td>" in beta
    assert '<td class="date">2026-11-28</td>' in beta  # a2's start
    gamma = section(pages["acc_3"], "csm-actions")
    assert "No action closed in the last 90 days." in gamma
    # the queue of the action's owner, whoever the account's CSM is today
    gone = section(pages["acc_4"], "csm-actions")
    assert 'In the <a href="../queue.html#csm-Zoe_Ward' in gone


def test_the_plays_page_compares_played_and_not_played_or_says_too_few(
    tmp_path: Path,
) -> None:
    page = read_playbook_report(tmp_path)["plays"]
    assert "A comparison, not a causal estimate." in page
    assert "CSMs choose where to run a play" in page
    assert "CSMs recorded a start in <strong>2</strong> of the 12 actions" in page
    recovery = section(page, "play-at_risk_recovery_plan")
    assert "2 actions opened: 1 open, 1 done, 0 expired, 0 superseded" in recovery
    rows = table_rows(recovery)
    assert len(rows) == 3  # the 2026-Q3 row is not period `all`
    # 90 days, at risk: 2 of 20 played churned (10%), 8 of 40 not (20%)
    assert "<td>90 days</td>" in rows[0]
    assert "At risk</span>" in rows[0]
    assert '<td class="num">10.0% <span class="since">(2)</span></td>' in rows[0]
    assert '<td class="num">20.0% <span class="since">(8)</span></td>' in rows[0]
    assert '<strong>-10.0</strong> <span class="interval">(-28.0 to +8.0)</span>' in rows[0]
    assert '<strong>+3.2</strong> <span class="interval">(+0.5 to +6.0)</span>' in rows[0]
    assert "too few" not in rows[0]
    # 90 days, critical: churn compared, too few scored for the score change
    assert "Critical</span>" in rows[1]
    assert '<span class="interval">(+5.0 to +75.0)</span>' in rows[1]
    assert rows[1].count("too few to compare") == 1
    # 30 days: too few played actions, so no rates (1 of 3 would read 33.3%)
    assert "<td>30 days</td>" in rows[2]
    assert '<td class="num">3</td>' in rows[2]
    assert '<td class="num">50</td>' in rows[2]
    assert rows[2].count("too few to compare") == 2
    assert "%" not in rows[2]
    assert "-9.0" not in page  # the 2026-Q3 row
    assert "No action of this play has a whole horizon behind it yet." in section(
        page, "play-champion_replacement"
    )
    assert "Retired play" in section(page, "play-retired_play")
    assert "QBR &amp; expansion" in page


def test_a_release_without_the_playbook_marts_says_so_on_each_page(tmp_path: Path) -> None:
    with assessment_db() as con:
        book = read_playbook(con)
    assert (book.queue, book.plays, book.effect) == (None, None, None)
    pages = read_playbook_report(tmp_path, playbook=False)
    assert "No CSM action queue in this release" in pages["queue"]
    assert "No playbook in this release" in pages["plays"]
    assert "No CSM action queue in this release." in section(pages["acc_1"], "csm-actions")
    # and without any playbook passed at all
    built = build_directory(tmp_path / "bare", dt.datetime(2026, 12, 1, 2, 0))
    assert render_report(built, empty_portfolio(), {}, {}, {}, dt.datetime(2026, 12, 1)) == 4
    assert "No CSM action queue in this release" in (built / "queue.html").read_text()
