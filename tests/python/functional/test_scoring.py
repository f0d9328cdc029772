"""Health scoring on generated data: invariants, point-in-time incremental builds, config tests."""

from __future__ import annotations

import re
import shutil
from datetime import date
from pathlib import Path

import pytest
from dbt.cli.main import dbtRunnerResult
from harness import (
    PROJECT_DIR,
    DbtProject,
    HealthgenExtract,
    broken_rules,
    copy_of,
    copy_project,
    deliver_next_day,
    next_day_delivery,
    project_for,
    statuses,
    table_rows,
)

from customer_health.churn_model.cli import project_vars

pytestmark = pytest.mark.functional

HEALTH_MARTS = (
    "marts.fct_account_health_daily",
    "marts.fct_health_band_transitions",
    "marts.fct_health_alerts",
    "marts.dim_account_health",
    "marts.rpt_portfolio_health_weekly",
    "marts.fct_account_health_flags_daily",
    "marts.fct_account_health_flags",
    "marts.fct_account_expansion_daily",
    "marts.fct_account_health_decision_tree",
    "marts.fct_account_churn_risk_daily",
    "marts.fct_csm_actions",
    "marts.rpt_csm_play_effect",
    "marts.sync_crm_tasks",
    # monthly (recomputed on the last delivery below: a month-end's horizon ends that day)
    "marts.fct_health_backtest_observations",
    "marts.rpt_health_backtest_metrics",
    "marts.fct_churn_model_observations",
    "marts.fct_churn_model_predictions",
)
# Replaced by window: an incremental run rewrites the rows from the first day
# fct_account_health_daily (int_account_days for the tree's signals) recomputed.
WINDOW_REPLACED = (
    "fct_health_band_transitions",
    "fct_health_alerts",
    "rpt_portfolio_health_weekly",
    "fct_account_health_flags",
    "int_decision_tree_signals",
    "fct_account_health_decision_tree",
)
DAILY = ("--selector", "daily")
# The incremental intermediate models (one row per account and score date).
INCREMENTAL_INTERMEDIATES = (
    "intermediate.int_account_days",
    "intermediate.int_usage_signals_daily",
    "intermediate.int_adoption_signals_daily",
    "intermediate.int_support_signals_daily",
    "intermediate.int_lifecycle_signals_daily",
    "intermediate.int_commercial_signals_daily",
    "intermediate.int_category_scores_daily",
    "intermediate.int_health_scores_daily",
    "intermediate.int_health_flag_signals_daily",
    "intermediate.int_csm_play_events",
    "intermediate.int_decision_tree_signals",
)
# The incremental models that read the optional stakeholder events (through the
# commercial signals or the assessment's flag signals).
RECOMPUTED_FOR_STAKEHOLDER_EVENTS = {
    "int_commercial_signals_daily",
    "int_category_scores_daily",
    "int_health_scores_daily",
    "fct_account_health_daily",
    "fct_account_churn_risk_daily",
    "int_health_flag_signals_daily",
    "fct_account_health_flags_daily",
    "fct_account_expansion_daily",
    "int_csm_play_events",
}
CATEGORIES = ("usage", "adoption", "lifecycle", "support", "commercial")


def test_scoring_nodes_all_pass(clean_build: tuple[DbtProject, dbtRunnerResult]) -> None:
    _, result = clean_build
    failing = {
        name: status
        for name, status in statuses(result).items()
        if status not in ("success", "pass")
    }
    assert failing == {}


def test_the_clean_build_runs_every_unit_test(
    clean_build: tuple[DbtProject, dbtRunnerResult],
) -> None:
    """The suite's other DuckDB builds leave the unit tests out: this build must run all."""
    project, result = clean_build
    assert result.result is not None, result.exception
    declared = {node["name"] for node in project.manifest()["unit_tests"].values()}
    ran = {
        item.node.name
        for item in result.result.results
        if str(item.node.resource_type) == "unit_test"
    }
    assert len(declared) >= 50
    assert ran == declared


def test_scores_cover_every_band_and_trend(
    clean_build: tuple[DbtProject, dbtRunnerResult],
) -> None:
    project, _ = clean_build
    bands = {
        band
        for (band,) in project.query(
            "select distinct computed_health_band from marts.fct_account_health_daily"
        )
    }
    trends = {
        trend
        for (trend,) in project.query("select distinct trend from marts.fct_account_health_daily")
    }
    assert {"healthy", "needs_attention", "at_risk"} <= bands
    assert trends == {"up", "flat", "down", "new"}


