"""The back-test on the demo data: the score predicts churn, point in time, and says so.

The demo population (`make run`: 1,000 accounts x 730 days, seed 42) is built once. Its
back-test must meet the targets (AUC >= 0.75, top-decile lift >= 2.5, churn rising strictly
from `healthy` to `critical`); every AUC, lift and label is recomputed here outside SQL; a
build on the extract cut at a month-end gives the very scores the back-test holds for that
month-end; and deliberately broken weights make the warning tests fire.
"""

from __future__ import annotations

import datetime as dt
import itertools
import math
import shutil
from collections import defaultdict
from pathlib import Path
from typing import Any

import duckdb
import numpy as np
import pyarrow as pa
import pytest
from harness import DbtProject, HealthgenExtract, copy_project, project_for, statuses
from rich.console import Console

from customer_health import summary as portfolio_summary
from customer_health.churn_model.scorecard import (
    SCORECARD_SCHEMA,
    observations_from_arrow,
    predict,
)

pytestmark = pytest.mark.functional

DEMO = {"accounts": 1000, "days": 730, "seed": 42}
HORIZON = 90
CATEGORIES = ("usage", "adoption", "lifecycle", "support", "commercial")
PREDICTORS = ("health_score", *(f"{c}_score" for c in CATEGORIES), "key_events_30d")
WARN_TESTS = (
    "backtest_score_auc_above_floor",
    "backtest_churn_rate_rises_from_healthy_to_critical",
)
BAND_ORDER = ("healthy", "needs_attention", "at_risk", "critical")
# The churn model's candidate features (int_churn_model_inputs_daily).
CHURN_FEATURES = (
    "health_score",
    "key_events_30d",
    "active_users_30d",
    "user_days_30d",
    "account_age_days",
    "arr",
    "licensed_seats",
    "renews_within_horizon",
    "seat_utilisation_rate",
    "value_feature_day_rate",
    "active_day_rate",
    "usage_trend_rate",
    "active_user_count",
    "user_days_per_active_user",
    "key_events_per_active_user",
    "key_events_per_active_day",
    "seat_activation_rate",
    "feature_breadth_rate",
    "active_role_count",
    "active_team_count",
    "integration_count",
    "milestone_on_schedule_rate",
    "overdue_milestone_count",
    "days_to_first_value",
    "open_ticket_count",
    "aged_open_ticket_count",
    "high_severity_open_ticket_count",
    "escalated_ticket_count",
    "avg_resolution_days",
    "avg_ticket_satisfaction_score",
    "latest_nps_score",
    "latest_csat_score",
    "days_to_renewal",
    "overdue_invoice_count",
    "failed_payment_count",
    "arr_change_rate",
    "sponsor_departure_count",
    "active_sponsor_count",
)


@pytest.fixture(scope="module")
def demo(
    tmp_path_factory: pytest.TempPathFactory, healthgen_extract: HealthgenExtract
) -> DbtProject:
    project = project_for(tmp_path_factory.mktemp("backtest_demo"), healthgen_extract(**DEMO))
    result = project.invoke("build")
    assert result.success, result.exception
    project.query("checkpoint")
    return project


def rows(project: DbtProject, sql: str) -> list[dict[str, Any]]:
    with duckdb.connect(str(project.db_path)) as con:
        cursor = con.execute(sql)
        names = [d[0] for d in cursor.description]
        return [dict(zip(names, row, strict=True)) for row in cursor.fetchall()]


def auc(values: np.ndarray, labels: np.ndarray) -> float | None:
    """Mann-Whitney AUC of `values` as a risk ranking (lower = riskier), ties averaged."""
    positives = int(labels.sum())
    negatives = len(labels) - positives
    if positives == 0 or negatives == 0:
        return None
    _, inverse, counts = np.unique(-values, return_inverse=True, return_counts=True)
    average_rank = np.cumsum(counts) - (counts - 1) / 2.0
    rank_sum = average_rank[inverse][labels].sum()
    return float((rank_sum - positives * (positives + 1) / 2.0) / (positives * negatives))


def overall_score_metrics(
    project: DbtProject, segment: str = "all", predictor: str = "health_score"
) -> dict[str, Any]:
    found = rows(
        project,
        "select * from marts.rpt_health_backtest_metrics where period = 'overall'"
        f" and segment = '{segment}' and predictor = '{predictor}'",
    )
    assert len(found) == 1
    return found[0]


def band_churn(project: DbtProject) -> dict[str, float]:
    found = rows(
        project,
        "select assessment_value, churn_rate, observations from marts.rpt_health_backtest_bands"
        " where period = 'overall' and segment = 'all' and assessment = 'score_band'",
    )
    return {r["assessment_value"]: r["churn_rate"] for r in found}


