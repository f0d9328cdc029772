"""Small hand-written playbook marts (fct_csm_actions, rpt_csm_play_effect) in DuckDB, for the
report's queue, plays and account pages and the summary's queue, on 2026-11-30.

The open actions, out of the queue's order on purpose:
- Ana: high a4 (score 5,000, due 11-20, overdue) > high a3 (5,000, due 12-20) > high a2
  (100) > high a6 (no score) > medium a1 > low a5 (99,999, overdue);
- Zoe Ward: medium b1; Unassigned (listed last): high u1, overdue, on an account the report
  does not know, with evidence that is markup.
Closed: acc_1 has c1 (done, 11-25) and c2 (expired, 11-28) within 90 days and c3
(superseded, 2026-06-01) before; acc_2 has c4 (recorded done, 11-10).
"""

from __future__ import annotations

import datetime as dt
from typing import Any

import duckdb

AS_OF = dt.date(2026, 11, 30)

ACTION_COLUMNS = {
    "action_id": "varchar",
    "account_id": "varchar",
    "csm_owner": "varchar",
    "play_id": "varchar",
    "play_label": "varchar",
    "trigger_type": "varchar",
    "action_text": "varchar",
    "owner_role": "varchar",
    "priority": "varchar",
    "priority_score": "double",
    "success_metric": "varchar",
    "success_description": "varchar",
    "trigger_evidence": "varchar",
    "health_band_at_open": "varchar",
    "health_score_at_open": "double",
    "arr_at_open": "double",
    "opened_date": "date",
    "due_date": "date",
    "expires_date": "date",
    "started_date": "date",
    "action_status": "varchar",
    "close_reason": "varchar",
    "closed_date": "date",
    "absorbed_trigger_count": "integer",
    "is_overdue": "boolean",
    "as_of_date": "date",
}

PLAYS = {
    "adoption_training": ("Adoption training", "Run an enablement session"),
    "renewal_rescue": ("Renewal rescue", "Build a renewal plan with the sponsor"),
    "at_risk_recovery_plan": ("At-risk recovery plan", "Write a 14-day recovery plan"),
    "champion_replacement": ("Champion replacement", "Identify a new champion"),
    "healthy_qbr": ("QBR & expansion", "Prepare a quarterly business review"),
    "critical_escalation": ("Critical escalation", "Escalate internally"),
}


def day(month: int, day_of_month: int) -> dt.date:
    return dt.date(2026, month, day_of_month)


# id, account, CSM, play, priority, score, evidence, opened, due, started, status, reason,
# closed, absorbed triggers
ACTIONS: list[tuple[Any, ...]] = [
    ("a1", "acc_1", "Ana", "adoption_training", "medium", 9000.0,
        "core feature '<Reports & Co>' unused", day(11, 20), day(12, 5), None, "open",
        None, None, 0),
    ("a2", "acc_2", "Ana", "renewal_rescue", "high", 100.0, "renewal in 40 days",
        day(11, 25), day(12, 10), day(11, 28), "open", None, None, 0),
    ("a3", "acc_3", "Ana", "at_risk_recovery_plan", "high", 5000.0,
        "Band went from needs_attention to at_risk (58.7)", day(11, 29), day(12, 20), None,
        "open", None, None, 0),
    ("a4", "acc_1", "Ana", "champion_replacement", "high", 5000.0, "champion left",
        day(10, 30), day(11, 20), None, "open", None, None, 2),
    ("a5", "acc_2", "Ana", "healthy_qbr", "low", 99999.0, "healthy for a quarter",
        day(10, 1), day(11, 1), None, "open", None, None, 1),
    ("a6", "acc_3", "Ana", "critical_escalation", "high", None, None, day(11, 28),
        day(12, 1), None, "open", None, None, 0),
    ("b1", "acc_4", "Zoe Ward", "adoption_training", "medium", 10.0, "usage down",
        day(11, 25), day(12, 2), None, "open", None, None, 0),
    ("u1", "acc_9", "Unassigned", "renewal_rescue", "high", 1.0,
        "<script>alert(1)</script>", day(11, 15), day(11, 29), None, "open", None, None, 0),
    ("c1", "acc_1", "Ana", "at_risk_recovery_plan", "high", 4000.0, "band entry",
        day(11, 1), day(11, 15), None, "done", "success_metric_met", day(11, 25), 0),
    ("c2", "acc_1", "Ana", "adoption_training", "medium", 3000.0, "usage down",
        day(10, 14), day(10, 28), None, "expired", "expired", day(11, 28), 0),
    ("c3", "acc_1", "Ana", "healthy_qbr", "low", 10.0, "healthy", day(5, 1), day(5, 31),
        None, "superseded", "superseded", day(6, 1), 0),
    ("c4", "acc_2", "Ana", "renewal_rescue", "high", 800.0, "renewal in 80 days",
        day(11, 1), day(11, 15), day(11, 5), "done", "recorded_done", day(11, 10), 0),
]  # fmt: skip

EFFECT_COLUMNS = {
    "play_id": "varchar",
    "play_label": "varchar",
    "period": "varchar",
    "period_start": "date",
    "health_band_at_open": "varchar",
    "horizon_days": "integer",
    "played_actions": "integer",
    "not_played_actions": "integer",
    "played_churned": "integer",
    "not_played_churned": "integer",
    "played_churn_rate": "double",
    "not_played_churn_rate": "double",
    "churn_rate_difference": "double",
    "churn_difference_ci_low": "double",
    "churn_difference_ci_high": "double",
    "played_scored": "integer",
    "not_played_scored": "integer",
    "played_score_change": "double",
    "not_played_score_change": "double",
    "score_change_difference": "double",
    "score_difference_ci_low": "double",
    "score_difference_ci_high": "double",
    "is_comparable": "boolean",
}

