"""What the report shows, read from the serving database (read-only)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import duckdb

from customer_health.decision_tree.dsl import DecisionDag, parse_dag


@dataclass(frozen=True)
class Band:
    band_id: str
    label: str
    color: str
    rank: int
    lower: float | None
    upper: float | None


@dataclass(frozen=True)
class Category:
    category_id: str
    label: str


@dataclass(frozen=True)
class ReportSettings:
    """What counts as a mover, a renewal at risk and a recent alert."""

    movers: int = 10
    renewal_days: int = 90
    risk_bands: tuple[str, ...] = ("at_risk", "critical")
    alert_days: int = 7
    max_alerts: int = 200


@dataclass
class AccountHistory:
    """One account's daily scores: parallel lists by score date."""

    dates: list[dt.date] = field(default_factory=list)
    scores: list[float | None] = field(default_factory=list)
    bands: list[str] = field(default_factory=list)
    contributions: dict[str, list[float | None]] = field(default_factory=dict)


@dataclass
class Portfolio:
    """Everything on the portfolio page, and the accounts behind the account pages."""

    as_of_date: dt.date
    release: dict[str, Any]
    bands: list[Band]
    categories: list[Category]
    accounts: list[dict[str, Any]]
    band_mix: list[dict[str, Any]]
    fallers: list[dict[str, Any]]
    risers: list[dict[str, Any]]
    renewals_at_risk: list[dict[str, Any]]
    alerts: list[dict[str, Any]]
    alert_count: int
    backtest_bands: list[dict[str, Any]]
    backtest_metrics: list[dict[str, Any]]
    tree: DecisionDag | None
    missing_data: list[MissingData] = field(default_factory=list)
    categories_left_out: list[str] = field(default_factory=list)

    def band(self, band_id: str | None) -> Band | None:
        return next((band for band in self.bands if band.band_id == band_id), None)


def records(
    con: duckdb.DuckDBPyConnection, sql: str, params: Sequence[object] = ()
) -> list[dict[str, Any]]:
    """The rows of a query as dicts."""
    cursor = con.execute(sql, list(params))
    names = [column[0] for column in cursor.description or []]
    return [dict(zip(names, row, strict=True)) for row in cursor.fetchall()]


@dataclass(frozen=True)
class MissingData:
    """Data the deployment lacks, and the scored signals it would add."""

    requirement: str
    description: str
    signals: tuple[str, ...]
    categories: tuple[str, ...]


def read_missing_data(con: duckdb.DuckDBPyConnection) -> list[MissingData]:
    """Each check a signal needs and the deployment fails (rpt_signal_availability), with
    the signals it would add; empty when every signal has its data or the mart is absent."""
    if not relation_exists(con, "marts", "rpt_signal_availability"):
        return []
    rows = con.execute(
        """
        select category_label, signal_name, missing_requirements, missing_data
        from marts.rpt_signal_availability
        where not is_available
        order by category_order, signal_order
        """
    ).fetchall()
    found: dict[str, tuple[str, list[str], list[str]]] = {}
    for category, signal, requirements, descriptions in rows:
        # both lists are in the order of the requirement names
        pairs = zip(requirements.split(", "), descriptions.split("; "), strict=True)
        for requirement, description in pairs:
            _, signals, categories = found.setdefault(requirement, (description, [], []))
            signals.append(signal)
            if category not in categories:
                categories.append(category)
    return [
        MissingData(requirement, description, tuple(signals), tuple(categories))
        for requirement, (description, signals, categories) in sorted(found.items())
    ]


def read_categories_left_out(con: duckdb.DuckDBPyConnection) -> list[str]:
    """Labels of the categories without any available signal: left out of every score."""
    if not relation_exists(con, "marts", "rpt_signal_availability"):
        return []
    rows = con.execute(
        """
        select category_label
        from marts.rpt_signal_availability
        group by category_label, category_order
        having not bool_or(is_available)
        order by category_order
        """
    ).fetchall()
    return [label for (label,) in rows]


def relation_exists(con: duckdb.DuckDBPyConnection, schema: str, name: str) -> bool:
    """Whether `schema.name` is a table or view in the database."""
    row = con.execute(
        "select count(*) from information_schema.tables where table_schema = ? and table_name = ?",
        [schema, name],
    ).fetchone()
    return bool(row and row[0])


def read_bands(con: duckdb.DuckDBPyConnection) -> list[Band]:
    rows = con.execute(
        """
        select band_id, band_label, band_color, band_rank, lower_bound, upper_bound
        from config.health_bands
        order by band_rank
        """
    ).fetchall()
    return [
        Band(
            band_id=str(band_id),
            label=str(label),
            color=str(color),
            rank=int(rank),
            lower=None if lower is None else float(lower),
            upper=None if upper is None else float(upper),
        )
        for band_id, label, color, rank, lower, upper in rows
    ]


def read_categories(con: duckdb.DuckDBPyConnection) -> list[Category]:
    rows = con.execute(
        "select category_id, category_label from config.health_categories order by sort_order"
    ).fetchall()
    return [Category(str(category_id), str(label)) for category_id, label in rows]


def read_tree(con: duckdb.DuckDBPyConnection) -> DecisionDag | None:
    """The decision tree the scores were computed with, when the release serves it."""
    if not relation_exists(con, "intermediate", "int_decision_tree_definition"):
        return None
    row = con.execute(
        "select dsl_text, dsl_path from intermediate.int_decision_tree_definition"
    ).fetchone()
    return parse_dag(str(row[0]), source=str(row[1])) if row else None