def test_the_demo_score_predicts_churn(demo: DbtProject) -> None:
    metrics = overall_score_metrics(demo)
    assert metrics["churn_auc"] >= 0.77, metrics
    assert metrics["top_risk_lift"] >= 2.5, metrics
    # and beats the raw count of the account's key events of the last 30 days
    baseline = overall_score_metrics(demo, predictor="key_events_30d")
    assert baseline["observations"] == metrics["observations"]
    assert metrics["churn_auc"] > baseline["churn_auc"], (metrics, baseline)
    churn = band_churn(demo)
    rates = [churn[band] for band in BAND_ORDER]
    assert all(a < b for a, b in itertools.pairwise(rates)), churn
    result = statuses(demo.results[0])
    for test in WARN_TESTS:
        assert result[test] == "pass", (test, result[test])
    # Seed 001: a red band must not fire on a large share of the portfolio.
    shares = rows(
        demo,
        "select share_of_observations from marts.rpt_health_backtest_bands where period ="
        " 'overall' and segment = 'all' and assessment = 'score_band' and assessment_value ="
        " 'critical'",
    )
    assert 0 < shares[0]["share_of_observations"] < 0.4


def test_the_portfolio_summary_shows_the_backtest(demo: DbtProject) -> None:
    console = Console(record=True, width=120)
    with duckdb.connect(str(demo.db_path)) as con:
        assert portfolio_summary.render(con, console, "demo") == 0
    text = console.export_text()
    auc_value = overall_score_metrics(demo)["churn_auc"]
    assert "Back-test: churn within 90 days" in text
    assert f"score AUC {auc_value:.3f}" in text
    baseline = overall_score_metrics(demo, predictor="key_events_30d")["churn_auc"]
    assert f"key events of the last 30 days: {baseline:.3f}" in text
    for band in BAND_ORDER:
        assert band in text


def test_observations_cover_every_observable_month_end_with_labels_from_the_raw_outcomes(
    demo: DbtProject,
) -> None:
    observed = rows(
        demo,
        "select account_id, as_of_date, is_churned, is_contracted, is_expanded, churn_date"
        " from marts.fct_health_backtest_observations",
    )
    with duckdb.connect() as con:
        raw = con.execute(
            f"""select account_id, outcome_type, cast(outcome_date as date)
                from read_parquet('{demo.raw_dir}/account_outcomes/*.parquet')"""
        ).fetchall()
        first_day, last_day = con.execute(
            f"""select min(cast(activity_date as date)), max(cast(activity_date as date))
                from read_parquet('{demo.raw_dir}/user_activity_daily/*.parquet')"""
        ).fetchone()
    outcomes: dict[str, list[tuple[str, dt.date]]] = defaultdict(list)
    for account_id, outcome_type, outcome_date in raw:
        outcomes[account_id].append((outcome_type, outcome_date))

    # Month-ends from the first scored day whose whole horizon is in the data, no others.
    first_score = first_day + dt.timedelta(days=29)
    month_ends = set()
    day = first_score
    while day + dt.timedelta(days=HORIZON) <= last_day:
        if (day + dt.timedelta(days=1)).day == 1:
            month_ends.add(day)
        day += dt.timedelta(days=1)
    assert {r["as_of_date"] for r in observed} == month_ends
    assert len(month_ends) >= 18

    for r in observed:
        window = [
            (kind, when)
            for kind, when in outcomes[r["account_id"]]
            if r["as_of_date"] < when <= r["as_of_date"] + dt.timedelta(days=HORIZON)
        ]
        churns = sorted(when for kind, when in window if kind == "churned")
        assert r["is_churned"] == bool(churns), r
        assert r["churn_date"] == (churns[0] if churns else None), r
        assert r["is_contracted"] == any(kind == "contracted" for kind, _ in window), r
        assert r["is_expanded"] == any(kind == "expanded" for kind, _ in window), r
    assert sum(r["is_churned"] for r in observed) >= 300


