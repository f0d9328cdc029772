"""Unit tests of the report's pure parts: band lookup, account file names, the decision path
as questions, the score histogram's colors, the output directory swap, which deletes or
replaces only what the report wrote, and the churn model section (its readers, calibration
chart and page)."""

from __future__ import annotations

import datetime as dt
import decimal
import json
import math
import shutil
from pathlib import Path
from typing import Any

import duckdb
import pytest
from churn_model_marts import churn_model_db

from customer_health.decision_tree.dsl import parse_dag
from customer_health.report import charts
from customer_health.report import cli as report_cli
from customer_health.report.charts import band_for, score_distribution
from customer_health.report.data import (
    Band,
    CalibrationDecile,
    Portfolio,
    read_categories_left_out,
    read_churn_model,
    read_churn_model_backtest,
    read_churn_model_calibration,
    read_churn_model_status,
    read_churn_risk_accounts,
    read_missing_data,
)
from customer_health.report.render import (
    REPORT_MARKER,
    NotOurReportError,
    account_slugs,
    build_directory,
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
    assert render_report(built, portfolio, {}, {}, {}, dt.datetime(2026, 12, 1)) == 2
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
