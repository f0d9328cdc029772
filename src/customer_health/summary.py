"""Print a short portfolio summary of a built customer-health warehouse.

Reads the DuckDB file read-only: the data window, raw-data quality (rows staged and
quarantined per table), the data the score does not have (and what each would add), the
freshness of each raw table (from the last `dbt source freshness`), accounts and ARR per
segment, and, once the scoring marts are built, accounts per health band, the worst-scored
accounts, the back-test (does the score predict churn, against the raw-activity
baseline?), the churn model (judged out of time against the score and that baseline, and
the accounts it rates most likely to churn), or why there is none yet, and the CSM action
queue (open actions per CSM by priority, overdue ones, the next due date).
"""

from __future__ import annotations

import argparse
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import duckdb
from rich.console import Console
from rich.markup import escape
from rich.table import Table

from customer_health import dbt_artifacts, settings
from customer_health.report.actions import PRIORITIES, read_action_queue
from customer_health.report.data import (
    ChurnModelStatus,
    read_categories_left_out,
    read_churn_model,
    read_missing_data,
    relation_exists,
)

WORST_ACCOUNTS = 10
CHURN_RISK_ACCOUNTS = 10
CHURN_RISK_STYLES = {"critical": "red", "high": "dark_orange", "medium": "yellow"}
# Freshness statuses of `dbt source freshness`: a stale table warns or errors; `runtime
# error` means its freshness could not be computed (table unreadable, no parseable time).
STALE_STATUSES = ("warn", "error")
FRESHNESS_STYLES = {"warn": "yellow", "error": "red", "runtime error": "red"}


def quality_table(con: duckdb.DuckDBPyConnection) -> Table:
    """Rows per raw table: raw, staged, quarantined, the quarantined share, and whether an
    optional table is not available (absent or empty: its source is left out of the scores)."""
    table = Table(title="Raw data quality")
    for column in ("source.table", "raw rows", "staged", "quarantined", "share", "status"):
        table.add_column(
            column,
            justify="left" if column in ("source.table", "status") else "right",
            no_wrap=column in ("source.table", "status"),
        )
    rows = con.execute(
        """
        select source_name || '.' || table_name, raw_rows, staged_rows, quarantined_rows,
               quarantined_share, availability
        from marts.rpt_raw_table_quality
        order by source_name, table_name
        """
    ).fetchall()
    for name, raw_rows, staged, quarantined, share, availability in rows:
        style = "red" if share > 0.05 else "yellow" if share > 0.01 else ""
        status = "not available" if availability == "not_available" else ""
        table.add_row(
            name,
            f"{raw_rows:,}",
            f"{staged:,}",
            f"{quarantined:,}",
            f"{share:.2%}",
            status,
            style=style or ("dim" if status else ""),
        )
    return table


def _loaded_at(value: object) -> str:
    """A max_loaded_at of sources.json (ISO-8601) as UTC to the second."""
    if not isinstance(value, str):
        return "-"
    try:
        moment = datetime.fromisoformat(value)
    except ValueError:
        return value
    if moment.tzinfo is not None:
        moment = moment.astimezone(UTC)
    return moment.strftime("%Y-%m-%d %H:%M:%S UTC")


def _age(seconds: object) -> str:
    """An age in seconds as minutes, hours or days."""
    if not isinstance(seconds, int | float):
        return "-"
    if seconds < 3600:
        return f"{seconds / 60:.0f} min"
    if seconds < 48 * 3600:
        return f"{seconds / 3600:.1f} h"
    return f"{seconds / 86400:,.1f} d"


def freshness_results(sources: Mapping[str, Any]) -> list[tuple[str, Mapping[str, Any]]]:
    """(source.table, result) per source table of a sources.json, sorted by name."""
    results: list[Mapping[str, Any]] = list(sources.get("results", []))
    named = []
    for result in results:
        unique_id = str(result.get("unique_id", ""))
        # source.<project>.<source>.<table>
        name = ".".join(unique_id.split(".")[2:]) or unique_id
        named.append((name, result))
    return sorted(named, key=lambda item: item[0])


def freshness_table(sources: Mapping[str, Any]) -> Table:
    """Per source table: its newest `_loaded_at`, its age and its freshness status."""
    checked_at = sources.get("metadata", {}).get("generated_at")
    table = Table(
        title="Source freshness"
        + (f" (checked {_loaded_at(checked_at)})" if isinstance(checked_at, str) else "")
    )
    for column in ("source.table", "newest _loaded_at", "age", "status"):
        table.add_column(column, justify="right" if column == "age" else "left")
    for name, result in freshness_results(sources):
        status = str(result.get("status", ""))
        table.add_row(
            name,
            _loaded_at(result.get("max_loaded_at")),
            _age(result.get("max_loaded_at_time_ago_in_s")),
            status,
            style=FRESHNESS_STYLES.get(status, ""),
        )
    return table