def read_portfolio(
    con: duckdb.DuckDBPyConnection,
    settings: ReportSettings,
    alerts_by_account: Mapping[str, Sequence[dict[str, Any]]],
) -> Portfolio:
    """The portfolio page's data as of the served scores' last day; the recent alerts are
    taken from every account's alerts (`account_events`)."""
    as_of_row = con.execute("select max(as_of_date) from marts.dim_account_health").fetchone()
    if not as_of_row or as_of_row[0] is None:
        raise ValueError("marts.dim_account_health is empty: nothing to report")
    as_of: dt.date = as_of_row[0]
    release = (
        records(con, "select * from main.release_info")[0]
        if relation_exists(con, "main", "release_info")
        else {}
    )
    accounts = records(
        con,
        """
        select accounts.*, bands.band_rank, bands.band_color, bands.band_label
        from marts.dim_account_health as accounts
        left join config.health_bands as bands on accounts.health_band = bands.band_id
        order by accounts.health_score nulls last, accounts.account_id
        """,
    )
    active = [account for account in accounts if account["is_active"]]
    moving = [a for a in active if a["score_change_30d"] is not None]
    fallers = sorted(moving, key=lambda a: (a["score_change_30d"], a["account_id"]))
    risers = sorted(moving, key=lambda a: (-a["score_change_30d"], a["account_id"]))
    renewals = sorted(
        (
            a
            for a in active
            if a["days_to_renewal"] is not None
            and 0 <= a["days_to_renewal"] <= settings.renewal_days
            and a["health_band"] in settings.risk_bands
        ),
        key=lambda a: (a["days_to_renewal"], a["account_id"]),
    )
    since = as_of - dt.timedelta(days=settings.alert_days)
    by_id = {account["account_id"]: account for account in accounts}
    alerts = sorted(
        (
            {
                **alert,
                "account_name": by_id.get(account_id, {}).get("account_name"),
                "csm_owner": by_id.get(account_id, {}).get("csm_owner"),
            }
            for account_id, account_alerts in alerts_by_account.items()
            for alert in account_alerts
            if since < alert["alert_date"] <= as_of
        ),
        key=lambda a: (-a["alert_date"].toordinal(), a["account_id"], a["alert_type"]),
    )
    band_mix = records(
        con,
        """
        select week_start_date, health_band, sum(account_count) as account_count
        from marts.rpt_portfolio_health_weekly
        group by week_start_date, health_band
        order by week_start_date, health_band
        """,
    )
    backtest_bands: list[dict[str, Any]] = []
    backtest_metrics: list[dict[str, Any]] = []
    if relation_exists(con, "marts", "rpt_health_backtest_bands"):
        backtest_bands = records(
            con,
            """
            select assessment_value, assessment_label, assessment_color, band_rank,
                observations, churned_observations, churn_rate, share_of_observations
            from marts.rpt_health_backtest_bands
            where period = 'overall' and segment = 'all' and assessment = 'score_band'
            order by band_rank
            """,
        )
        backtest_metrics = records(
            con,
            """
            select predictor, observations, churned_observations, churn_rate, churn_auc,
                top_risk_lift, is_below_auc_floor
            from marts.rpt_health_backtest_metrics
            where period = 'overall' and segment = 'all'
            order by
                case predictor when 'health_score' then 0 when 'key_events_30d' then 1 else 2 end,
                churn_auc desc
            """,
        )
    return Portfolio(
        as_of_date=as_of,
        release=release,
        bands=read_bands(con),
        categories=read_categories(con),
        accounts=accounts,
        band_mix=band_mix,
        fallers=fallers[: settings.movers],
        risers=risers[: settings.movers],
        renewals_at_risk=renewals,
        alerts=alerts[: settings.max_alerts],
        alert_count=len(alerts),
        backtest_bands=backtest_bands,
        backtest_metrics=backtest_metrics,
        tree=read_tree(con),
        missing_data=read_missing_data(con),
        categories_left_out=read_categories_left_out(con),
    )


def read_histories(
    con: duckdb.DuckDBPyConnection, categories: Sequence[Category]
) -> dict[str, AccountHistory]:
    """Every account's daily scores and each category's contribution
    (`<category_id>_contribution`), in one pass."""
    names = [category.category_id for category in categories]
    contributions = "".join(f", {name}_contribution" for name in names)
    cursor = con.execute(
        f"""
        select account_id, score_date, health_score, health_band{contributions}
        from marts.fct_account_health_daily
        order by account_id, score_date
        """
    )
    histories: dict[str, AccountHistory] = {}
    while batch := cursor.fetchmany(50_000):
        for account_id, score_date, score, band, *parts in batch:
            history = histories.get(account_id)
            if history is None:
                history = AccountHistory(contributions={name: [] for name in names})
                histories[account_id] = history
            history.dates.append(score_date)
            history.scores.append(score)
            history.bands.append(band)
            for name, value in zip(names, parts, strict=True):
                history.contributions[name].append(value)
    return histories


def account_events(
    con: duckdb.DuckDBPyConnection,
) -> tuple[dict[str, list[dict[str, Any]]], dict[str, list[dict[str, Any]]]]:
    """Alerts and band transitions per account, newest first."""
    alerts: dict[str, list[dict[str, Any]]] = {}
    for row in records(
        con, "select * from marts.fct_health_alerts order by alert_date desc, alert_type"
    ):
        alerts.setdefault(row["account_id"], []).append(row)
    transitions: dict[str, list[dict[str, Any]]] = {}
    for row in records(
        con, "select * from marts.fct_health_band_transitions order by transition_date desc"
    ):
        transitions.setdefault(row["account_id"], []).append(row)
    return alerts, transitions
