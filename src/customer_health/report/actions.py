"""The CSM action queue (fct_csm_actions) and the play-effect comparison
(rpt_csm_play_effect), read for the report's queue, plays and account pages and for the
portfolio summary. Every reader returns None when its mart is absent (a warehouse built
before the playbook), so a caller can say so instead of failing."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

import duckdb

from customer_health.report.data import relation_exists

# Priority levels of the playbook (seed csm_plays), most urgent first; an unknown level
# sorts after them.
PRIORITIES = ("high", "medium", "low")
# The csm_owner of the accounts without a CSM (fct_csm_actions): listed after the CSMs.
UNASSIGNED = "Unassigned"
# How an action closed, in words (fct_csm_actions.close_reason).
CLOSE_REASONS = {
    "success_metric_met": "success metric met",
    "recorded_done": "recorded done by the CSM",
    "superseded": "superseded by a more urgent play",
    "expired": "expired before it was done",
}
# The horizons of the comparison, as the plays page shows them: the longest first.
PREFERRED_HORIZONS = (90, 30)


def priority_rank(priority: str | None) -> int:
    """0 for high, 1 for medium, 2 for low, 3 for anything else."""
    return PRIORITIES.index(priority) if priority in PRIORITIES else len(PRIORITIES)


@dataclass(frozen=True)
class CsmAction:
    """One action a play opened for an account (a row of fct_csm_actions), with the
    account's name from dim_account_health."""

    action_id: str
    account_id: str
    account_name: str | None
    csm_owner: str
    play_id: str
    play_label: str
    action_text: str
    owner_role: str | None
    priority: str
    priority_score: float | None
    success_description: str | None
    trigger_evidence: str | None
    health_band_at_open: str | None
    opened_date: dt.date
    due_date: dt.date
    expires_date: dt.date | None
    started_date: dt.date | None
    action_status: str
    close_reason: str | None
    closed_date: dt.date | None
    absorbed_trigger_count: int
    is_overdue: bool

    @property
    def is_open(self) -> bool:
        return self.action_status == "open"

    @property
    def close_reason_label(self) -> str:
        if self.close_reason is None:
            return ""
        return CLOSE_REASONS.get(self.close_reason, self.close_reason)


def queue_order(action: CsmAction) -> tuple[int, float, dt.date, dt.date, str, str]:
    """The queue's order: priority level, then the highest priority score (risk x ARR;
    none last), then the earliest due date, then the oldest."""
    score = -action.priority_score if action.priority_score is not None else float("inf")
    return (
        priority_rank(action.priority),
        score,
        action.due_date,
        action.opened_date,
        action.account_id,
        action.action_id,
    )


def csm_order(csm_owner: str) -> tuple[bool, str]:
    """CSMs by name, the unassigned accounts last."""
    return csm_owner == UNASSIGNED, csm_owner.casefold()


@dataclass(frozen=True)
class QueueCount:
    """One CSM's open actions: how many per priority level, how many overdue, and the
    earliest due date of those not overdue yet (None: every one is overdue)."""

    csm_owner: str
    open_actions: int
    by_priority: dict[str, int]
    overdue: int
    next_due_date: dt.date | None


@dataclass
class ActionQueue:
    """The open actions in queue order and the actions closed in the last days, as of the
    build's last scored day."""

    as_of_date: dt.date | None
    open_actions: list[CsmAction] = field(default_factory=list)
    recently_closed: list[CsmAction] = field(default_factory=list)
    closed_days: int = 90

    def by_csm(self) -> list[tuple[str, list[CsmAction]]]:
        """Each CSM with open actions and their actions in queue order, CSMs by name."""
        grouped: dict[str, list[CsmAction]] = {}
        for action in self.open_actions:
            grouped.setdefault(action.csm_owner, []).append(action)
        return [
            (owner, sorted(grouped[owner], key=queue_order))
            for owner in sorted(grouped, key=csm_order)
        ]

    def counts(self) -> list[QueueCount]:
        return queue_counts(self.open_actions)

    @property
    def overdue(self) -> int:
        return sum(1 for action in self.open_actions if action.is_overdue)


