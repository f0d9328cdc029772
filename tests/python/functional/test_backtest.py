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
import pytest
from harness import DbtProject, HealthgenExtract, copy_project, project_for, statuses
from rich.console import Console

from customer_health import summary as portfolio_summary

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
        "select account_id, as_of_date, is_churned, is_contracted, churn_date"
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


def test_the_backtest_sees_only_what_was_known_on_each_as_of_date(
    demo: DbtProject,
    healthgen_extract: HealthgenExtract,
    tmp_path_factory: pytest.TempPathFactory,
) -> None:
    """A build of the extract that ends on 2024-09-30 scores that month-end exactly as the
    back-test of the full two years does."""
    as_of = dt.date(2024, 9, 30)
    days = (as_of - dt.date(2024, 1, 1)).days + 1
    cut = project_for(
        tmp_path_factory.mktemp("backtest_cut"), healthgen_extract(**{**DEMO, "days": days})
    )
    assert cut.invoke("build").success
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
    copy.invoke(
        "build",
        "--select",
        "health_score_weights+",
        "health_scoring_rules+",
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
