"""Small hand-written churn model marts in an in-memory DuckDB, for the summary's and the
report's churn model section: the versions, the back-test, the calibration and the accounts'
churn probabilities, with or without a trained version."""

from __future__ import annotations

import duckdb

VERSIONS_COLUMNS = """version_date, version_status, version_note, known_observations,
    known_churned_observations, min_churned_observations, feature_count, penalty_c, intercept,
    first_training_date, last_training_date"""

UNTRAINED_VERSIONS = """
    (date '2024-10-31', 'too_few_churns',
        '42 churned observations known, 50 needed: the rules score stands alone',
        2535, 42, 50, null, null, null, null, null),
    (date '2024-11-30', 'too_few_churns',
        '49 churned observations known, 50 needed: the rules score stands alone',
        2904, 49, 50, null, null, null, null, null)
"""

TRAINED_VERSIONS = """
    (date '2024-12-31', 'trained', 'trained on 3272 observations, 56 churned',
        3272, 56, 50, 38, 0.1, -5.72, date '2024-01-31', date '2024-09-30'),
    (date '2025-05-31', 'trained', 'trained on 5138 observations, 115 churned',
        5138, 115, 50, 38, 0.1, -5.65, date '2024-01-31', date '2025-02-28')
"""

# Out of `CHURN_MODELS` order on purpose: the readers sort.
BACKTEST = """
    ('SMB', 'key_events_30d', 575, 31, 0.0539, 0.65394, 0.1, 1.59899, 0.050821, 0.028,
        0.026781, 0.062, true),
    ('all', 'key_events_30d', 1116, 41, 0.0367, 0.74265, 0.1, 2.18728, 0.035019, 0.0177,
        0.020137, 0.0438, true),
    ('all', 'health_score', 1116, 41, 0.0367, 0.71858, 0.1, 3.15941, 0.035084, 0.0167,
        0.026015, 0.0536, true),
    ('Enterprise', 'churn_model', 219, 0, 0.0, null, 0.1, null, 0.000032, 0.0016,
        0.00165, 0.0132, false),
    ('SMB', 'churn_model', 575, 31, 0.0539, 0.82335, 0.1, 3.83760, 0.049605, 0.0285,
        0.025926, 0.1296, true),
    ('all', 'churn_model', 1116, 41, 0.0367, 0.86169, 0.1, 5.34669, 0.033515, 0.0188,
        0.018774, 0.0799, true),
    ('SMB', 'health_score', 575, 31, 0.0539, 0.70327, 0.1, 2.23860, 0.051208, 0.0203,
        0.034635, 0.1065, true)
"""


def churn_model_db(*, trained: bool = True) -> duckdb.DuckDBPyConnection:
    """The churn model marts; without a trained version the last month-end had too few
    churns known (and the back-test and calibration are empty, as the marts leave them)."""
    con = duckdb.connect()
    con.execute("create schema marts")
    versions = UNTRAINED_VERSIONS + ("," + TRAINED_VERSIONS if trained else "")
    con.execute(
        f"""
        create table marts.rpt_churn_model_versions as
        select * from (values {versions}) as t({VERSIONS_COLUMNS})
        """
    )
    con.execute(
        """
        create table marts.rpt_churn_model_backtest (
            segment varchar, model_name varchar, observations bigint,
            churned_observations bigint, churn_rate double, churn_auc double,
            top_risk_share double, top_risk_lift double, brier_score double,
            mean_predicted_probability double, calibration_error double,
            max_decile_calibration_gap double, has_enough_churned boolean,
            first_as_of_date date, last_as_of_date date
        )
        """
    )
    con.execute(
        """
        create table marts.rpt_churn_model_calibration (
            segment varchar, model_name varchar, decile integer, observations bigint,
            churned_observations bigint, min_predicted_probability double,
            max_predicted_probability double, mean_predicted_probability double,
            observed_churn_rate double, calibration_gap double
        )
        """
    )
    if trained:
        con.execute(
            f"""
            insert into marts.rpt_churn_model_backtest
            select *, date '2024-12-31', date '2025-02-28' from (values {BACKTEST})
            """
        )
        # Deciles d = 1..10 (inserted newest first): the churn model predicts d% and sees
        # 2d% churn; the rules score predicts 3% everywhere and sees d%.
        con.execute(
            """
            insert into marts.rpt_churn_model_calibration
            select segment, model_name, d, 100, churned, predicted, predicted, predicted,
                churned / 100, predicted - churned / 100
            from (
                select 'all' as segment, 'churn_model' as model_name, d, d / 100 as predicted,
                    2 * d as churned
                from range(10, 0, -1) as r(d)
                union all
                select 'all', 'health_score', d, 0.03, d from range(10, 0, -1) as r(d)
                union all
                select 'SMB', 'churn_model', d, 0.5, 50 from range(1, 11) as r(d)
            )
            """
        )
    scored = "'scored'" if trained else "'no_model'"
    version = "date '2025-05-31'" if trained else "null"
    con.execute(
        """
        create table marts.dim_account_health as
        select * from (values
            ('acc_1', 'Low Risk Ltd', 'SMB', true, 0.01234, 'low',
                'arr = 1000.00 (+0.10)'),
            ('acc_2', 'Top Risk Inc', 'Mid-Market', true, 0.53592, 'critical',
                'renews_within_horizon = 1.00 (+1.37); key_events_per_active_day = 1.35 (+0.49);'
                || ' arr = 16960.00 (+0.48)'),
            ('acc_3', 'Gone Co', 'SMB', false, 0.9, 'critical', 'arr = 1.00 (+2.00)'),
            ('acc_4', 'Second Risk GmbH', 'SMB', true, 0.28590, 'high', null),
            ('acc_5', 'Unscored AG', 'Enterprise', true, null, null, null)
        ) as t(account_id, account_name, segment, is_active, churn_probability_90d,
               churn_risk_level, churn_risk_factors)
        """
    )
    con.execute(
        f"""
        create or replace table marts.dim_account_health as
        select *,
            case when churn_probability_90d is null then 'no_model' else {scored} end
                as churn_model_status,
            case when churn_probability_90d is null then null else {version} end
                as churn_model_version
        from marts.dim_account_health
        """
    )
    if not trained:
        con.execute(
            """
            update marts.dim_account_health
            set churn_probability_90d = null, churn_risk_level = null, churn_risk_factors = null
            """
        )
    return con
