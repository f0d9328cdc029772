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
    """What counts as a mover, a renewal at risk, a recent alert and a recently closed
    CSM action."""

    movers: int = 10
    renewal_days: int = 90
    risk_bands: tuple[str, ...] = ("at_risk", "critical")
    alert_days: int = 7
    max_alerts: int = 200
    churn_risk_accounts: int = 10
    new_red_flags: int = 15
    expansion_candidates: int = 15
    # closed CSM actions shown on an account page: those closed in these many days
    closed_action_days: int = 90


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
    churn_model: ChurnModel | None = None
    # None: the release has no such mart (built before the account assessment)
    account_flags: dict[str, list[HealthFlag]] | None = None
    unevaluated_flags: list[UnevaluatedFlag] | None = None
    new_red_flags: list[HealthFlag] | None = None
    expansion_candidates: list[dict[str, Any]] | None = None
    expansion_backtest: list[ExpansionBacktestRow] | None = None
    category_weights: dict[str, dict[str, float | None]] = field(default_factory=dict)

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


# The churn model and the two predictors it is judged against, in the order shown.
CHURN_MODELS = ("churn_model", "health_score", "key_events_30d")
CHURN_MODEL_LABELS = {
    "churn_model": "churn model",
    "health_score": "rules health score",
    "key_events_30d": "baseline: key events, last 30 days",
}


def column_exists(con: duckdb.DuckDBPyConnection, schema: str, name: str, column: str) -> bool:
    """Whether the table or view `schema.name` has the column."""
    row = con.execute(
        """
        select count(*) from information_schema.columns
        where table_schema = ? and table_name = ? and column_name = ?
        """,
        [schema, name, column],
    ).fetchone()
    return bool(row and row[0])


@dataclass(frozen=True)
class ChurnModelStatus:
    """The churn model version of the last scored month-end, or why there is none.

    `status` is that of rpt_churn_model_versions (trained, too_few_churns, not_trained), or
    `no_month_end` before the first month-end is scored. For a trained version the training
    counts are the observations it learned from."""

    status: str
    note: str
    version_date: dt.date | None = None
    training_observations: int = 0
    training_churned: int = 0
    min_churned_observations: int | None = None
    feature_count: int | None = None
    first_training_date: dt.date | None = None
    last_training_date: dt.date | None = None

    @property
    def is_trained(self) -> bool:
        return self.status == "trained"

    @property
    def reason(self) -> str:
        """Why there is no model, ending in what that means for the scores."""
        if self.note.endswith("the rules score stands alone"):
            return self.note
        return f"{self.note}; the rules score stands alone"


@dataclass(frozen=True)
class ChurnModelMetrics:
    """One model's out-of-time back-test in one segment (`all`: the portfolio)."""

    segment: str
    model_name: str
    observations: int
    churned_observations: int
    churn_rate: float | None
    churn_auc: float | None
    top_risk_share: float | None
    top_risk_lift: float | None
    brier_score: float | None
    mean_predicted_probability: float | None
    calibration_error: float | None
    max_decile_calibration_gap: float | None
    has_enough_churned: bool
    first_as_of_date: dt.date | None
    last_as_of_date: dt.date | None

    @property
    def label(self) -> str:
        return CHURN_MODEL_LABELS.get(self.model_name, self.model_name)


@dataclass(frozen=True)
class CalibrationDecile:
    """One tenth of a model's back-tested predictions, by predicted probability."""

    model_name: str
    decile: int
    observations: int
    churned_observations: int
    mean_predicted_probability: float
    observed_churn_rate: float


@dataclass(frozen=True)
class ChurnRiskAccount:
    """An active account's churn probability today and the features adding most to it."""

    account_id: str
    account_name: str | None
    segment: str | None
    churn_probability: float
    risk_level: str | None
    risk_factors: tuple[str, ...]


@dataclass(frozen=True)
class ChurnModel:
    """Everything the churn model section shows."""

    status: ChurnModelStatus
    backtest: list[ChurnModelMetrics] = field(default_factory=list)
    calibration: list[CalibrationDecile] = field(default_factory=list)
    risk_accounts: list[ChurnRiskAccount] = field(default_factory=list)

    def metrics(self, segment: str = "all") -> list[ChurnModelMetrics]:
        return [row for row in self.backtest if row.segment == segment]

    @property
    def segment_metrics(self) -> list[ChurnModelMetrics]:
        """The segments' rows with enough churned observations to be judged on their own."""
        return [row for row in self.backtest if row.segment != "all" and row.has_enough_churned]