def test_auc_and_lift_equal_an_independent_computation(demo: DbtProject) -> None:
    observed = rows(demo, "select * from marts.fct_health_backtest_observations")
    reported = {
        (r["period"], r["segment"], r["predictor"]): r
        for r in rows(demo, "select * from marts.rpt_health_backtest_metrics")
    }
    groups: dict[tuple[str, str], list[dict[str, Any]]] = defaultdict(list)
    for r in observed:
        for period in ("overall", r["as_of_date"].isoformat()):
            for segment in ("all", r["segment"]):
                groups[(period, segment)].append(r)
    checked = 0
    for (period, segment), members in groups.items():
        for predictor in PREDICTORS:
            column = "computed_health_score" if predictor == "health_score" else predictor
            scored = [r for r in members if r[column] is not None]
            if not scored:
                assert (period, segment, predictor) not in reported
                continue
            got = reported[(period, segment, predictor)]
            values = np.array([r[column] for r in scored], dtype=float)
            churned = np.array([r["is_churned"] for r in scored], dtype=bool)
            contracted = np.array([r["is_contracted"] for r in scored], dtype=bool)
            for name, labels in (("churn_auc", churned), ("contraction_auc", contracted)):
                expected = auc(values, labels)
                if expected is None:
                    assert got[name] is None
                else:
                    assert got[name] == pytest.approx(expected, abs=1e-9), (name, got)
            ranked = sorted(scored, key=lambda r: (r[column], r["as_of_date"], r["account_id"]))
            top = ranked[: math.ceil(len(ranked) / 10)]
            assert got["observations"] == len(scored)
            assert got["churned_observations"] == int(churned.sum())
            assert got["top_risk_observations"] == len(top)
            assert got["top_risk_churned_observations"] == sum(r["is_churned"] for r in top)
            checked += 1
    assert checked > 500


def grid_score_tenths(subscores: np.ndarray, weights: np.ndarray) -> np.ndarray:
    """Candidate scores in tenths as the calibration computes them (nan below coverage)."""
    present = ~np.isnan(subscores)
    hundredths = np.where(present, np.round(subscores * 100), 0)
    steps = np.round(weights * 10)
    covered = present @ steps
    weighted = hundredths @ steps
    with np.errstate(invalid="ignore", divide="ignore"):
        tenths = np.floor((weighted + 5 * covered) / (10 * covered))
    return np.where(covered >= 5, tenths, np.nan)


def test_weight_calibration_finds_the_best_grid_set(demo: DbtProject) -> None:
    observed = rows(
        demo,
        "select * from marts.fct_health_backtest_observations"
        " where lifecycle_stage != 'onboarding'",
    )
    dates = sorted({r["as_of_date"] for r in observed})
    holdout_dates = set(dates[-math.ceil(len(dates) * 0.3) :])
    fit = [r for r in observed if r["as_of_date"] not in holdout_dates]
    subscores = np.array(
        [[np.nan if r[f"{c}_score"] is None else r[f"{c}_score"] for c in CATEGORIES] for r in fit]
    )
    churned = np.array([r["is_churned"] for r in fit], dtype=bool)
    best = (-1.0, "")
    for u in range(11):
        for a in range(11 - u):
            for lc in range(11 - u - a):
                for s in range(11 - u - a - lc):
                    weights = np.array([u, a, lc, s, 10 - u - a - lc - s]) / 10.0
                    tenths = grid_score_tenths(subscores, weights)
                    keep = ~np.isnan(tenths)
                    value = auc(tenths[keep], churned[keep])
                    if value is not None and value > best[0]:
                        best = (value, f"{u}/{a}/{lc}/{s}/{10 - u - a - lc - s}")
    current = auc(
        np.array(
            [r["computed_health_score"] for r in fit if r["computed_health_score"] is not None]
        ),
        np.array([r["is_churned"] for r in fit if r["computed_health_score"] is not None]),
    )
    calibration = rows(
        demo, "select * from marts.rpt_health_weight_calibration where segment = 'all'"
    )
    assert len(calibration) == len(CATEGORIES)
    reported = calibration[0]
    assert reported["current_fit_auc"] == pytest.approx(current, abs=1e-9)
    assert reported["suggested_fit_auc"] == pytest.approx(max(best[0], current), abs=1e-9)
    if best[0] > current:
        assert reported["suggested_candidate_id"] is not None
        # Ties between grid sets go to the one closest to the current weights.
        assert reported["suggested_fit_auc"] == pytest.approx(best[0], abs=1e-9)
    assert sum(r["suggested_weight"] for r in calibration) == pytest.approx(1.0)
    assert reported["candidate_count"] == 1001
    assert {r["category_id"]: r["current_weight"] for r in calibration} == {
        "usage": 0.3,
        "adoption": 0.2,
        "lifecycle": 0.15,
        "support": 0.2,
        "commercial": 0.15,
    }


CUT_DATE = dt.date(2024, 9, 30)


@pytest.fixture(scope="module")
def cut(
    healthgen_extract: HealthgenExtract, tmp_path_factory: pytest.TempPathFactory
) -> DbtProject:
    """The demo extract as it stood on 2024-09-30 (the same accounts, nothing later), built."""
    days = (CUT_DATE - dt.date(2024, 1, 1)).days + 1
    project = project_for(
        tmp_path_factory.mktemp("backtest_cut"), healthgen_extract(**{**DEMO, "days": days})
    )
    assert project.invoke("build").success
    return project