def queue_counts(actions: Iterable[CsmAction]) -> list[QueueCount]:
    """Per CSM (by name, unassigned last): open actions per priority level, overdue ones and
    the next due date of the rest. Only open actions count."""
    grouped: dict[str, list[CsmAction]] = {}
    for action in actions:
        if action.is_open:
            grouped.setdefault(action.csm_owner, []).append(action)
    counts = []
    for owner in sorted(grouped, key=csm_order):
        owned = grouped[owner]
        by_priority = {priority: 0 for priority in PRIORITIES}
        for action in owned:
            by_priority[action.priority] = by_priority.get(action.priority, 0) + 1
        upcoming = [action.due_date for action in owned if not action.is_overdue]
        counts.append(
            QueueCount(
                csm_owner=owner,
                open_actions=len(owned),
                by_priority=by_priority,
                overdue=sum(1 for action in owned if action.is_overdue),
                next_due_date=min(upcoming, default=None),
            )
        )
    return counts


def group_by_account(actions: Iterable[CsmAction]) -> dict[str, list[CsmAction]]:
    """The actions per account, in the order given."""
    grouped: dict[str, list[CsmAction]] = {}
    for action in actions:
        grouped.setdefault(action.account_id, []).append(action)
    return grouped


_ACTION_COLUMNS = """
    actions.action_id, actions.account_id, {account_name} as account_name,
    actions.csm_owner, actions.play_id, actions.play_label, actions.action_text,
    actions.owner_role, actions.priority, actions.priority_score,
    actions.success_description, actions.trigger_evidence, actions.health_band_at_open,
    actions.opened_date, actions.due_date, actions.expires_date, actions.started_date,
    actions.action_status, actions.close_reason, actions.closed_date,
    actions.absorbed_trigger_count, actions.is_overdue
"""


def _action(row: Sequence[Any]) -> CsmAction:
    (
        action_id,
        account_id,
        account_name,
        csm_owner,
        play_id,
        play_label,
        action_text,
        owner_role,
        priority,
        priority_score,
        success_description,
        trigger_evidence,
        band,
        opened,
        due,
        expires,
        started,
        status,
        reason,
        closed,
        absorbed,
        is_overdue,
    ) = row
    return CsmAction(
        action_id=str(action_id),
        account_id=str(account_id),
        account_name=account_name,
        csm_owner=str(csm_owner or UNASSIGNED),
        play_id=str(play_id),
        play_label=str(play_label or play_id),
        action_text=str(action_text or ""),
        owner_role=owner_role,
        priority=str(priority or ""),
        priority_score=None if priority_score is None else float(priority_score),
        success_description=success_description,
        trigger_evidence=trigger_evidence,
        health_band_at_open=band,
        opened_date=opened,
        due_date=due,
        expires_date=expires,
        started_date=started,
        action_status=str(status),
        close_reason=reason,
        closed_date=closed,
        absorbed_trigger_count=int(absorbed or 0),
        is_overdue=bool(is_overdue),
    )


def read_action_queue(con: duckdb.DuckDBPyConnection, closed_days: int = 90) -> ActionQueue | None:
    """The open actions of fct_csm_actions in queue order and those closed in the
    `closed_days` days up to its as-of date, newest close first, in one query; None when
    the mart is absent."""
    if not relation_exists(con, "marts", "fct_csm_actions"):
        return None
    has_dim = relation_exists(con, "marts", "dim_account_health")
    columns = _ACTION_COLUMNS.format(
        account_name="accounts.account_name" if has_dim else "cast(null as varchar)"
    )
    join = (
        "left join marts.dim_account_health as accounts on actions.account_id = accounts.account_id"
        if has_dim
        else ""
    )
    rows = con.execute(
        f"""
        select {columns}
        from marts.fct_csm_actions as actions
        {join}
        where actions.action_status = 'open'
            or actions.closed_date > actions.as_of_date - cast(? as integer)
        order by actions.closed_date desc nulls first, actions.account_id, actions.action_id
        """,
        [closed_days],
    ).fetchall()
    as_of = con.execute("select max(as_of_date) from marts.fct_csm_actions").fetchone()
    actions = [_action(row) for row in rows]
    return ActionQueue(
        as_of_date=as_of[0] if as_of else None,
        open_actions=sorted((a for a in actions if a.is_open), key=queue_order),
        recently_closed=[a for a in actions if not a.is_open],
        closed_days=closed_days,
    )