def test_score_is_the_weighted_mean_of_present_categories(
    clean_build: tuple[DbtProject, dbtRunnerResult],
) -> None:
    """Recompute every score from its sub-scores and the resolved weights, outside dbt."""
    project, _ = clean_build
    present = " + ".join(
        f"case when s.{c}_score is not null then w.{c}_weight else 0 end" for c in CATEGORIES
    )
    weighted = " + ".join(f"coalesce(w.{c}_weight * s.{c}_score, 0)" for c in CATEGORIES)
    rows = project.query(
        f"""
        select
            count(*),
            max(abs(({weighted}) / ({present}) - f.computed_health_score)),
            max(abs(({present}) - f.score_coverage))
        from intermediate.int_category_scores_daily as s
        inner join intermediate.int_health_weights_resolved as w
            on s.segment = w.segment and s.lifecycle_stage = w.lifecycle_stage
        inner join marts.fct_account_health_daily as f
            on s.account_id = f.account_id and s.score_date = f.score_date
        where f.computed_health_score is not null
        """
    )
    scored, score_error, coverage_error = rows[0]
    assert scored > 1000
    assert score_error <= 0.05 + 1e-9
    assert coverage_error <= 1e-6


def test_dim_has_one_row_per_scored_account(
    clean_build: tuple[DbtProject, dbtRunnerResult],
) -> None:
    project, _ = clean_build
    ((accounts, rows, active),) = project.query(
        "select (select count(distinct account_id) from marts.fct_account_health_daily), "
        "count(*), count_if(is_active) from marts.dim_account_health"
    )
    assert rows == accounts > 50
    assert active > 0


def test_incremental_days_equal_a_full_refresh(
    tmp_path: Path,
    healthgen_extract: HealthgenExtract,
    clean_build: tuple[DbtProject, dbtRunnerResult],
) -> None:
    """Build on the extract as of day 148, then deliver days 149 and 150 as the generator
    delivers them (new part files of the event tables, new snapshots of the others) with
    incremental runs.

    Every health mart and every incremental intermediate model must equal the full build
    on the 150-day extract. Since the 148-day extract knows nothing after day 148, this
    also shows that the scores of earlier days use only data timestamped on or before them.
    The optional stakeholder events are absent from the first delivery: when they arrive,
    the models reading them recompute their history, not only the last days.
    """
    full_project, _ = clean_build
    raw = tmp_path / "raw"
    shutil.copytree(healthgen_extract(accounts=80, days=148, seed=7), raw)
    shutil.rmtree(raw / "stakeholder_events")
    project = project_for(tmp_path, raw)
    first = project.invoke("build")
    assert first.success, first.exception
    first_days = project.query("select count(*) from marts.fct_account_health_daily")[0][0]
    assert project.query(
        "select availability from marts.rpt_raw_table_quality"
        " where table_name = 'stakeholder_events'"
    ) == [("not_available",)]
    log = project.work_dir / "logs" / "dbt.log"
    kept_before: dict[int, date] = {}
    for days in (148, 149):
        logged_before = len(log.read_text())
        delivery = next_day_delivery(tmp_path / f"day_{days + 1}", accounts=80, days=days, seed=7)
        deliver_next_day(delivery, raw)
        result = project.invoke("build", *DAILY)
        assert result.success, result.exception
        logged = log.read_text()[logged_before:]
        recomputed = set(re.findall(r"(\w+): an optional raw table", logged))
        # Day 149 brings the stakeholder events: the models reading them recompute their
        # history; day 150 changes no availability.
        assert recomputed == (RECOMPUTED_FOR_STAKEHOLDER_EVENTS if days == 148 else set())
        (kept,) = re.findall(r"fct_csm_actions: keeping the actions closed before (\S+);", logged)
        kept_before[days + 1] = date.fromisoformat(kept)
    last_days = project.query("select count(*) from marts.fct_account_health_daily")[0][0]
    assert last_days > first_days
    # The action queue keeps its last build's actions closed before the first trigger day
    # int_csm_play_events recomputed: on day 149 that is before every trigger (the triggers'
    # history was recomputed), on day 150 the playbook's longest expiry plus the lookback
    # before day 149; it chains only the triggers after them, and equals the full build.
    (first_trigger, last_day, longest_expiry) = project.query(
        "select min(trigger_date), max(trigger_date),"
        " (select max(expire_days) from config.csm_plays) from intermediate.int_csm_play_events"
    )[0]
    assert kept_before[149] <= first_trigger
    lookback = project_vars(PROJECT_DIR)["incremental_lookback_days"]
    assert (last_day - kept_before[150]).days == 1 + lookback + longest_expiry
    for relation in (*HEALTH_MARTS, *INCREMENTAL_INTERMEDIATES):
        assert table_rows(project, relation) == table_rows(full_project, relation), relation
    # The last run rewrote a window of each model replaced by window, not its whole table,
    # and its windowed tests checked that window.
    windows = dict(
        project.query("select model_name, cast(window_start as date) from raw_intake.test_windows")
    )
    last_day = project.query("select max(score_date) from marts.fct_account_health_daily")[0][0]
    for model in (*WINDOW_REPLACED, "fct_account_health_daily", "int_account_days"):
        assert windows.get(model) is not None, model
        # (the weekly rollup's window starts on a Monday)
        assert 0 < (last_day - windows[model]).days <= 3 + 6, (model, windows[model])
    # the last day (2024-05-29) ends the 90-day horizon of the month-end 2024-02-29: the
    # monthly models recomputed with the new key
    reasons = project.query(
        "select distinct recompute_reason from intermediate.int_monthly_recompute"
    )
    assert reasons == [("new_key",)], reasons