def test_the_backtest_sees_only_what_was_known_on_each_as_of_date(
    demo: DbtProject, cut: DbtProject
) -> None:
    """A build of the extract that ends on 2024-09-30 scores that month-end exactly as the
    back-test of the full two years does."""
    as_of = CUT_DATE
    columns = ", ".join(
        [
            "segment",
            "lifecycle_stage",
            "computed_health_band",
            "computed_health_score",
            "score_coverage",
            *(f"{c}_score" for c in CATEGORIES),
            "days_to_renewal",
        ]
    )
    known_then = cut.query(
        f"""select f.account_id, {columns}, t.outcome_id
            from marts.fct_account_health_daily f
            join marts.fct_account_health_decision_tree t
              on t.account_id = f.account_id and t.as_of_date = f.score_date
            where f.score_date = ? order by f.account_id""",
        [as_of],
    )
    backtested = demo.query(
        f"""select account_id, {columns}, tree_outcome_id
            from marts.fct_health_backtest_observations
            where as_of_date = ? order by account_id""",
        [as_of],
    )
    assert len(backtested) > 700
    assert backtested == known_then


def churn_model_inputs(project: DbtProject, relation: str, date_column: str) -> list[Any]:
    """Every candidate feature of the churn model on CUT_DATE, by account."""
    return project.query(
        f"select account_id, {', '.join(CHURN_FEATURES)} from {relation}"
        f" where {date_column} = ? order by account_id",
        [CUT_DATE],
    )


def differing_features(then: list[Any], later: list[Any]) -> set[str]:
    """The features whose values on the same day differ between two builds."""
    assert [row[0] for row in then] == [row[0] for row in later]
    differing = set()
    for before, after in zip(then, later, strict=True):
        for name, a, b in zip(CHURN_FEATURES, before[1:], after[1:], strict=True):
            if not (a == b or (a is not None and b is not None and math.isclose(a, b))):
                differing.add(name)
    return differing


def test_the_churn_model_sees_only_what_was_known_on_each_day(
    demo: DbtProject, cut: DbtProject
) -> None:
    """Point-in-time guard: the build that ends on 2024-09-30 knows on that day exactly the
    features the full build's observations hold for it, trains the very version the full
    build dated that day, and so gives every account the same probability. A feature that
    reads later data would differ (shown with one that looks 30 days ahead)."""
    then = churn_model_inputs(cut, "intermediate.int_churn_model_inputs_daily", "score_date")
    later = churn_model_inputs(demo, "marts.fct_churn_model_observations", "as_of_date")
    assert len(later) > 700
    assert differing_features(then, later) == set()
    version = "select * from marts.rpt_churn_model_scorecard where model_version = ? order by all"
    assert cut.query(version, [CUT_DATE]) == demo.query(version, [CUT_DATE])
    assert len(demo.query(version, [CUT_DATE])) > 50
    probability = (
        "select account_id, churn_model_version, risk_factors, churn_probability_90d"
        " from marts.fct_account_churn_risk_daily where score_date = ? order by account_id"
    )
    cut_rows = cut.query(probability, [CUT_DATE])
    demo_rows = demo.query(probability, [CUT_DATE])
    assert [row[:3] for row in cut_rows] == [row[:3] for row in demo_rows]
    # the same points, summed in whatever order the engine chose
    for then_row, later_row in zip(cut_rows, demo_rows, strict=True):
        assert then_row[3] == pytest.approx(later_row[3], rel=1e-12), then_row
    # A feature that looks ahead: the key events 30 days later, where the data has them.
    leaking = (
        "select account_id, {columns} from (select *, lead(key_events_30d, 30) over"
        " (partition by account_id order by score_date) as lookahead"
        " from intermediate.int_churn_model_inputs_daily) where score_date = ?"
        " order by account_id"
    )
    columns = ", ".join("lookahead" if f == "key_events_30d" else f for f in CHURN_FEATURES)
    assert differing_features(
        cut.query(leaking.format(columns=columns), [CUT_DATE]),
        demo.query(leaking.format(columns=columns), [CUT_DATE]),
    ) == {"key_events_30d"}