def _model_order(model_name: str) -> int:
    return CHURN_MODELS.index(model_name) if model_name in CHURN_MODELS else len(CHURN_MODELS)


def _float(value: float | None) -> float | None:
    return None if value is None else float(value)


def read_churn_model_status(con: duckdb.DuckDBPyConnection) -> ChurnModelStatus | None:
    """The version of the last month-end in rpt_churn_model_versions; None when the warehouse
    has no churn model marts."""
    if not relation_exists(con, "marts", "rpt_churn_model_versions"):
        return None
    row = con.execute(
        """
        select version_date, version_status, version_note, known_observations,
            known_churned_observations, min_churned_observations, feature_count,
            first_training_date, last_training_date
        from marts.rpt_churn_model_versions
        order by version_date desc
        limit 1
        """
    ).fetchone()
    if row is None:
        return ChurnModelStatus(
            status="no_month_end",
            note="no month-end scored yet, so no churn outcome is known",
        )
    date, status, note, known, churned, needed, features, first, last = row
    return ChurnModelStatus(
        status=str(status),
        note=str(note or status),
        version_date=date,
        training_observations=int(known or 0),
        training_churned=int(churned or 0),
        min_churned_observations=None if needed is None else int(needed),
        feature_count=None if features is None else int(features),
        first_training_date=first,
        last_training_date=last,
    )


def read_churn_model_backtest(
    con: duckdb.DuckDBPyConnection, segment: str | None = None
) -> list[ChurnModelMetrics]:
    """The back-test rows of rpt_churn_model_backtest (of one segment, or all: the portfolio
    first, then the segments by name), each segment's models in `CHURN_MODELS` order; empty
    when the mart is absent."""
    if not relation_exists(con, "marts", "rpt_churn_model_backtest"):
        return []
    rows = con.execute(
        """
        select segment, model_name, observations, churned_observations, churn_rate, churn_auc,
            top_risk_share, top_risk_lift, brier_score, mean_predicted_probability,
            calibration_error, max_decile_calibration_gap, has_enough_churned,
            first_as_of_date, last_as_of_date
        from marts.rpt_churn_model_backtest
        where ? is null or segment = ?
        """,
        [segment, segment],
    ).fetchall()
    metrics = [
        ChurnModelMetrics(
            segment=str(segment_name),
            model_name=str(model_name),
            observations=int(observations),
            churned_observations=int(churned),
            churn_rate=_float(rate),
            churn_auc=_float(auc),
            top_risk_share=_float(share),
            top_risk_lift=_float(lift),
            brier_score=_float(brier),
            mean_predicted_probability=_float(mean),
            calibration_error=_float(error),
            max_decile_calibration_gap=_float(gap),
            has_enough_churned=bool(enough),
            first_as_of_date=first,
            last_as_of_date=last,
        )
        for (
            segment_name,
            model_name,
            observations,
            churned,
            rate,
            auc,
            share,
            lift,
            brier,
            mean,
            error,
            gap,
            enough,
            first,
            last,
        ) in rows
    ]
    return sorted(
        metrics,
        key=lambda m: (m.segment != "all", m.segment, _model_order(m.model_name), m.model_name),
    )


def read_churn_model_calibration(
    con: duckdb.DuckDBPyConnection, segment: str = "all"
) -> list[CalibrationDecile]:
    """Each model's deciles of one segment (rpt_churn_model_calibration), by model then
    decile; empty when the mart is absent."""
    if not relation_exists(con, "marts", "rpt_churn_model_calibration"):
        return []
    rows = con.execute(
        """
        select model_name, decile, observations, churned_observations,
            mean_predicted_probability, observed_churn_rate
        from marts.rpt_churn_model_calibration
        where segment = ?
        """,
        [segment],
    ).fetchall()
    deciles = [
        CalibrationDecile(
            model_name=str(model_name),
            decile=int(decile),
            observations=int(observations),
            churned_observations=int(churned),
            mean_predicted_probability=float(mean),
            observed_churn_rate=float(observed),
        )
        for model_name, decile, observations, churned, mean, observed in rows
    ]
    return sorted(deciles, key=lambda d: (_model_order(d.model_name), d.model_name, d.decile))