@dataclass(frozen=True)
class PlayOverview:
    """One play of the playbook as the queue ran it: what it asks, and its actions so far
    by status (fct_csm_actions)."""

    play_id: str
    play_label: str
    action_text: str
    priority: str
    success_description: str | None
    actions: int
    open_actions: int
    done_actions: int
    expired_actions: int
    superseded_actions: int
    started_actions: int


def read_play_overviews(con: duckdb.DuckDBPyConnection) -> list[PlayOverview] | None:
    """Each play with actions, by priority level then label; None when the mart is absent."""
    if not relation_exists(con, "marts", "fct_csm_actions"):
        return None
    rows = con.execute(
        """
        select play_id, any_value(play_label), any_value(action_text), any_value(priority),
            any_value(success_description), count(*),
            count(*) filter (where action_status = 'open'),
            count(*) filter (where action_status = 'done'),
            count(*) filter (where action_status = 'expired'),
            count(*) filter (where action_status = 'superseded'),
            count(started_date)
        from marts.fct_csm_actions
        group by play_id
        """
    ).fetchall()
    plays = [
        PlayOverview(
            play_id=str(play_id),
            play_label=str(label or play_id),
            action_text=str(action or ""),
            priority=str(priority or ""),
            success_description=success,
            actions=int(total),
            open_actions=int(open_count),
            done_actions=int(done),
            expired_actions=int(expired),
            superseded_actions=int(superseded),
            started_actions=int(started),
        )
        for (
            play_id,
            label,
            action,
            priority,
            success,
            total,
            open_count,
            done,
            expired,
            superseded,
            started,
        ) in rows
    ]
    return sorted(plays, key=lambda p: (priority_rank(p.priority), p.play_label, p.play_id))


@dataclass(frozen=True)
class PlayEffectRow:
    """The actions of one play, period, band at opening and horizon in which the CSM ran the
    play beside those in which nobody did (rpt_csm_play_effect)."""

    play_id: str
    play_label: str
    period: str
    health_band_at_open: str | None
    horizon_days: int
    played_actions: int
    not_played_actions: int
    played_churned: int
    not_played_churned: int
    played_churn_rate: float | None
    not_played_churn_rate: float | None
    churn_rate_difference: float | None
    churn_difference_ci_low: float | None
    churn_difference_ci_high: float | None
    played_scored: int
    not_played_scored: int
    played_score_change: float | None
    not_played_score_change: float | None
    score_change_difference: float | None
    score_difference_ci_low: float | None
    score_difference_ci_high: float | None
    is_comparable: bool

    @property
    def churn_is_comparable(self) -> bool:
        """Enough actions in both groups for the churn rates and their difference."""
        return self.is_comparable and self.churn_rate_difference is not None

    @property
    def score_is_comparable(self) -> bool:
        """Enough scored actions in both groups for the score changes: the mart gives the
        interval only then."""
        return (
            self.is_comparable
            and self.score_change_difference is not None
            and self.score_difference_ci_low is not None
            and self.score_difference_ci_high is not None
        )


def _optional_float(value: object) -> float | None:
    return None if value is None else float(str(value))


