"""The churn model's scorecard, trained in the build on DuckDB (a version per month-end).

Training lives in customer_health.churn_model (NumPy and scikit-learn); applying the
scorecard is SQL (fct_account_churn_risk_daily, fct_churn_model_predictions), so every engine
computes the probabilities. Engines without Python models build from_file/ instead.
"""


def model(dbt, session):
    dbt.config(materialized="table")

    # Monthly (tag `monthly`): trained only when int_monthly_recompute says so; otherwise
    # the versions of the last build are kept.
    schedule = dbt.ref("int_monthly_recompute").filter("model_name = 'rpt_churn_model_scorecard'")
    decision = schedule.project("needs_recompute").fetchone()
    if decision is not None and not decision[0]:
        return session.sql(f"select * from {dbt.this}")
    from customer_health.churn_model.dbt_model import scorecard_relation

    return scorecard_relation(
        session,
        observations=dbt.ref("fct_churn_model_observations"),
        score_dates=dbt.ref("int_score_dates"),
        features=dbt.config.get("churn_model_features"),
        settings=dbt.config.get("churn_model_settings"),
        # versions the last build trained from unchanged rows are reused
        previous=str(dbt.this),
    )