# play, period, band, horizon, played, not played, churned (played, not), churn CI,
# scored (played, not), score change (played, not), score CI, comparable; out of order
EFFECT: list[tuple[Any, ...]] = [
    # too few played actions: the rates exist but are not to be shown
    ("at_risk_recovery_plan", "all", "at_risk", 30, 3, 50, 1, 2, None, None, 3, 50, 7.5,
        1.0, None, None, False),
    ("at_risk_recovery_plan", "all", "at_risk", 90, 20, 40, 2, 8, -0.28, 0.08, 18, 36, 4.5,
        1.25, 0.5, 6.0, True),
    # comparable churn, too few scored for the score change
    ("at_risk_recovery_plan", "all", "critical", 90, 6, 7, 3, 1, 0.05, 0.75, 4, 7, 2.0, 1.0,
        None, None, True),
    # another period: not on the plays page
    ("at_risk_recovery_plan", "2026-Q3", "at_risk", 90, 10, 20, 5, 5, -0.1, 0.6, 10, 20,
        -9.0, 9.0, -20.0, -16.0, True),
    # a play only the comparison has
    ("retired_play", "all", "needs_attention", 30, 0, 9, 0, 1, None, None, 0, 9, None, 0.5,
        None, None, False),
]  # fmt: skip


def action_rows() -> list[tuple[Any, ...]]:
    rows = []
    for (
        action_id,
        account_id,
        csm,
        play_id,
        priority,
        score,
        evidence,
        opened,
        due,
        started,
        status,
        reason,
        closed,
        absorbed,
    ) in ACTIONS:
        label, text = PLAYS[play_id]
        values = {
            "action_id": action_id,
            "account_id": account_id,
            "csm_owner": csm,
            "play_id": play_id,
            "play_label": label,
            "trigger_type": "band_entry",
            "action_text": text,
            "owner_role": "csm",
            "priority": priority,
            "priority_score": score,
            "success_metric": "band_improved",
            "success_description": f"{label} succeeded",
            "trigger_evidence": evidence,
            "health_band_at_open": "at_risk",
            "health_score_at_open": 55.0,
            "arr_at_open": 10000.0,
            "opened_date": opened,
            "due_date": due,
            "expires_date": due + dt.timedelta(days=30),
            "started_date": started,
            "action_status": status,
            "close_reason": reason,
            "closed_date": closed,
            "absorbed_trigger_count": absorbed,
            "is_overdue": status == "open" and due < AS_OF,
            "as_of_date": AS_OF,
        }
        rows.append(tuple(values[column] for column in ACTION_COLUMNS))
    return rows


def effect_rows() -> list[tuple[Any, ...]]:
    rows = []
    for (
        play_id,
        period,
        band,
        horizon,
        played,
        not_played,
        played_churned,
        not_played_churned,
        ci_low,
        ci_high,
        played_scored,
        not_played_scored,
        played_change,
        not_played_change,
        score_low,
        score_high,
        comparable,
    ) in EFFECT:
        played_rate = played_churned / played if played else None
        not_played_rate = not_played_churned / not_played if not_played else None
        label = PLAYS[play_id][0] if play_id in PLAYS else "Retired play"
        rows.append(
            (
                play_id,
                label,
                period,
                None if period == "all" else dt.date(2026, 7, 1),
                band,
                horizon,
                played,
                not_played,
                played_churned,
                not_played_churned,
                played_rate,
                not_played_rate,
                None if played_rate is None else played_rate - (not_played_rate or 0.0),
                ci_low,
                ci_high,
                played_scored,
                not_played_scored,
                played_change,
                not_played_change,
                None if played_change is None else played_change - not_played_change,
                score_low,
                score_high,
                comparable,
            )
        )
    return rows


def insert(
    con: duckdb.DuckDBPyConnection, name: str, columns: dict[str, str], rows: list[tuple[Any, ...]]
) -> None:
    con.execute(f"create table {name} ({', '.join(f'{c} {t}' for c, t in columns.items())})")
    if rows:
        marks = ", ".join("?" for _ in columns)
        con.executemany(f"insert into {name} values ({marks})", [list(row) for row in rows])


def add_csm_action_marts(con: duckdb.DuckDBPyConnection) -> duckdb.DuckDBPyConnection:
    """fct_csm_actions and rpt_csm_play_effect in the connection's `marts` schema."""
    con.execute("create schema if not exists marts")
    insert(con, "marts.fct_csm_actions", ACTION_COLUMNS, action_rows())
    insert(con, "marts.rpt_csm_play_effect", EFFECT_COLUMNS, effect_rows())
    return con


def csm_actions_db() -> duckdb.DuckDBPyConnection:
    """The playbook marts beside a dim_account_health naming acc_1 to acc_4."""
    con = duckdb.connect()
    con.execute("create schema marts")
    con.execute(
        """
        create table marts.dim_account_health as
        select * from (values ('acc_1', 'Alpha Ltd'), ('acc_2', 'Beta <b>Co</b>'),
            ('acc_3', 'Gamma GmbH'), ('acc_4', 'Gone Co')) as t(account_id, account_name)
        """
    )
    return add_csm_action_marts(con)