def read_churn_risk_accounts(
    con: duckdb.DuckDBPyConnection, limit: int = 10
) -> list[ChurnRiskAccount]:
    """The active accounts the churn model scores most likely to churn (dim_account_health),
    highest probability first; empty when the accounts carry no churn probability."""
    if not column_exists(con, "marts", "dim_account_health", "churn_probability_90d"):
        return []
    rows = con.execute(
        """
        select account_id, account_name, segment, churn_probability_90d, churn_risk_level,
            churn_risk_factors
        from marts.dim_account_health
        where is_active and churn_probability_90d is not null
        order by churn_probability_90d desc, account_id
        limit ?
        """,
        [limit],
    ).fetchall()
    return [
        ChurnRiskAccount(
            account_id=str(account_id),
            account_name=name,
            segment=segment,
            churn_probability=float(probability),
            risk_level=level,
            risk_factors=tuple(part for part in (factors or "").split("; ") if part),
        )
        for account_id, name, segment, probability, level, factors in rows
    ]


def read_churn_model(con: duckdb.DuckDBPyConnection, accounts: int = 10) -> ChurnModel | None:
    """The churn model section's data: its status, and once a version is trained the
    portfolio and segment back-test, the portfolio's calibration and the `accounts` riskiest
    active accounts; None when the warehouse has no churn model marts."""
    status = read_churn_model_status(con)
    if status is None:
        return None
    if not status.is_trained:
        return ChurnModel(status)
    return ChurnModel(
        status,
        backtest=read_churn_model_backtest(con),
        calibration=read_churn_model_calibration(con, "all"),
        risk_accounts=read_churn_risk_accounts(con, accounts),
    )


# Severities of the red flags and green lights, most severe first.
SEVERITY_RANKS = {"high": 3, "medium": 2, "low": 1}


@dataclass(frozen=True)
class HealthFlag:
    """A red flag or green light holding for an account on its last scored day
    (fct_account_health_flags)."""

    account_id: str
    flag_id: str
    flag_type: str
    category_id: str | None
    severity: str | None
    severity_rank: int
    flag_label: str
    evidence: str | None
    first_held_date: dt.date | None
    days_held: int | None
    is_new: bool
    account_name: str | None = None

    @property
    def is_red(self) -> bool:
        return self.flag_type == "red_flag"


@dataclass(frozen=True)
class UnevaluatedFlag:
    """A red flag or green light the deployment cannot evaluate, and the data it lacks
    (rpt_health_flags)."""

    flag_id: str
    flag_type: str
    category_id: str | None
    flag_label: str
    missing_data: str | None

    @property
    def is_red(self) -> bool:
        return self.flag_type == "red_flag"


@dataclass(frozen=True)
class ExpansionBacktestRow:
    """How often the account-months of one expansion level expanded, churned or contracted
    afterwards (rpt_expansion_backtest); `expansion_level` 'all' is every level."""

    segment: str
    expansion_level: str
    observations: int
    expanded_observations: int
    expansion_rate: float | None
    churned_observations: int
    churn_rate: float | None
    contracted_observations: int
    contraction_rate: float | None
    expansion_auc: float | None
    health_score_expansion_auc: float | None
    has_enough_expanded: bool
    first_as_of_date: dt.date | None
    last_as_of_date: dt.date | None


# The expansion levels in the order shown; 'all' (every level) closes the table.
EXPANSION_LEVELS = ("low", "medium", "high")

_FLAG_COLUMNS = """
    flags.account_id, flags.flag_id, flags.flag_type, flags.category_id, flags.severity,
    flags.severity_rank, flags.flag_label, flags.evidence, flags.first_held_date,
    flags.days_held, flags.is_new, accounts.account_name
"""


def _flag(row: tuple[Any, ...]) -> HealthFlag:
    (
        account_id,
        flag_id,
        flag_type,
        category_id,
        severity,
        severity_rank,
        label,
        evidence,
        first_held,
        days_held,
        is_new,
        account_name,
    ) = row
    return HealthFlag(
        account_id=str(account_id),
        flag_id=str(flag_id),
        flag_type=str(flag_type),
        category_id=category_id,
        severity=severity,
        severity_rank=int(severity_rank or SEVERITY_RANKS.get(severity or "", 0)),
        flag_label=str(label or flag_id),
        evidence=evidence,
        first_held_date=first_held,
        days_held=None if days_held is None else int(days_held),
        is_new=bool(is_new),
        account_name=account_name,
    )