def print_freshness(console: Console, sources: Mapping[str, Any] | None) -> None:
    """The freshness table and one line naming the stale tables (or why nothing shows)."""
    if sources is None:
        console.print(
            "Source freshness was not checked: no sources.json from `dbt source freshness`."
        )
        return
    console.print(freshness_table(sources))
    results = freshness_results(sources)
    stale = [name for name, result in results if result.get("status") in STALE_STATUSES]
    failed = [name for name, result in results if result.get("status") == "runtime error"]
    if stale:
        console.print(f"[red]Stale sources ({len(stale)}): {', '.join(stale)}[/red]")
    if failed:
        console.print(f"[red]Freshness not computed for: {', '.join(failed)}[/red]")
    if not stale and not failed:
        console.print(f"All {len(results)} source tables are fresh.")


def segment_table(con: duckdb.DuckDBPyConnection, as_of: object) -> Table:
    """Accounts and ARR of contracts active on the scoring date, per segment."""
    table = Table(title=f"Accounts with an active contract on {as_of}")
    for column in ("segment", "accounts", "ARR (USD)"):
        table.add_column(column, justify="left" if column == "segment" else "right")
    rows = con.execute(
        """
        select accounts.segment, count(distinct accounts.account_id), sum(contracts.arr)
        from staging.stg_crm__accounts as accounts
        inner join staging.stg_crm__contracts as contracts
            on accounts.account_id = contracts.account_id
        where contracts.start_date <= ? and contracts.end_date >= ?
            and contracts.signed_at < cast(? as date) + interval 1 day
        group by accounts.segment
        order by accounts.segment
        """,
        [as_of, as_of, as_of],
    ).fetchall()
    for segment, accounts, arr in rows:
        table.add_row(segment, f"{accounts:,}", f"{arr:,.0f}")
    return table


def band_tables(con: duckdb.DuckDBPyConnection) -> list[Table]:
    """Accounts per band, the lowest scores and last week's alerts, from the health marts."""
    bands = Table(title="Active accounts per health band")
    for column in ("band", "accounts", "share", "ARR"):
        bands.add_column(column, justify="left" if column == "band" else "right")
    for band, color, accounts, share, arr in con.execute(
        """
        select
            b.band_id, b.band_color, count(d.account_id),
            count(d.account_id) / sum(count(d.account_id)) over (), coalesce(sum(d.arr), 0)
        from config.health_bands as b
        left join marts.dim_account_health as d
            on d.health_band = b.band_id and d.is_active
        group by b.band_id, b.band_color, b.band_rank
        order by b.band_rank
        """
    ).fetchall():
        bands.add_row(f"[{color}]{band}[/]", f"{accounts:,}", f"{share:.1%}", f"{arr:,.0f}")
    worst = Table(title=f"{WORST_ACCOUNTS} lowest health scores")
    for column in (
        "account",
        "segment",
        "CSM",
        "score",
        "band",
        "trend",
        "weakest",
        "30-day driver",
    ):
        worst.add_column(column)
    for row in con.execute(
        f"""
        select account_name, segment, csm_owner, health_score, health_band,
            trend_arrow || ' ' || coalesce(cast(score_change_30d as varchar), ''),
            weakest_category, top_change_category
        from marts.dim_account_health
        where health_score is not null and is_active
        order by health_score, account_id
        limit {WORST_ACCOUNTS}
        """
    ).fetchall():
        name, segment, owner, score, band, trend, weakest, driver = row
        worst.add_row(
            name, segment, owner, f"{score:.1f}", band, str(trend), str(weakest), str(driver or "")
        )
    alerts = Table(title="Alerts of the last 7 days")
    for column in ("alert", "count"):
        alerts.add_column(column, justify="left" if column == "alert" else "right")
    for alert_type, count in con.execute(
        """
        select alert_type, count(*)
        from marts.fct_health_alerts
        where alert_date > (select max(as_of_date) from marts.dim_account_health) - 7
        group by alert_type
        order by count(*) desc
        """
    ).fetchall():
        alerts.add_row(alert_type, f"{count:,}")
    return [bands, worst, alerts]


def missing_data_table(con: duckdb.DuckDBPyConnection) -> Table | None:
    """The data the deployment lacks and the scored signals each would add; None when every
    signal has its data."""
    missing = read_missing_data(con)
    if not missing:
        return None
    left_out = read_categories_left_out(con)
    caption = "Without its data a signal earns no points; it is never counted as zero."
    if left_out:
        caption += f" Left out of every score: {', '.join(left_out)} (weight spread over the rest)."
    table = Table(title="Data the score does not have", caption=caption)
    for column in ("missing", "would add", "category"):
        table.add_column(column)
    for item in missing:
        table.add_row(item.description, ", ".join(item.signals), ", ".join(item.categories))
    return table