def test_the_churn_model_beats_the_score_and_baseline_out_of_time_on_the_demo(
    demo: DbtProject,
) -> None:
    """Judged on the month-ends a version was in force on, each by the version trained on
    what was known then: above the rules score and the baseline (AUCs recomputed here),
    calibrated, and its SQL probabilities equal the Python scorecard's row for row."""
    predictions = demo.query(
        "select p.model_name, p.churn_probability, p.is_churned, o.health_score,"
        " o.key_events_30d from marts.fct_churn_model_predictions p"
        " join marts.fct_churn_model_observations o using (account_id, as_of_date)"
        " order by p.account_id, p.as_of_date"
    )
    model = [(p, c, h, k) for name, p, c, h, k in predictions if name == "churn_model"]
    labels = np.array([c for _, c, _, _ in model])
    assert len(model) > 5000
    assert labels.sum() > 150
    model_auc = auc(-np.array([p for p, _, _, _ in model]), labels)
    score_auc = auc(np.array([50.0 if h is None else h for _, _, h, _ in model]), labels)
    baseline_auc = auc(np.array([k for _, _, _, k in model]), labels)
    assert model_auc is not None
    assert score_auc is not None
    assert baseline_auc is not None
    assert model_auc >= max(0.70, baseline_auc + 0.03), (model_auc, baseline_auc)
    assert model_auc >= score_auc, (model_auc, score_auc)
    backtest = {
        r["model_name"]: r
        for r in rows(demo, "select * from marts.rpt_churn_model_backtest where segment = 'all'")
    }
    assert backtest["churn_model"]["churn_auc"] == pytest.approx(model_auc, abs=1e-9)
    assert backtest["churn_model"]["calibration_error"] <= 0.015, backtest["churn_model"]
    assert backtest["churn_model"]["brier_score"] < backtest["key_events_30d"]["brier_score"]

    scorecard = pa.Table.from_pylist(
        rows(demo, "select * from marts.rpt_churn_model_scorecard"), schema=SCORECARD_SCHEMA
    )
    observations = observations_from_arrow(
        demo.query_arrow(
            "select * from marts.fct_churn_model_observations order by account_id, as_of_date"
        ),
        CHURN_FEATURES,
    )
    for name in ("churn_model", "health_score", "key_events_30d"):
        sql = dict(
            (
                (account, as_of),
                probability,
            )
            for account, as_of, probability in demo.query(
                "select account_id, as_of_date, churn_probability"
                " from marts.fct_churn_model_predictions where model_name = ?",
                [name],
            )
        )
        python = predict(scorecard, observations, name)
        keys = list(zip(observations.account_id, observations.as_of_date.tolist(), strict=True))
        scored = [(key, p) for key, p in zip(keys, python, strict=True) if not np.isnan(p)]
        assert len(scored) == len(sql), name
        for key, p in scored:
            assert sql[key] == pytest.approx(p, abs=1e-12), (name, key)
    # The daily fact applies the same scorecard: its month-end probabilities are the model's.
    daily = dict(
        ((account, day), probability)
        for account, day, probability in demo.query(
            "select account_id, score_date, churn_probability_90d"
            " from marts.fct_account_churn_risk_daily where churn_model_status = 'scored'"
            " and score_date = last_day(score_date)"
        )
    )
    model_sql = dict(
        ((account, as_of), probability)
        for account, as_of, probability in demo.query(
            "select account_id, as_of_date, churn_probability"
            " from marts.fct_churn_model_predictions where model_name = 'churn_model'"
        )
    )
    assert model_sql
    assert all(daily[key] == pytest.approx(p, abs=1e-12) for key, p in model_sql.items())


def broken_copy(
    demo: DbtProject, tmp: Path, weights: str, rules: dict[str, tuple[str, ...]]
) -> DbtProject:
    """The demo warehouse rescored with other weights and rules (the signals stay)."""
    project_dir = copy_project(tmp / "project")
    (project_dir / "seeds" / "health_score_weights.csv").write_text(weights)
    rules_path = project_dir / "seeds" / "health_scoring_rules.csv"
    lines = rules_path.read_text().splitlines()
    kept = [lines[0]]
    for line in lines[1:]:
        fields = line.split(",")
        replacement = rules.get(fields[1])
        # category_id, signal_name, scoring_basis, zero_points_at, full_points_at, max_points
        if replacement is None:
            fields[5] = "0"
        else:
            fields[3:6] = replacement
        kept.append(",".join(fields))
    rules_path.write_text("\n".join(kept) + "\n")
    db_path = tmp / "warehouse.duckdb"
    shutil.copy2(demo.db_path, db_path)
    copy = DbtProject(raw_dir=demo.raw_dir, db_path=db_path, work_dir=tmp, project_dir=project_dir)
    # only what lies between the two seeds and the back-test's metrics and bands
    copy.invoke(
        "build",
        "--select",
        *(
            f"{seed}+,+{mart}"
            for seed in ("health_score_weights", "health_scoring_rules")
            for mart in ("rpt_health_backtest_metrics", "rpt_health_backtest_bands")
        ),
        "--full-refresh",
    )
    return copy