def read_account_flags(con: duckdb.DuckDBPyConnection) -> dict[str, list[HealthFlag]] | None:
    """The red flags and green lights holding on each account's last scored day
    (fct_account_health_flags on dim_account_health's score_date), per account: red flags
    first, the most severe and then the longest held first; None when the mart is absent."""
    if not relation_exists(con, "marts", "fct_account_health_flags"):
        return None
    rows = con.execute(
        f"""
        select {_FLAG_COLUMNS}
        from marts.fct_account_health_flags as flags
        inner join marts.dim_account_health as accounts
            on flags.account_id = accounts.account_id
            and flags.score_date = accounts.score_date
        order by flags.account_id, flags.flag_type <> 'red_flag', flags.severity_rank desc,
            flags.first_held_date, flags.flag_id
        """
    ).fetchall()
    flags: dict[str, list[HealthFlag]] = {}
    for row in rows:
        flag = _flag(row)
        flags.setdefault(flag.account_id, []).append(flag)
    return flags


def read_new_red_flags(con: duckdb.DuckDBPyConnection, limit: int = 15) -> list[HealthFlag] | None:
    """The red flags that started recently (is_new) on the active accounts' last scored
    day: the most severe first, then the most recent, then by account; None when the mart
    is absent."""
    if not relation_exists(con, "marts", "fct_account_health_flags"):
        return None
    rows = con.execute(
        f"""
        select {_FLAG_COLUMNS}
        from marts.fct_account_health_flags as flags
        inner join marts.dim_account_health as accounts
            on flags.account_id = accounts.account_id
            and flags.score_date = accounts.score_date
        where flags.flag_type = 'red_flag' and flags.is_new and accounts.is_active
        order by flags.severity_rank desc, flags.first_held_date desc nulls last,
            flags.account_id, flags.flag_id
        limit ?
        """,
        [limit],
    ).fetchall()
    return [_flag(row) for row in rows]


def read_unevaluated_flags(con: duckdb.DuckDBPyConnection) -> list[UnevaluatedFlag] | None:
    """The flags the deployment cannot evaluate, with the data each lacks (rpt_health_flags),
    red flags first; None when the mart is absent."""
    if not relation_exists(con, "marts", "rpt_health_flags"):
        return None
    rows = con.execute(
        """
        select flag_id, flag_type, category_id, flag_label, missing_data
        from marts.rpt_health_flags
        where not coalesce(is_evaluated, false)
        order by flag_type <> 'red_flag', flag_label, flag_id
        """
    ).fetchall()
    return [
        UnevaluatedFlag(
            flag_id=str(flag_id),
            flag_type=str(flag_type),
            category_id=category_id,
            flag_label=str(label or flag_id),
            missing_data=missing,
        )
        for flag_id, flag_type, category_id, label, missing in rows
    ]


def read_expansion_candidates(
    con: duckdb.DuckDBPyConnection, limit: int = 15
) -> list[dict[str, Any]] | None:
    """The active accounts with the highest expansion score (then the largest potential
    ARR); None when dim_account_health has no expansion assessment."""
    if not column_exists(con, "marts", "dim_account_health", "expansion_score"):
        return None
    return records(
        con,
        """
        select account_id, account_name, segment, csm_owner, health_score, health_band, arr,
            expansion_level, expansion_level_label, expansion_score, expansion_potential_arr,
            expansion_basis, expansion_signals
        from marts.dim_account_health
        where is_active and expansion_score is not null
        order by expansion_score desc, expansion_potential_arr desc nulls last, account_id
        limit ?
        """,
        [limit],
    )


def _level_order(level: str, rank: int | None) -> tuple[bool, int, str]:
    """'all' last; the levels by their rank (low 1 ... high 3) when the mart has it."""
    if rank is None:
        known = EXPANSION_LEVELS.index(level) if level in EXPANSION_LEVELS else None
        rank = len(EXPANSION_LEVELS) if known is None else known
    return level == "all", rank, level