def backtest_table(con: duckdb.DuckDBPyConnection) -> Table | None:
    """Churn after each band and the score's AUC and lift over every back-tested month-end."""
    row = con.execute(
        """
        select observations, churned_observations, churn_auc, top_risk_lift, horizon_days,
            first_as_of_date, last_as_of_date, as_of_dates
        from marts.rpt_health_backtest_metrics
        cross join (
            select max(horizon_days) as horizon_days, min(as_of_date) as first_as_of_date,
                max(as_of_date) as last_as_of_date, count(distinct as_of_date) as as_of_dates
            from marts.fct_health_backtest_observations
        ) as observed
        where period = 'overall' and segment = 'all' and predictor = 'health_score'
        """
    ).fetchone()
    if row is None:
        return None
    observations, churned, auc, lift, horizon, first, last, dates = row
    baseline = con.execute(
        """
        select churn_auc from marts.rpt_health_backtest_metrics
        where period = 'overall' and segment = 'all' and predictor = 'key_events_30d'
        """
    ).fetchone()
    baseline_auc = None if baseline is None else baseline[0]
    table = Table(
        title=(f"Back-test: churn within {horizon} days of {dates} month-ends ({first} .. {last})"),
        caption=(
            f"{observations:,} account-months, {churned:,} churned; score AUC "
            + ("n/a" if auc is None else f"{auc:.3f}")
            + " (baseline, key events of the last 30 days: "
            + ("n/a" if baseline_auc is None else f"{baseline_auc:.3f}")
            + "), riskiest-decile lift "
            + ("n/a" if lift is None else f"{lift:.2f}")
        ),
    )
    for column in ("band", "share of accounts", "churn rate", "churned"):
        table.add_column(column, justify="left" if column == "band" else "right")
    for band, color, share, rate, count in con.execute(
        """
        select assessment_value, assessment_color, share_of_observations, churn_rate,
            churned_observations
        from marts.rpt_health_backtest_bands
        where period = 'overall' and segment = 'all' and assessment = 'score_band'
        order by band_rank
        """
    ).fetchall():
        table.add_row(f"[{color}]{band}[/]", f"{share:.1%}", f"{rate:.1%}", f"{count:,}")
    return table


def _fixed(value: float | None, digits: int) -> str:
    return "n/a" if value is None else f"{value:.{digits}f}"


def churn_version_caption(status: ChurnModelStatus) -> str:
    """The version in force and what it learned from."""
    caption = (
        f"Version in force: {status.version_date}, trained on "
        f"{status.training_observations:,} observations ({status.training_churned:,} churned)"
    )
    if status.first_training_date and status.last_training_date:
        caption += f" of month-ends {status.first_training_date} .. {status.last_training_date}"
    if status.feature_count is not None:
        caption += f", {status.feature_count} features"
    return caption + "."


def churn_model_section(con: duckdb.DuckDBPyConnection) -> list[Table | str]:
    """The churn model against the rules score and the key-events baseline on the portfolio,
    and the active accounts most likely to churn; one line saying why when no version is
    trained; nothing when the warehouse has no churn model marts."""
    model = read_churn_model(con, CHURN_RISK_ACCOUNTS)
    if model is None:
        return []
    status = model.status
    if not status.is_trained:
        on = f" (month-end {status.version_date})" if status.version_date else ""
        return [f"No churn model yet{on}: {escape(status.reason)}."]
    printed: list[Table | str] = []
    metrics = model.metrics("all")
    caption = churn_version_caption(status)
    if metrics:
        first = metrics[0]
        share = first.top_risk_share
        table = Table(
            title=(
                "Churn model back-test, out of time "
                f"({first.first_as_of_date} .. {first.last_as_of_date})"
            ),
            caption=caption,
        )
        lift = "top-decile lift" if share == 0.1 or share is None else f"top {share:.0%} lift"
        for column in (
            "model",
            "AUC",
            lift,
            "Brier",
            "calibration error",
            "observations",
            "churned",
        ):
            table.add_column(column, justify="left" if column == "model" else "right")
        for row in metrics:
            table.add_row(
                row.label,
                _fixed(row.churn_auc, 3),
                _fixed(row.top_risk_lift, 2),
                _fixed(row.brier_score, 4),
                _fixed(row.calibration_error, 4),
                f"{row.observations:,}",
                f"{row.churned_observations:,}",
                style="bold" if row.model_name == "churn_model" else "",
            )
        printed.append(table)
    else:
        printed.append(f"Churn model: {caption} No out-of-time back-test yet.")
    if model.risk_accounts:
        risky = Table(title=f"{len(model.risk_accounts)} highest churn probabilities (90 days)")
        for column in ("account", "segment", "probability", "risk", "risk factors"):
            risky.add_column(column, justify="right" if column == "probability" else "left")
        for account in model.risk_accounts:
            level = account.risk_level or ""
            style = CHURN_RISK_STYLES.get(level)
            risky.add_row(
                escape(account.account_name or account.account_id),
                escape(account.segment or ""),
                f"{account.churn_probability:.1%}",
                f"[{style}]{level}[/]" if style else level,
                escape("\n".join(account.risk_factors)),
            )
        printed.append(risky)
    return printed