def all_weight_on(category: str) -> str:
    lines = ["segment,lifecycle_stage,category_id,weight"]
    for stage in ("all", "onboarding"):
        for c in CATEGORIES:
            lines.append(f"all,{stage},{c},{1.0 if c == category else 0.0}")
    return "\n".join(lines) + "\n"


def test_all_weight_on_a_noise_signal_makes_the_auc_warning_fire(
    demo: DbtProject, tmp_path: Path
) -> None:
    # Open tickets older than 14 days carry no churn signal in the demo data (AUC about 0.5).
    broken = broken_copy(
        demo, tmp_path, all_weight_on("support"), {"aged_open_ticket_count": ("2", "0", "20")}
    )
    result = statuses(broken.results[-1])
    assert not [name for name, status in result.items() if status in ("fail", "error")]
    assert result["backtest_score_auc_above_floor"] == "warn"
    metrics = overall_score_metrics(broken)
    assert 0.4 < metrics["churn_auc"] < 0.6, metrics
    assert metrics["is_below_auc_floor"]
    assert metrics["top_risk_lift"] < 1.5, metrics


def test_a_backwards_signal_makes_both_warnings_fire(demo: DbtProject, tmp_path: Path) -> None:
    # Renewal proximity entered the wrong way round: full points at the renewal date.
    broken = broken_copy(
        demo, tmp_path, all_weight_on("commercial"), {"days_to_renewal": ("120", "0", "15")}
    )
    result = statuses(broken.results[-1])
    assert not [name for name, status in result.items() if status in ("fail", "error")]
    for test in WARN_TESTS:
        assert result[test] == "warn", (test, result[test])
    assert overall_score_metrics(broken)["churn_auc"] < 0.5
    churn = band_churn(broken)
    present = [churn[band] for band in BAND_ORDER if band in churn]
    assert any(a >= b for a, b in itertools.pairwise(present)), churn


def raw_outcome_windows(project: DbtProject) -> dict[str, list[tuple[str, dt.date]]]:
    """Each account's outcomes (type, date) from the raw extract."""
    with duckdb.connect() as con:
        raw = con.execute(
            f"""select account_id, outcome_type, cast(outcome_date as date)
                from read_parquet('{project.raw_dir}/account_outcomes/*.parquet')"""
        ).fetchall()
    outcomes: dict[str, list[tuple[str, dt.date]]] = defaultdict(list)
    for account_id, outcome_type, outcome_date in raw:
        outcomes[account_id].append((outcome_type, outcome_date))
    return outcomes


def test_every_flag_and_green_light_occurs_on_the_demo(demo: DbtProject) -> None:
    """The demo has the data for every flag, and each holds for some account on some day."""
    flags = rows(demo, "select flag_id, flag_type, is_evaluated from marts.rpt_health_flags")
    assert len(flags) == 17
    assert all(flag["is_evaluated"] for flag in flags)
    held = rows(
        demo,
        "select flag_id, count(distinct account_id) as accounts"
        " from marts.fct_account_health_flags group by flag_id",
    )
    assert {row["flag_id"] for row in held} == {flag["flag_id"] for flag in flags}
    assert all(row["accounts"] >= 3 for row in held), held
    # the scoring date's assessment reaches the account dimension
    (counted,) = demo.query(
        "select sum(red_flag_count), sum(green_light_count), count(red_flags)"
        " from marts.dim_account_health where is_active"
    )
    assert min(counted) > 0, counted


def test_the_flags_and_expansion_see_only_what_was_known_on_each_day(
    demo: DbtProject, cut: DbtProject
) -> None:
    """The build that ends on 2024-09-30 assesses that day exactly as the full build does:
    every flag, its first day and its evidence, and the expansion potential."""
    for relation in ("marts.fct_account_health_flags_daily", "marts.fct_account_expansion_daily"):
        query = f"select * from {relation} where score_date = ? order by account_id"
        later = demo.query(query, [CUT_DATE])
        assert len(later) > 700, relation
        assert cut.query(query, [CUT_DATE]) == later, relation