def test_monthly_models_keep_their_rows_until_a_month_end_or_horizon_passes(
    tmp_path: Path, clean_build: tuple[DbtProject, dbtRunnerResult]
) -> None:
    """With the same as-of date and monthly key, and no late-data days to settle, the
    monthly models keep the rows of their last build (no retraining); a var asks for a
    recompute."""
    project = copy_of(clean_build[0], tmp_path)
    settled = {"incremental_lookback_days": 0}
    result = project.invoke(
        "build",
        "--select",
        "+tag:monthly",
        dbt_vars=settled,
    )
    assert result.success, result.exception
    schedule = project.query(
        "select model_name, needs_recompute, recompute_reason"
        " from intermediate.int_monthly_recompute order by 1"
    )
    assert len(schedule) == 12, schedule
    assert not any(row[1] for row in schedule), schedule
    kept = re.findall(r"(\w+): no new month-end", (tmp_path / "logs" / "dbt.log").read_text())
    # the eleven SQL models say so in the log (the Python scorecard, equal below, does not)
    assert len(set(kept)) == 11, kept
    for relation in ("marts.rpt_churn_model_scorecard", "marts.rpt_health_weight_candidates"):
        assert table_rows(project, relation) == table_rows(clean_build[0], relation), relation
    asked = project.invoke(
        "run", "--select", "int_monthly_recompute", dbt_vars={**settled, "monthly_recompute": True}
    )
    assert asked.success, asked.exception
    assert project.query(
        "select distinct recompute_reason from intermediate.int_monthly_recompute"
    ) == [("always",)]


def test_history_unchanged_fails_when_an_older_day_is_touched(
    tmp_path: Path, clean_build: tuple[DbtProject, dbtRunnerResult]
) -> None:
    """The per-day row counts and checksums catch a changed row before the recompute
    window, which the windowed tests no longer read."""
    project = copy_of(clean_build[0], tmp_path)
    selected = ("--select", "fct_account_health_daily,test_name:history_unchanged")
    assert project.invoke("test", *selected).success
    project.query(
        "update marts.fct_account_health_daily set health_score = health_score + 1"
        " where score_date = (select min(score_date) + 20 from marts.fct_account_health_daily)"
        " and health_score is not null"
    )
    changed = project.invoke("test", *selected)
    assert not changed.success
    assert statuses(changed)["history_unchanged_fct_account_health_daily_score_date"] == "fail"