def csm_queue_section(con: duckdb.DuckDBPyConnection) -> list[Table | str]:
    """Per CSM: the open actions per priority level, the overdue ones and the earliest due
    date of the rest (fct_csm_actions); one line when the warehouse has no queue (built
    before the playbook) or nothing is open."""
    queue = read_action_queue(con, closed_days=0)
    if queue is None:
        return [
            "CSM action queue: not in this warehouse (no marts.fct_csm_actions: built before "
            "the playbook)."
        ]
    counts = queue.counts()
    if not counts:
        return [f"CSM action queue: no open action on {queue.as_of_date}."]
    table = Table(
        title=(
            f"CSM action queue on {queue.as_of_date}: {len(queue.open_actions):,} open, "
            f"{queue.overdue:,} overdue"
        ),
        caption="Next due: the earliest due date of the open actions not yet overdue.",
    )
    for column in ("CSM", *PRIORITIES, "open", "overdue", "next due"):
        table.add_column(column, justify="left" if column in ("CSM", "next due") else "right")
    for count in counts:
        table.add_row(
            escape(count.csm_owner),
            *(f"{count.by_priority.get(priority, 0):,}" for priority in PRIORITIES),
            f"{count.open_actions:,}",
            f"[red]{count.overdue:,}[/red]" if count.overdue else "0",
            str(count.next_due_date or "-"),
        )
    return [table]


def main(argv: Sequence[str] | None = None, prog: str = "customer-health summary") -> int:
    parser = argparse.ArgumentParser(prog=prog, description=__doc__)
    parser.add_argument(
        "--db",
        type=Path,
        default=settings.load().build_db,
        help="DuckDB warehouse file (default: $HEALTH_DB_PATH or %(default)s)",
    )
    args = parser.parse_args(argv)
    console = Console()
    if not args.db.exists():
        console.print(f"[red]No warehouse at {args.db}: run `make run` first.[/red]")
        return 1
    config = settings.load()
    try:
        sources = dbt_artifacts.read_sources(config.resolve(config.target_path))
    except dbt_artifacts.BuildCheckError as error:
        console.print(f"[yellow]{error}[/yellow]")
        sources = None
    with duckdb.connect(str(args.db), read_only=True) as con:
        return render(con, console, str(args.db), sources=sources)


def render(
    con: duckdb.DuckDBPyConnection,
    console: Console,
    label: str,
    *,
    sources: Mapping[str, Any] | None = None,
) -> int:
    """Print the summary of the warehouse behind `con`; 1 when its marts are not built.

    ``sources`` is the last `dbt source freshness` output (``dbt_artifacts.read_sources``);
    None when freshness was not checked.
    """
    if not relation_exists(con, "marts", "rpt_raw_table_quality"):
        console.print(f"[red]{label} has no built marts: run `dbt build` first.[/red]")
        return 1
    as_of = con.execute("select max(as_of_date) from marts.rpt_raw_table_quality").fetchone()
    as_of_date = as_of[0] if as_of else None
    console.print(f"[bold]Customer health portfolio[/bold] as of {as_of_date} ({label})")
    console.print(quality_table(con))
    missing = missing_data_table(con)
    if missing is not None:
        console.print(missing)
    print_freshness(console, sources)
    console.print(segment_table(con, as_of_date))
    if relation_exists(con, "marts", "dim_account_health"):
        for table in band_tables(con):
            console.print(table)
        if relation_exists(con, "marts", "rpt_health_backtest_metrics"):
            backtest = backtest_table(con)
            console.print(backtest or "Back-test: no month-end has a whole horizon of data yet.")
        for part in churn_model_section(con):
            console.print(part)
        for part in csm_queue_section(con):
            console.print(part)
    else:
        console.print("Health bands appear here once the scoring marts are built.")
    return 0