def test_the_expansion_backtest_equals_an_independent_computation(demo: DbtProject) -> None:
    """Expansion, churn and contraction rates by expansion level, and the AUC of the
    expansion score and of the health score for later expansion, recomputed from the raw
    outcomes. On the demo, accounts of a higher level expand more often."""
    observed = rows(
        demo,
        """select o.account_id, o.as_of_date, o.computed_health_score,
                  e.expansion_score, e.expansion_level
           from marts.fct_health_backtest_observations o
           join marts.fct_account_expansion_daily e
             on e.account_id = o.account_id and e.score_date = o.as_of_date""",
    )
    outcomes = raw_outcome_windows(demo)
    labels: dict[str, list[bool]] = {"expanded": [], "churned": [], "contracted": []}
    for r in observed:
        end = r["as_of_date"] + dt.timedelta(days=HORIZON)
        kinds = {kind for kind, when in outcomes[r["account_id"]] if r["as_of_date"] < when <= end}
        for kind, found in labels.items():
            found.append(kind in kinds)
    expanded = np.array(labels["expanded"])
    levels = np.array([r["expansion_level"] for r in observed])
    reported = {
        r["expansion_level"]: r
        for r in rows(demo, "select * from marts.rpt_expansion_backtest where segment = 'all'")
    }
    assert set(reported) == {"all", "low", "medium", "high"}
    for level, report in reported.items():
        chosen = np.ones(len(levels), dtype=bool) if level == "all" else levels == level
        assert report["observations"] == int(chosen.sum()), level
        assert report["expanded_observations"] == int(expanded[chosen].sum()), level
        for kind in ("churned", "contracted"):
            count = int(np.array(labels[kind])[chosen].sum())
            assert report[f"{kind}_observations"] == count, (level, kind)
    scores = np.array([r["expansion_score"] for r in observed], dtype=float)
    health = np.array([r["computed_health_score"] for r in observed], dtype=float)
    has_health = ~np.isnan(health)
    # auc() ranks lower values as likelier, so the scores go in negated
    expansion_auc = auc(-scores, expanded)
    health_auc = auc(-health[has_health], expanded[has_health])
    assert expansion_auc is not None
    assert health_auc is not None
    assert reported["all"]["expansion_auc"] == pytest.approx(expansion_auc, abs=1e-9)
    assert reported["all"]["health_score_expansion_auc"] == pytest.approx(health_auc, abs=1e-9)
    assert expansion_auc > 0.6
    rates = [reported[level]["expansion_rate"] for level in ("low", "medium", "high")]
    assert rates == sorted(rates), rates
    assert rates[0] < rates[2], rates


def chained_actions(project: DbtProject) -> set[tuple[str, str, dt.date]]:
    """The actions the triggers open, walked day by day: a trigger opens one when none of
    its account and play is open; it stays open until its first way of closing."""
    (as_of,) = project.query("select max(score_date) from marts.fct_account_health_daily")[0]
    triggers = project.query(
        """select account_id, play_id, trigger_date, success_date, completed_date,
                  superseded_date, expires_date
           from intermediate.int_csm_play_events where play_id is not null
           order by account_id, play_id, trigger_date"""
    )
    opened: set[tuple[str, str, dt.date]] = set()
    for (account, play), group in itertools.groupby(triggers, key=lambda r: (r[0], r[1])):
        open_until: dt.date | None = dt.date.min
        for _, _, day, success, completed, superseded, expires in group:
            if open_until is None or day <= open_until:
                continue
            opened.add((account, play, day))
            ways = [d for d in (success, completed, superseded) if d is not None]
            if expires <= as_of:
                ways.append(expires)
            open_until = min(ways) if ways else None
    return opened


def test_plays_open_close_and_expire_on_the_demo(demo: DbtProject) -> None:
    """On the demo every kind of closing happens, the queue equals a day-by-day walk of the
    triggers, CSMs ran plays on some actions and some actions are open and overdue."""
    statuses_seen = dict(
        demo.query(
            "select coalesce(close_reason, 'open'), count(*) from marts.fct_csm_actions group by 1"
        )
    )
    assert set(statuses_seen) == {
        "open",
        "success_metric_met",
        "recorded_done",
        "superseded",
        "expired",
    }, statuses_seen
    assert min(statuses_seen.values()) >= 5, statuses_seen
    actions = set(demo.query("select account_id, play_id, opened_date from marts.fct_csm_actions"))
    assert actions == chained_actions(demo)
    (plays, played, overdue, owners) = demo.query(
        """select count(distinct play_id), count(started_date),
                  sum(case when is_overdue then 1 else 0 end), count(distinct csm_owner)
           from marts.fct_csm_actions"""
    )[0]
    assert plays >= 12, plays
    assert played > 100, played
    assert overdue > 0
    assert owners > 1
    # the CRM task payload holds every open action and the recently closed ones
    (open_actions,) = demo.query(
        "select count(*) from marts.fct_csm_actions where action_status = 'open'"
    )[0]
    (open_tasks, completed_tasks) = demo.query(
        """select sum(case when hs_task_status = 'NOT_STARTED' then 1 else 0 end),
                  sum(case when hs_task_status = 'COMPLETED' then 1 else 0 end)
           from marts.sync_crm_tasks"""
    )[0]
    assert open_tasks == open_actions
    assert completed_tasks > 0