CONFIG_BREAKS = {
    "weights_not_summing_to_one": (
        "health_score_weights.csv",
        "all,all,usage,0.30",
        "all,all,usage,0.35",
        "assert_weight_sets_are_complete_and_sum_to_one",
    ),
    "gap_between_bands": (
        "health_bands.csv",
        "needs_attention,Needs attention,#eab308,2,60,80",
        "needs_attention,Needs attention,#eab308,2,61,80",
        "assert_health_bands_cover_0_to_100_without_gaps_or_overlaps",
    ),
    "override_longer_than_90_days": (
        "health_score_overrides.csv",
        "2025-06-02,2025-06-30",
        "2025-06-02,2025-09-01",
        "override_expires_within_max_days",
    ),
    "override_without_expiry": (
        "health_score_overrides.csv",
        "2025-06-02,2025-06-30",
        "2025-06-02,",
        "column_values_health_score_overrides",
    ),
    "weights_for_an_unknown_segment": (
        "health_score_weights.csv",
        "all,all,usage,0.30",
        "Mid Market,all,usage,0.30",
        "column_values_health_score_weights",
    ),
    "play_for_an_unknown_flag": (
        "csm_plays.csv",
        "red_flag,license_waste,",
        "red_flag,licence_waste,",
        "assert_csm_plays_name_existing_triggers",
    ),
    "points_above_the_cap": (
        "health_scoring_rules.csv",
        "usage,active_day_rate,cohort_percentile,0.1,0.9,10,",
        "usage,active_day_rate,cohort_percentile,0.1,0.9,1001,",
        "scoring_rule_points_within_0_to_1000",
    ),
    "rule_for_an_unknown_signal": (
        "health_scoring_rules.csv",
        "usage,usage_trend_rate,",
        "usage,usage_trend_ratio,",
        "assert_scoring_rules_match_the_scored_signals",
    ),
}

# The column and rule a column_values test reports for a break.
BROKEN_RULES = {
    "override_without_expiry": ("expires_at", "not_null"),
    "weights_for_an_unknown_segment": ("segment", "accepted_values"),
}


@pytest.mark.parametrize("case", sorted(CONFIG_BREAKS))
def test_broken_configuration_fails_its_test(
    case: str, tmp_path: Path, clean_build: tuple[DbtProject, dbtRunnerResult]
) -> None:
    seed_file, old, new, failing_test = CONFIG_BREAKS[case]
    project_dir = copy_project(tmp_path / "project")
    seed_path = project_dir / "seeds" / seed_file
    text = seed_path.read_text()
    assert old in text
    seed_path.write_text(text.replace(old, new, 1))
    clean, _ = clean_build
    project = DbtProject(
        raw_dir=clean.raw_dir,
        db_path=tmp_path / "config.duckdb",
        work_dir=tmp_path,
        project_dir=project_dir,
    )
    result = project.invoke(
        "build",
        "--select",
        "resource_type:seed",
        "+stg_crm__accounts",
        "--indirect-selection",
        "cautious",
    )
    outcome = statuses(result)
    assert outcome.get(failing_test) == "fail", {k: v for k, v in outcome.items() if v != "pass"}
    if case in BROKEN_RULES:
        # the merged column test names the one rule the row breaks
        assert broken_rules(project, result, failing_test) == {BROKEN_RULES[case]: 1}


def test_without_enough_churns_there_is_no_churn_model_and_the_marts_say_so(
    clean_build: tuple[DbtProject, dbtRunnerResult],
) -> None:
    """80 accounts over 150 days: too few churns are known for a churn model (cold start)."""
    project, _ = clean_build
    versions = project.query(
        "select version_status, version_note, known_churned_observations,"
        " min_churned_observations from marts.rpt_churn_model_versions order by version_date"
    )
    assert versions, "a month-end without a row in rpt_churn_model_versions"
    for status, note, known, needed in versions:
        assert status == "too_few_churns", (status, note)
        assert known < needed
        assert f"{known} churned observations known, {needed} needed" in note
    assert project.query("select count(*) from marts.rpt_churn_model_scorecard") == [(0,)]
    assert project.query(
        "select distinct churn_model_status, churn_probability_90d, churn_risk_level"
        " from marts.dim_account_health"
    ) == [("no_model", None, None)]
    assert project.query(
        "select distinct churn_model_status from marts.fct_account_churn_risk_daily"
    ) == [("no_model",)]
    assert project.query(
        "select count(*) from marts.sync_crm_account_health"
        " where health_churn_probability_90d is not null or health_churn_risk_level is not null"
    ) == [(0,)]
    # The rules score stands alone.
    assert (
        project.query(
            "select count(*) from marts.dim_account_health where health_score is not null"
        )[0][0]
        > 0
    )
