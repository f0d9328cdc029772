"""The body of the dbt Python model `rpt_churn_model_scorecard` (DuckDB).

The model passes the observation mart and two config strings written from the project's
vars: the feature names (comma-separated) and the training settings (JSON). The scorecard
comes back as a DuckDB relation with the mart's columns and types.
"""

from __future__ import annotations

import json

import duckdb
import pyarrow as pa

from customer_health.churn_model.scorecard import (
    COMPARISON_MODELS,
    SCORECARD_SCHEMA,
    Settings,
    fit_walk_forward,
    observations_from_arrow,
    scorecard_table,
)


def parse_settings(text: str) -> Settings:
    """Settings from the JSON the model's config holds (keys as in `Settings`)."""
    values = json.loads(text)
    return Settings(
        horizon_days=int(values["horizon_days"]),
        min_churned=int(values["min_churned"]),
        max_bins=int(values["max_bins"]),
        penalties=tuple(float(value) for value in values["penalties"]),
        validation_share=float(values["validation_share"]),
    )


def scorecard_relation(
    session: duckdb.DuckDBPyConnection,
    observations: duckdb.DuckDBPyRelation,
    score_dates: duckdb.DuckDBPyRelation,
    features: str,
    settings: str,
    previous: str | None = None,
) -> duckdb.DuckDBPyRelation:
    """The scorecard of every month-end version the observations allow (none: no rows).

    `previous` names the scorecard table of the last build: its versions whose training
    rows and settings are unchanged are reused, not trained again."""
    names = [name.strip() for name in features.split(",") if name.strip()]
    unknown = [name for name in names if name not in observations.columns]
    if unknown:
        raise ValueError(f"churn model features that are not observation columns: {unknown}")
    comparisons = {name for spec in COMPARISON_MODELS.values() for name in spec}
    columns = [*names, *sorted(comparisons - set(names))]
    table = observations.order("as_of_date, account_id").to_arrow_table()
    month_ends = (
        score_dates.filter("score_date = last_day(score_date)")
        .project("score_date")
        .to_arrow_table()
        .column("score_date")
        .to_numpy()
        .astype("datetime64[D]")
    )
    fitted = fit_walk_forward(
        observations_from_arrow(table, columns),
        parse_settings(settings),
        names,
        month_ends,
        _previous_scorecard(session, previous),
    )
    scorecard = scorecard_table(fitted)
    assert scorecard.schema.equals(SCORECARD_SCHEMA)
    return session.from_arrow(scorecard)


def _previous_scorecard(
    session: duckdb.DuckDBPyConnection, relation: str | None
) -> pa.Table | None:
    """The last build's scorecard, when it exists and has this build's columns."""
    if relation is None:
        return None
    try:
        table = session.sql(f"select * from {relation}").to_arrow_table()
    except duckdb.CatalogException:
        return None
    if not table.schema.remove_metadata().equals(SCORECARD_SCHEMA):
        return None
    return table