def read_play_effect(
    con: duckdb.DuckDBPyConnection, period: str = "all"
) -> list[PlayEffectRow] | None:
    """One period's rows of rpt_csm_play_effect (`all`: every quarter) by play, the longest
    horizon first, then band; None when the mart is absent."""
    if not relation_exists(con, "marts", "rpt_csm_play_effect"):
        return None
    rows = con.execute(
        """
        select play_id, play_label, period, health_band_at_open, horizon_days,
            played_actions, not_played_actions, played_churned, not_played_churned,
            played_churn_rate, not_played_churn_rate, churn_rate_difference,
            churn_difference_ci_low, churn_difference_ci_high, played_scored,
            not_played_scored, played_score_change, not_played_score_change,
            score_change_difference, score_difference_ci_low, score_difference_ci_high,
            is_comparable
        from marts.rpt_csm_play_effect
        where period = ?
        order by play_id, horizon_days desc, health_band_at_open
        """,
        [period],
    ).fetchall()
    return [
        PlayEffectRow(
            play_id=str(row[0]),
            play_label=str(row[1] or row[0]),
            period=str(row[2]),
            health_band_at_open=row[3],
            horizon_days=int(row[4]),
            played_actions=int(row[5] or 0),
            not_played_actions=int(row[6] or 0),
            played_churned=int(row[7] or 0),
            not_played_churned=int(row[8] or 0),
            played_churn_rate=_optional_float(row[9]),
            not_played_churn_rate=_optional_float(row[10]),
            churn_rate_difference=_optional_float(row[11]),
            churn_difference_ci_low=_optional_float(row[12]),
            churn_difference_ci_high=_optional_float(row[13]),
            played_scored=int(row[14] or 0),
            not_played_scored=int(row[15] or 0),
            played_score_change=_optional_float(row[16]),
            not_played_score_change=_optional_float(row[17]),
            score_change_difference=_optional_float(row[18]),
            score_difference_ci_low=_optional_float(row[19]),
            score_difference_ci_high=_optional_float(row[20]),
            is_comparable=bool(row[21]),
        )
        for row in rows
    ]


@dataclass(frozen=True)
class PlaySection:
    """One play on the plays page: its overview (None: no action in the queue's mart) and
    its comparison rows in the order shown."""

    play_id: str
    play_label: str
    overview: PlayOverview | None
    effect: tuple[PlayEffectRow, ...]


def play_sections(
    overviews: Sequence[PlayOverview] | None,
    effect: Sequence[PlayEffectRow] | None,
    band_ranks: dict[str, int],
) -> list[PlaySection]:
    """The plays in the overviews' order (then any play only the comparison has), each with
    its comparison rows: 90 days, then 30, then any other horizon (longest first); within a
    horizon the bands in their rank, an unknown band after them."""
    rows_by_play: dict[str, list[PlayEffectRow]] = {}
    labels: dict[str, str] = {}
    for row in effect or []:
        rows_by_play.setdefault(row.play_id, []).append(row)
        labels.setdefault(row.play_id, row.play_label)

    def row_order(row: PlayEffectRow) -> tuple[int, int, int, str]:
        horizon = (
            PREFERRED_HORIZONS.index(row.horizon_days)
            if row.horizon_days in PREFERRED_HORIZONS
            else len(PREFERRED_HORIZONS)
        )
        band = row.health_band_at_open or ""
        return horizon, -row.horizon_days, band_ranks.get(band, len(band_ranks) + 1), band

    sections = []
    seen: set[str] = set()
    for overview in overviews or []:
        seen.add(overview.play_id)
        rows = sorted(rows_by_play.get(overview.play_id, []), key=row_order)
        sections.append(PlaySection(overview.play_id, overview.play_label, overview, tuple(rows)))
    for play_id in sorted(set(rows_by_play) - seen, key=lambda p: (labels[p], p)):
        rows = sorted(rows_by_play[play_id], key=row_order)
        sections.append(PlaySection(play_id, labels[play_id], None, tuple(rows)))
    return sections


@dataclass(frozen=True)
class Playbook:
    """What the queue, plays and account pages show of the playbook; each part None when
    the release has no such mart."""

    queue: ActionQueue | None = None
    plays: list[PlayOverview] | None = None
    effect: list[PlayEffectRow] | None = None

    @property
    def is_served(self) -> bool:
        return self.queue is not None or self.effect is not None


def read_playbook(con: duckdb.DuckDBPyConnection, closed_days: int = 90) -> Playbook:
    """The action queue (with the actions closed in the last `closed_days` days), the plays
    and the comparison of period `all`, each in one query."""
    return Playbook(
        queue=read_action_queue(con, closed_days),
        plays=read_play_overviews(con),
        effect=read_play_effect(con, "all"),
    )