def test_the_action_queue_sees_only_what_was_known_on_each_day(
    demo: DbtProject, cut: DbtProject
) -> None:
    """The build that ends on 2024-09-30 holds the full build's actions opened by then: those
    that closed by then closed the same way, the others are open (or closed by then with the
    same date and reason)."""
    columns = "action_id, play_id, opened_date, due_date, trigger_evidence, priority_score"
    query = f"""select {columns}, action_status, close_reason, closed_date, started_date
                from marts.fct_csm_actions where opened_date <= ? order by action_id"""
    known_then = cut.query(query, [CUT_DATE])
    later = demo.query(query, [CUT_DATE])
    assert len(later) > 500
    expected = [
        row
        if row[8] is not None and row[8] <= CUT_DATE
        else (
            *row[:6],
            "open",
            None,
            None,
            row[9] if row[9] is not None and row[9] <= CUT_DATE else None,
        )
        for row in later
    ]
    assert known_then == expected


def wilson(rate: float, count: int, z: float = 1.959964) -> tuple[float, float]:
    """The Wilson score interval of a proportion."""
    centre = (rate + z * z / (2 * count)) / (1 + z * z / count)
    half = z * math.sqrt(rate * (1 - rate) / count + z * z / (4 * count * count))
    return centre - half / (1 + z * z / count), centre + half / (1 + z * z / count)


def test_the_play_effect_equals_an_independent_computation(demo: DbtProject) -> None:
    """Per play and band over all quarters, the played and not-played counts, churn within
    each horizon, the mean score change and the Newcombe interval of the churn difference,
    recomputed from the actions, the raw outcomes and the daily scores. Plays were compared on
    the demo."""
    (as_of,) = demo.query("select max(score_date) from marts.fct_account_health_daily")[0]
    churned: dict[str, list[dt.date]] = defaultdict(list)
    for account, when in demo.query(
        "select account_id, outcome_date from staging.stg_outcomes__account_outcomes"
        " where outcome_type = 'churned'"
    ):
        churned[account].append(when)
    scores = {
        (account, day): score
        for account, day, score in demo.query(
            "select account_id, score_date, health_score from marts.fct_account_health_daily"
        )
    }
    groups: dict[tuple[str, str, int], dict[bool, list[tuple[float, float | None]]]] = defaultdict(
        lambda: {True: [], False: []}
    )
    for account, play, band, score, opened, started in demo.query(
        """select account_id, play_id, health_band_at_open, health_score_at_open, opened_date,
                  started_date from marts.fct_csm_actions"""
    ):
        for horizon in (30, 90):
            end = opened + dt.timedelta(days=horizon)
            if end > as_of:
                continue
            churn = float(any(opened < when <= end for when in churned[account]))
            later = scores.get((account, end))
            change = None if later is None or score is None else later - score
            groups[(play, band, horizon)][started is not None].append((churn, change))
    reported = {
        (r[0], r[1], r[2]): r[3:]
        for r in demo.query(
            """select play_id, health_band_at_open, horizon_days, played_actions,
                      not_played_actions, played_churned, not_played_churned,
                      played_score_change, not_played_score_change, churn_difference_ci_low,
                      churn_difference_ci_high
               from marts.rpt_csm_play_effect where period = 'all'"""
        )
    }
    assert set(reported) == set(groups)
    for key, group in groups.items():
        played, other = group[True], group[False]
        got = reported[key]
        assert got[:4] == (
            len(played),
            len(other),
            sum(c for c, _ in played),
            sum(c for c, _ in other),
        ), key
        for values, mean in ((played, got[4]), (other, got[5])):
            changes = [c for _, c in values if c is not None]
            assert (mean is None) == (not changes), key
            if changes:
                assert mean == pytest.approx(sum(changes) / len(changes), abs=1e-9), key
        if len(played) >= 5 and len(other) >= 5:
            p1 = sum(c for c, _ in played) / len(played)
            p2 = sum(c for c, _ in other) / len(other)
            l1, u1 = wilson(p1, len(played))
            l2, u2 = wilson(p2, len(other))
            low = p1 - p2 - math.hypot(p1 - l1, u2 - p2)
            high = p1 - p2 + math.hypot(u1 - p1, p2 - l2)
            assert got[6] == pytest.approx(low, abs=1e-9), key
            assert got[7] == pytest.approx(high, abs=1e-9), key
        else:
            assert got[6] is None, key
            assert got[7] is None, key
    compared = {key[0] for key, got in reported.items() if key[2] == 90 and got[6] is not None}
    assert len(compared) >= 4, compared