def read_expansion_backtest(
    con: duckdb.DuckDBPyConnection, segment: str = "all"
) -> list[ExpansionBacktestRow] | None:
    """One segment's rows of rpt_expansion_backtest (segment 'all': the portfolio), from the
    lowest expansion level to the highest, then every level ('all'); None when the mart is
    absent."""
    if not relation_exists(con, "marts", "rpt_expansion_backtest"):
        return None
    rank = (
        "level_rank"
        if column_exists(con, "marts", "rpt_expansion_backtest", "level_rank")
        else "null"
    )
    rows = con.execute(
        f"""
        select {rank}, segment, expansion_level, observations, expanded_observations,
            expansion_rate,
            churned_observations, churn_rate, contracted_observations, contraction_rate,
            expansion_auc, health_score_expansion_auc, has_enough_expanded,
            first_as_of_date, last_as_of_date
        from marts.rpt_expansion_backtest
        where segment = ?
        """,
        [segment],
    ).fetchall()
    result = [
        (
            _level_order(str(level), None if level_rank is None else int(level_rank)),
            ExpansionBacktestRow(
                segment=str(segment_name),
                expansion_level=str(level),
                observations=int(observations or 0),
                expanded_observations=int(expanded or 0),
                expansion_rate=_float(expansion_rate),
                churned_observations=int(churned or 0),
                churn_rate=_float(churn_rate),
                contracted_observations=int(contracted or 0),
                contraction_rate=_float(contraction_rate),
                expansion_auc=_float(auc),
                health_score_expansion_auc=_float(health_auc),
                has_enough_expanded=bool(enough),
                first_as_of_date=first,
                last_as_of_date=last,
            ),
        )
        for (
            level_rank,
            segment_name,
            level,
            observations,
            expanded,
            expansion_rate,
            churned,
            churn_rate,
            contracted,
            contraction_rate,
            auc,
            health_auc,
            enough,
            first,
            last,
        ) in rows
    ]
    return [row for _, row in sorted(result, key=lambda pair: pair[0])]


def _weight_columns(
    con: duckdb.DuckDBPyConnection, table: str, names: Sequence[str]
) -> dict[str, str]:
    """Each category's effective weight column in `marts.table`: `<category>_effective_weight`
    or, as fct_account_health_daily names it, `<category>_weight`."""
    found: dict[str, str] = {}
    for name in names:
        for column in (f"{name}_effective_weight", f"{name}_weight"):
            if column_exists(con, "marts", table, column):
                found[name] = column
                break
    return found


def read_category_weights(
    con: duckdb.DuckDBPyConnection, categories: Sequence[Category]
) -> dict[str, dict[str, float | None]]:
    """Each account's effective category weights (shares summing to 1 over the categories
    with data) on its last scored day: from dim_account_health when it has them, else from
    fct_account_health_daily on the dim's score_date; empty when neither has them."""
    names = [category.category_id for category in categories]
    columns = _weight_columns(con, "dim_account_health", names)
    if columns:
        source = "from marts.dim_account_health as accounts"
        table = "accounts"
    else:
        columns = _weight_columns(con, "fct_account_health_daily", names)
        if not columns:
            return {}
        source = """
            from marts.dim_account_health as accounts
            inner join marts.fct_account_health_daily as daily
                on accounts.account_id = daily.account_id
                and accounts.score_date = daily.score_date
        """
        table = "daily"
    selected = "".join(f', {table}."{column}"' for column in columns.values())
    weights: dict[str, dict[str, float | None]] = {}
    for account_id, *values in con.execute(
        f"select accounts.account_id{selected} {source}"
    ).fetchall():
        weights[str(account_id)] = {
            name: _float(value) for name, value in zip(columns, values, strict=True)
        }
    return weights


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
    categories = read_categories(con)
    return Portfolio(
        as_of_date=as_of,
        release=release,
        bands=read_bands(con),
        categories=categories,
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
        churn_model=read_churn_model(con, settings.churn_risk_accounts),
        account_flags=read_account_flags(con),
        unevaluated_flags=read_unevaluated_flags(con),
        new_red_flags=read_new_red_flags(con, settings.new_red_flags),
        expansion_candidates=read_expansion_candidates(con, settings.expansion_candidates),
        expansion_backtest=read_expansion_backtest(con, "all"),
        category_weights=read_category_weights(con, categories),
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
