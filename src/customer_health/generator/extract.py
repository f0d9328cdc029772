"""The extract: what the source systems show at the end of the last generated day.

``as_of`` masks simulated records at a cutoff (rows not yet known are dropped, timestamps
not yet reached become null, statuses are derived), and ``render`` turns the masked
records into the raw text columns of the contract. ``_loaded_at`` is the end of the UTC day
of the latest event timestamp or date the row shows (planned dates do not count).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import numpy as np
import pyarrow as pa

from customer_health.generator import contract as c
from customer_health.generator import fmt
from customer_health.generator.catalog import (
    CSM_POOLS,
    FEATURES,
    INDUSTRIES,
    NAME_FORMS,
    NAME_PREFIXES,
    NAME_ROOTS,
    NAME_TRADES,
    TEAMS,
)
from customer_health.generator.plays import NOTE_TEXTS, PLAY_IDS
from customer_health.generator.records import Records
from customer_health.generator.timeutil import DAY, NA, to_day

CLOSE_AFTER = 4 * DAY
CSM_NAMES: tuple[str, ...] = tuple(name for pool in CSM_POOLS for name in pool)
"""Every CSM, by code (the pools flattened, segment by segment)."""
FEATURE_RELEASE_CLOCK = 17 * 3600


@dataclass(frozen=True)
class Extract:
    """One batch of a raw table, with the numeric row keys and ``_loaded_at`` days."""

    table: pa.Table
    keys: tuple[np.ndarray, ...]
    loaded_day: np.ndarray

    @property
    def num_rows(self) -> int:
        return self.table.num_rows


@dataclass(frozen=True)
class Cutoff:
    """The end of relative day ``last_day`` (the extract's last day)."""

    last_day: int

    @property
    def end_s(self) -> int:
        return (self.last_day + 1) * DAY - 1

    def seen(self, s: np.ndarray) -> np.ndarray:
        """Timestamps (or ``NA``) not later than the cutoff."""
        return s <= self.end_s

    def mask(self, s: np.ndarray) -> np.ndarray:
        """Timestamps after the cutoff become ``NA``."""
        return np.where(s <= self.end_s, s, NA)


def _filter(rec: Records, keep: np.ndarray) -> Records:
    return {k: v[keep] for k, v in rec.items()}


def _sort(rec: Records, *fields: str) -> Records:
    if not rec or len(next(iter(rec.values()))) == 0:
        return rec
    order = np.lexsort(tuple(rec[f] for f in reversed(fields)))
    return {k: v[order] for k, v in rec.items()}


def _latest_day(*secs: np.ndarray) -> np.ndarray:
    """Day of the latest non-``NA`` timestamp among the columns."""
    stacked = np.stack([np.where(s >= NA, -(2**62), s) for s in secs])
    return stacked.max(axis=0) // DAY


def as_of(table: str, rec: Records, cut: Cutoff, accounts: Records) -> Records:
    """Mask one table's simulated records to what is known at ``cut``.

    ``accounts`` are the chunk's account records (creation and churn), indexed by ``acct``.
    Rows dated after an account's churn (a survey answer, a stakeholder change, a milestone
    completion) are dropped or emptied: the account is gone by then.
    """
    churn_s = accounts["churn_s"]
    if table == "accounts":
        return _filter(rec, cut.seen(rec["created_s"]))
    if table == "contracts":
        renewed = rec["acct"][rec["prev_seq"] > 0] * 1000 + rec["prev_seq"][rec["prev_seq"] > 0]
        base = rec["acct"] * 1000 + rec["base_seq"]
        ended = rec["end_day"] <= cut.last_day
        status = np.where(ended, np.where(np.isin(base, renewed), 2, 3), 1) - 1
        out = dict(rec, status=status)
        return _filter(out, cut.seen(rec["signed_s"]))
    if table == "onboarding_milestones":
        acct = rec["acct"]
        done = cut.mask(rec["completed_s"])
        done = np.where(done > churn_s[acct], NA, done)
        out = dict(rec, completed_s=done, created_s=accounts["created_s"][acct])
        return _filter(out, cut.seen(accounts["created_s"][acct]))
    if table == "stakeholder_events":
        s = rec["occurred_s"]
        return _filter(rec, cut.seen(s) & (s <= churn_s[rec["acct"]]))
    if table == "csm_activities":
        # A play is known from its start; its completion, outcome and note once recorded
        # (never after the account is gone).
        acct = rec["acct"]
        done = cut.mask(rec["completed_s"])
        done = np.where(done > churn_s[acct], NA, done)
        out = dict(
            rec,
            completed_s=done,
            outcome=np.where(done < NA, rec["outcome"], -1),
            note=np.where(done < NA, rec["note"], -1),
        )
        return _filter(out, cut.seen(rec["started_s"]) & (rec["started_s"] <= churn_s[acct]))
    if table == "users":
        out = dict(
            rec,
            activated_s=cut.mask(rec["activated_s"]),
            deactivated_s=cut.mask(rec["deactivated_s"]),
        )
        return _filter(out, cut.seen(rec["invited_s"]))
    if table in ("user_activity_daily", "feature_usage_daily"):
        return _filter(rec, rec["day"] <= cut.last_day)
    if table == "tickets":
        resolved = cut.mask(rec["resolved_s"])
        rated = cut.mask(rec["rated_s"])
        score = np.where(rated < NA, rec["score"], NA)
        closed = resolved < cut.end_s - CLOSE_AFTER
        status = np.where(
            resolved < NA,
            np.where(closed, 3, 2),
            np.where(rec["pending_s"] <= cut.end_s, 1, 0),
        )
        out = dict(
            rec,
            escalated_s=cut.mask(rec["escalated_s"]),
            resolved_s=resolved,
            rated_s=rated,
            score=score,
            status=status,
        )
        return _filter(out, cut.seen(rec["opened_s"]))
    if table == "survey_responses":
        s = rec["responded_s"]
        return _filter(rec, cut.seen(s) & (s <= churn_s[rec["acct"]]))
    if table == "invoices":
        paid = cut.mask(rec["paid_s"])
        status = np.where(rec["void"] == 1, 2, np.where(paid < NA, 1, 0))
        out = dict(rec, paid_s=paid, status=status)
        return _filter(out, cut.seen(rec["issued_s"]))
    if table == "payments":
        return _filter(rec, cut.seen(rec["attempted_s"]))
    if table == "account_outcomes":
        return _filter(rec, rec["day"] <= cut.last_day)
    raise KeyError(table)


def feature_records() -> Records:
    """The feature catalog as records."""
    n = len(FEATURES)
    return {
        "feature": np.arange(1, n + 1),
        "released_s": np.array([f.released_day for f in FEATURES]) * DAY + FEATURE_RELEASE_CLOCK,
    }


class Renderer:
    """Renders masked records of one chunk into raw text tables."""

    def __init__(self, start: dt.date, first_account: int) -> None:
        self.f = fmt.Formatter(start)
        self.first = first_account

    def _num(self, acct: np.ndarray) -> np.ndarray:
        return acct + self.first + 1

    def _account_ids(self, acct: np.ndarray) -> pa.Array:
        return fmt.ids("acc_", self._num(acct), 6)

    def _sub_ids(self, prefix: str, acct: np.ndarray, seq: np.ndarray, width: int) -> pa.Array:
        missing = seq <= 0
        return fmt.ids(prefix, self._num(acct) * 10**width + seq, 6 + width, missing)

    def _table(self, name: str, cols: list[pa.Array]) -> pa.Table:
        return pa.Table.from_arrays(cols, names=c.TABLES_BY_NAME[name].column_names)

    def render(self, table: str, rec: Records) -> Extract:
        """Raw text rows of ``table`` from masked records."""
        f = self.f
        if table == "accounts":
            rec = _sort(rec, "acct")
            acct = rec["acct"]
            names = _company_names(rec)
            csm = _csm_names(rec["seg"], rec["csm"])
            loaded = to_day(rec["created_s"])
            cols = [
                self._account_ids(acct),
                names,
                fmt.labels(rec["seg"], c.SEGMENTS),
                fmt.labels(rec["industry"], INDUSTRIES),
                csm,
                f.timestamps(rec["created_s"]),
                f.end_of_day(loaded),
            ]
            return Extract(self._table(table, cols), (self._num(acct),), loaded)
        if table == "contracts":
            rec = _sort(rec, "acct", "seq")
            acct = rec["acct"]
            loaded = to_day(rec["signed_s"])
            cols = [
                self._sub_ids("ctr_", acct, rec["seq"], 3),
                self._account_ids(acct),
                fmt.labels(rec["ctype"], c.CONTRACT_TYPES),
                f.dates(rec["start_day"]),
                f.dates(rec["end_day"]),
                fmt.decimals(rec["arr"]),
                fmt.integers(rec["seats"]),
                fmt.booleans(rec["auto"]),
                fmt.labels(rec["status"], c.CONTRACT_STATUSES),
                f.timestamps(rec["signed_s"]),
                f.end_of_day(loaded),
            ]
            return Extract(self._table(table, cols), (self._num(acct) * 1000 + rec["seq"],), loaded)
        if table == "onboarding_milestones":
            rec = _sort(rec, "acct", "seq")
            acct = rec["acct"]
            loaded = _latest_day(rec["created_s"], rec["completed_s"])
            cols = [
                self._sub_ids("mst_", acct, rec["seq"], 2),
                self._account_ids(acct),
                fmt.labels(rec["seq"] - 1, c.MILESTONES),
                f.dates(rec["planned_day"]),
                f.timestamps(rec["completed_s"]),
                f.end_of_day(loaded),
            ]
            return Extract(self._table(table, cols), (self._num(acct) * 100 + rec["seq"],), loaded)
        if table == "stakeholder_events":
            rec = _sort(rec, "acct", "seq")
            acct = rec["acct"]
            loaded = to_day(rec["occurred_s"])
            cols = [
                self._sub_ids("stk_", acct, rec["seq"], 4),
                self._account_ids(acct),
                self._sub_ids("con_", acct, rec["contact"], 3),
                fmt.labels(rec["role"], c.STAKEHOLDER_ROLES),
                fmt.labels(rec["etype"], c.STAKEHOLDER_EVENTS),
                f.timestamps(rec["occurred_s"]),
                f.end_of_day(loaded),
            ]
            return Extract(
                self._table(table, cols), (self._num(acct) * 10**4 + rec["seq"],), loaded
            )
        if table == "csm_activities":
            rec = _sort(rec, "acct", "seq")
            acct = rec["acct"]
            loaded = _latest_day(rec["started_s"], rec["completed_s"])
            cols = [
                self._sub_ids("act_", acct, rec["seq"], 4),
                self._account_ids(acct),
                fmt.labels(rec["play"], PLAY_IDS),
                fmt.labels(rec["owner"], CSM_NAMES),
                f.timestamps(rec["started_s"]),
                f.timestamps(rec["completed_s"]),
                fmt.labels(rec["outcome"], c.ACTIVITY_OUTCOMES),
                fmt.labels(rec["note"], NOTE_TEXTS),
                f.end_of_day(loaded),
            ]
            return Extract(
                self._table(table, cols), (self._num(acct) * 10**4 + rec["seq"],), loaded
            )
        if table == "features":
            feat = rec["feature"]
            loaded = to_day(rec["released_s"])
            spec = [FEATURES[i - 1] for i in feat]
            cols = [
                fmt.ids("feat_", feat, 2),
                pa.array([s.name for s in spec], type=pa.string()),
                pa.array([s.category for s in spec], type=pa.string()),
                pa.array(["true" if s.value_driving else "false" for s in spec], type=pa.string()),
                f.timestamps(rec["released_s"]),
                f.end_of_day(loaded),
            ]
            return Extract(self._table(table, cols), (feat,), loaded)
        if table == "users":
            rec = _sort(rec, "acct", "user")
            acct = rec["acct"]
            loaded = _latest_day(rec["invited_s"], rec["activated_s"], rec["deactivated_s"])
            cols = [
                self._sub_ids("usr_", acct, rec["user"], 4),
                self._account_ids(acct),
                fmt.labels(rec["role"], c.USER_ROLES),
                fmt.labels(rec["team"], TEAMS),
                f.timestamps(rec["invited_s"]),
                f.timestamps(rec["activated_s"]),
                f.timestamps(rec["deactivated_s"]),
                f.end_of_day(loaded),
            ]
            return Extract(
                self._table(table, cols), (self._num(acct) * 10**4 + rec["user"],), loaded
            )
        if table == "user_activity_daily":
            acct = rec["acct"]
            day = rec["day"]
            cols = [
                self._sub_ids("usr_", acct, rec["user"], 4),
                self._account_ids(acct),
                f.dates(day),
                fmt.integers(rec["sessions"]),
                fmt.integers(rec["minutes"]),
                fmt.integers(rec["key_events"]),
                f.end_of_day(day),
            ]
            keys: tuple[np.ndarray, ...] = (self._num(acct) * 10**4 + rec["user"], day)
            return Extract(self._table(table, cols), keys, day)
        if table == "feature_usage_daily":
            acct = rec["acct"]
            day = rec["day"]
            cols = [
                self._account_ids(acct),
                fmt.ids("feat_", rec["feature"], 2),
                f.dates(day),
                fmt.integers(rec["active_users"]),
                fmt.integers(rec["events"]),
                f.end_of_day(day),
            ]
            keys = (self._num(acct), rec["feature"], day)
            return Extract(self._table(table, cols), keys, day)
        if table == "tickets":
            rec = _sort(rec, "acct", "seq")
            acct = rec["acct"]
            loaded = _latest_day(
                rec["opened_s"], rec["escalated_s"], rec["resolved_s"], rec["rated_s"]
            )
            cols = [
                self._sub_ids("tkt_", acct, rec["seq"], 5),
                self._account_ids(acct),
                fmt.labels(rec["severity"], c.SEVERITIES),
                fmt.labels(rec["status"], c.TICKET_STATUSES),
                f.timestamps(rec["opened_s"]),
                f.timestamps(rec["escalated_s"]),
                f.timestamps(rec["resolved_s"]),
                fmt.integers(rec["score"], rec["score"] >= NA),
                f.timestamps(rec["rated_s"]),
                f.end_of_day(loaded),
            ]
            return Extract(
                self._table(table, cols), (self._num(acct) * 10**5 + rec["seq"],), loaded
            )
        if table == "survey_responses":
            rec = _sort(rec, "acct", "seq")
            acct = rec["acct"]
            loaded = to_day(rec["responded_s"])
            cols = [
                self._sub_ids("srv_", acct, rec["seq"], 4),
                self._account_ids(acct),
                self._sub_ids("usr_", acct, rec["user"], 4),
                fmt.labels(rec["stype"], c.SURVEY_TYPES),
                fmt.integers(rec["score"]),
                f.timestamps(rec["responded_s"]),
                f.end_of_day(loaded),
            ]
            return Extract(
                self._table(table, cols), (self._num(acct) * 10**4 + rec["seq"],), loaded
            )
        if table == "invoices":
            rec = _sort(rec, "acct", "seq")
            acct = rec["acct"]
            loaded = _latest_day(rec["issued_s"], rec["paid_s"])
            cols = [
                self._sub_ids("inv_", acct, rec["seq"], 4),
                self._account_ids(acct),
                self._sub_ids("ctr_", acct, rec["contract"], 3),
                f.timestamps(rec["issued_s"]),
                f.dates(rec["due_day"]),
                fmt.decimals(rec["amount"]),
                fmt.labels(rec["status"], c.INVOICE_STATUSES),
                f.timestamps(rec["paid_s"]),
                f.end_of_day(loaded),
            ]
            return Extract(
                self._table(table, cols), (self._num(acct) * 10**4 + rec["seq"],), loaded
            )
        if table == "payments":
            rec = _sort(rec, "acct", "seq")
            acct = rec["acct"]
            loaded = to_day(rec["attempted_s"])
            cols = [
                self._sub_ids("pay_", acct, rec["seq"], 5),
                self._sub_ids("inv_", acct, rec["invoice"], 4),
                self._account_ids(acct),
                f.timestamps(rec["attempted_s"]),
                fmt.decimals(rec["amount"]),
                fmt.labels(rec["failed"], c.PAYMENT_STATUSES),
                fmt.labels(rec["reason"], c.FAILURE_REASONS),
                f.end_of_day(loaded),
            ]
            return Extract(
                self._table(table, cols), (self._num(acct) * 10**5 + rec["seq"],), loaded
            )
        if table == "account_outcomes":
            rec = _sort(rec, "acct", "seq")
            acct = rec["acct"]
            day = rec["day"]
            cols = [
                self._sub_ids("out_", acct, rec["seq"], 3),
                self._account_ids(acct),
                fmt.labels(rec["otype"], c.OUTCOME_TYPES),
                f.dates(day),
                fmt.decimals(rec["before"]),
                fmt.decimals(rec["after"]),
                f.end_of_day(day),
            ]
            return Extract(self._table(table, cols), (self._num(acct) * 1000 + rec["seq"],), day)
        raise KeyError(table)


def _company_names(rec: Records) -> pa.Array:
    pre = fmt.labels(rec["name0"] % len(NAME_PREFIXES), NAME_PREFIXES)
    root = fmt.labels(rec["name1"] % len(NAME_ROOTS), NAME_ROOTS)
    trade = fmt.labels(rec["name2"] % len(NAME_TRADES), NAME_TRADES)
    form = fmt.labels(rec["name3"] % len(NAME_FORMS), NAME_FORMS)
    return fmt.join(pre, root, " ", trade, form)


def _csm_names(seg: np.ndarray, csm: np.ndarray) -> pa.Array:
    offsets = np.cumsum([0] + [len(p) for p in CSM_POOLS])[:-1]
    code = np.where(csm < 0, -1, offsets[seg] + csm)
    return fmt.labels(code, CSM_NAMES)
