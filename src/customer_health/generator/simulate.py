"""Day-by-day simulation of one chunk of accounts.

Every account carries a latent health: an Ornstein-Uhlenbeck process on the logit scale
around an account-specific long-run level, pushed down by shocks (champion or sponsor
departure, major incident, reorganisation) that decay as the account recovers. Health
drives product activity, feature adoption, support load, survey answers, payment
behaviour, stakeholder turnover and, through the health of the preceding months, the
renewal decision taken 30-60 days before a term ends.

CSMs watch what they can see of it (the health as they read it, champion and sponsor
departures, escalated tickets, overdue invoices, usage, seats and renewals) and run plays of
the playbook (``plays``) a few days after a trigger, on some triggers only. A play the
customer takes part in may work: then it lifts the account's health, by a bounded amount
that fades, from the day after it starts. The plays draw from streams of their own
(``csm.*``); where no play works, every other record is what it would be without them.

The simulation of day ``t`` only uses draws made on days ``<= t``; anything that lies in
the future (a ticket's resolution, a renewal's signature, payment retries) is drawn when
the event starts and kept with its future timestamp. The extract step masks everything
that is not yet known at the extract's cutoff, so a longer run viewed at an earlier
cutoff reproduces a shorter run exactly.

The world (``worlds.World``) changes the structure around that core, never the health
process itself: every account on monthly terms; usage pricing, where seats are a plan tier,
the roster follows engagement and a renewal's ARR follows the monthly active users; product
data only, with no roles or teams recorded; or a tenth or ten times the activity per user.
Each world draws what only it needs from streams of its own (``world.*``), so the default
``annual`` world consumes exactly the draws it always did.

Times are integer seconds and days relative to the start date; ``NA`` marks "never".
"""

from __future__ import annotations

import datetime as dt

import numpy as np

from customer_health.generator import plays as pb
from customer_health.generator.catalog import CSM_POOLS, FEATURES, INDUSTRY_WEIGHTS, TEAMS
from customer_health.generator.records import RecordBuffer
from customer_health.generator.rng import BLOCK_SIZE, BlockStreams, split_bounds
from customer_health.generator.timeutil import DAY, NA, add_months, to_day, weekday
from customer_health.generator.worlds import DEFAULT_WORLD, TIERS, WORLDS, World

SMB, MID, ENT = 0, 1, 2
N_FEATURES = len(FEATURES)
BILLING_MONTHS = np.array([1, 3, 12])
SURVEY_PERIOD = 91
SURVEY_OFFSET = 30
MAX_INVITE_HORIZON = 1095

SEAT_RANGE = np.array([[3.0, 20.0], [15.0, 80.0], [60.0, 250.0]])
"""Licensed seats of a first contract per segment; renewals stay within 0.6x-1.5x of it."""

TIER_LIMITS = np.array(TIERS)
TIER_MIX = np.cumsum(
    np.array([[0.75, 0.25, 0.0, 0.0], [0.1, 0.6, 0.3, 0.0], [0.0, 0.1, 0.55, 0.35]]), axis=1
)
"""Usage-priced world: a first contract's plan tier per segment (cumulative shares)."""
UPGRADE_AT = 0.9
"""Usage-priced world: at a renewal the plan moves up a tier when the monthly active users
exceed this share of its limit, and down one when they fall below a tenth of the lower limit."""
USAGE_INVITE_RATE = 0.35
"""Usage-priced world: candidate invitations per year as a share of the initial roster, each
kept with probability health squared (so the roster grows with engagement)."""
MAU_WINDOW = 30

MILESTONE_OFFSETS = np.array([2.0, 10.0, 21.0, 30.0, 40.0, 55.0])
MILESTONE_STRETCH = np.array([1.0, 1.4, 2.0])

CT_NEW, CT_RENEWAL, CT_ADDON = 0, 1, 2
OT_CHURNED, OT_RENEWED, OT_CONTRACTED, OT_EXPANDED = 0, 1, 2, 3
ROLE_CHAMPION, ROLE_SPONSOR = 0, 1
EV_ADDED, EV_LEFT = 0, 1
SURVEY_NPS, SURVEY_CSAT = 0, 1

FEATURE_RELEASE = np.array([f.released_day for f in FEATURES], dtype=np.int64)
FEATURE_POPULARITY = np.array([f.popularity for f in FEATURES])
FEATURE_EVENTS = np.array([f.events_per_user for f in FEATURES])
FEATURE_ADOPTION = np.array([f.adoption_rate for f in FEATURES])
FEATURE_REACH = np.array(
    [{"core": 1.6, "advanced": 0.9, "integration": 0.7, "admin": 0.8}[f.category] for f in FEATURES]
)

CONTRACT_FIELDS = (
    "acct", "seq", "ctype", "start_day", "end_day", "arr", "seats", "auto", "signed_s",
    "prev_seq", "base_seq",
)  # fmt: skip
OUTCOME_FIELDS = ("acct", "seq", "otype", "day", "before", "after")
MILESTONE_FIELDS = ("acct", "seq", "planned_day", "completed_s")
STAKEHOLDER_FIELDS = ("acct", "seq", "contact", "role", "etype", "occurred_s")
ACTIVITY_FIELDS = ("acct", "user", "day", "sessions", "minutes", "key_events")
USAGE_FIELDS = ("acct", "feature", "day", "active_users", "events")
TICKET_FIELDS = (
    "acct", "seq", "severity", "opened_s", "escalated_s", "resolved_s", "pending_s", "score",
    "rated_s",
)  # fmt: skip
SURVEY_FIELDS = ("acct", "seq", "user", "stype", "score", "responded_s")
INVOICE_FIELDS = ("acct", "seq", "contract", "issued_s", "due_day", "amount", "void", "paid_s")
PAYMENT_FIELDS = ("acct", "seq", "invoice", "attempted_s", "amount", "failed", "reason")
PLAY_FIELDS = (
    "acct", "seq", "play", "owner", "started_s", "completed_s", "outcome", "note", "lift_micro",
)  # fmt: skip

POOL_SIZES = np.array([len(pool) for pool in CSM_POOLS])
POOL_OFFSETS = np.cumsum(np.r_[0, POOL_SIZES])[:-1]
"""A CSM's code is its position in the pools flattened (segment by segment)."""
# What the CSM watches for, besides bands, champions, sponsors, tickets and invoices: a
# play is triggered on the first day each state holds.
CSM_STATE_PLAYS = np.array(
    [
        pb.PLAY_CODE["score_drop_review"],
        pb.PLAY_CODE["adoption_training"],
        pb.PLAY_CODE["seat_activation"],
        pb.PLAY_CODE["renewal_rescue"],
        pb.PLAY_CODE["expansion_discovery"],
        pb.PLAY_CODE["churn_risk_save"],
    ]
)
Q_SUPPORT, Q_BILLING = 0, 1
BAND_HEALTHY = 3


def sigmoid(x: np.ndarray) -> np.ndarray:
    """Logistic function."""
    return 1.0 / (1.0 + np.exp(-x))


def business_time(u: np.ndarray) -> np.ndarray:
    """Seconds into the day between 13:00 and 22:00 UTC."""
    return (13 * 3600 + u * 9 * 3600).astype(np.int64)


def cumcount(groups: np.ndarray) -> np.ndarray:
    """Position of each element within its run of equal (sorted) group values."""
    if len(groups) == 0:
        return np.empty(0, dtype=np.int64)
    starts = np.r_[0, np.flatnonzero(np.diff(groups)) + 1]
    run = np.zeros(len(groups), dtype=np.int64)
    run[starts] = starts
    return np.arange(len(groups)) - np.maximum.accumulate(run)


class ChunkSimulation:
    """Accounts ``first .. first + n - 1`` (0-based population indices), simulated together."""

    def __init__(
        self, seed: int, start: dt.date, first: int, n: int, world: World | str = DEFAULT_WORLD
    ) -> None:
        if first % BLOCK_SIZE:
            raise ValueError("a chunk must start on a block boundary")
        self.world = WORLDS[world] if isinstance(world, str) else world
        self.start = start
        self.first = first
        self.n = n
        first_block = first // BLOCK_SIZE
        n_blocks = -(-n // BLOCK_SIZE)
        self.rs = BlockStreams(seed, range(first_block, first_block + n_blocks))
        self.acc_bounds = np.minimum(np.arange(n_blocks + 1) * BLOCK_SIZE, n)

        self.contracts = RecordBuffer(CONTRACT_FIELDS)
        self.outcomes = RecordBuffer(OUTCOME_FIELDS)
        self.milestones = RecordBuffer(MILESTONE_FIELDS)
        self.stakeholders = RecordBuffer(STAKEHOLDER_FIELDS)
        self.activity = RecordBuffer(ACTIVITY_FIELDS)
        self.usage = RecordBuffer(USAGE_FIELDS)
        self.tickets = RecordBuffer(TICKET_FIELDS)
        self.surveys = RecordBuffer(SURVEY_FIELDS)
        self.invoices = RecordBuffer(INVOICE_FIELDS)
        self.payments = RecordBuffer(PAYMENT_FIELDS)
        self.plays = RecordBuffer(PLAY_FIELDS)

        z = np.zeros(n, dtype=np.int64)
        self.n_contracts = z.copy()
        self.n_outcomes = z.copy()
        self.n_events = z.copy()
        self.n_contacts = z.copy()
        self.n_tickets = z.copy()
        self.n_surveys = z.copy()
        self.n_invoices = z.copy()
        self.n_payments = z.copy()
        self.n_plays = z.copy()

        self._init_accounts()
        self._init_contracts()
        self._init_milestones()
        self._init_stakeholders()
        self._init_users()
        self._init_features()
        self._init_health()
        self._init_plays()

    # ------------------------------------------------------------------ initial state
    def _u(self, name: str, k: int = 0) -> np.ndarray:
        return self.rs.uniform(name, self.acc_bounds, k)

    def _z(self, name: str, k: int = 0) -> np.ndarray:
        return self.rs.normal(name, self.acc_bounds, k)

    def _init_accounts(self) -> None:
        n = self.n
        u = self._u("init.account", 12)
        seg = np.where(u[:, 0] < 0.55, SMB, np.where(u[:, 0] < 0.85, MID, ENT))
        lo = SEAT_RANGE[seg, 0]
        hi = SEAT_RANGE[seg, 1]
        seats = np.round(np.exp(np.log(lo) + u[:, 1] ** 1.3 * (np.log(hi) - np.log(lo))))
        self.seg = seg
        self.first_seats = seats.astype(np.int64)
        cum = np.cumsum(INDUSTRY_WEIGHTS) / np.sum(INDUSTRY_WEIGHTS)
        self.industry = np.minimum(np.searchsorted(cum, u[:, 2]), len(cum) - 1)
        pool = np.array([len(p) for p in CSM_POOLS])[seg]
        csm = (u[:, 3] * pool).astype(np.int64)
        unassigned = u[:, 4] < np.array([0.08, 0.02, 0.0])[seg]
        self.csm = np.where(unassigned, -1, csm)
        self.name_parts = (u[:, 5:9] * 1_000_003).astype(np.int64)
        mature = u[:, 9] < 0.85
        age = 30 + np.floor(u[:, 10] * 1066)
        new_day = np.floor(u[:, 10] * 365)
        self.created_day = np.where(mature, -age, new_day).astype(np.int64)
        self.created_s = self.created_day * DAY + business_time(u[:, 11])
        self.mature = self.created_day < 0

        zz = self._z("init.level", 2)
        self.mu = 0.85 + 0.8 * zz[:, 0] + 0.15 * seg
        self.q = sigmoid(self.mu)
        up = self._u("init.price", 6)
        base_price = np.array([360.0, 540.0, 780.0])[seg]
        self.price = np.round(base_price * (0.8 + 0.45 * up[:, 0])).astype(np.int64) * 100
        # Term length: self-serve SMB plans run month to month or quarterly, larger accounts
        # sign annual or multi-year terms.
        months = np.full(n, 12)
        months = np.where((seg == SMB) & (up[:, 1] < 0.5), 3, months)
        months = np.where((seg == SMB) & (up[:, 1] < 0.35), 1, months)
        months = np.where((seg == MID) & (up[:, 1] >= 0.9), 3, months)
        months = np.where((seg == MID) & (up[:, 1] < 0.2), 24, months)
        months = np.where((seg == ENT) & (up[:, 1] < 0.45), 24, months)
        months = np.where((seg == ENT) & (up[:, 1] < 0.2), 36, months)
        self.months = months.astype(np.int64)
        auto_p = np.array([0.7, 0.45, 0.2])[seg]
        self.auto = np.where(up[:, 3] < 0.05, -1, (up[:, 2] < auto_p).astype(np.int64))
        self.autopay_p = np.array([0.8, 0.5, 0.2])[seg]
        self.period = BILLING_MONTHS[seg]
        if self.world.monthly_terms:
            self.months = np.ones(n, dtype=np.int64)
            self.period = np.ones(n, dtype=np.int64)
        if self.world.usage_pricing:
            ut = self._u("world.usage.tier")
            self.tier = (ut[:, None] >= TIER_MIX[seg, :3]).sum(axis=1).astype(np.int64)

    def _plan_seats(self, idx: np.ndarray, seats: np.ndarray) -> np.ndarray:
        """The contract's licensed seats: the seats bought, or the plan tier's limit when
        pricing is by usage (``seats`` then counts the users billed)."""
        if self.world.usage_pricing:
            return TIER_LIMITS[self.tier[idx]]
        return seats

    def _retier(self, idx: np.ndarray, users: np.ndarray) -> None:
        """Usage pricing: at a renewal the plan moves up past its limit, down when far below."""
        tier = self.tier[idx]
        up = (users > UPGRADE_AT * TIER_LIMITS[tier]) & (tier < len(TIERS) - 1)
        lower = TIER_LIMITS[np.maximum(tier - 1, 0)]
        down = (tier > 0) & (users < 0.1 * lower)
        self.tier[idx] = tier + up - down

    def _term_share(self, idx: np.ndarray) -> np.ndarray:
        """A term's length as a share of a year (at most 1): scales per-decision hazards."""
        return np.minimum(self.months[idx], 12) / 12.0

    def _decision_lead(self, idx: np.ndarray, u: np.ndarray) -> np.ndarray:
        """Days before a term's end that its renewal is decided: 30-60 for annual and longer
        terms, 10-30 for quarterly plans, 3-10 (the cancellation notice) for monthly ones."""
        m = self.months[idx]
        short = np.where(m >= 3, 10 + np.floor(u * 21), 3 + np.floor(u * 8))
        return np.where(m >= 12, 30 + np.floor(u * 31), short).astype(np.int64)

    def _bounded_seats(self, idx: np.ndarray, seats: np.ndarray) -> np.ndarray:
        lo = np.floor(SEAT_RANGE[self.seg[idx], 0] * 0.6)
        hi = np.ceil(SEAT_RANGE[self.seg[idx], 1] * 1.5)
        return np.clip(np.round(seats), lo, hi).astype(np.int64)

    def _new_contract(
        self,
        idx: np.ndarray,
        ctype: int,
        start_day: np.ndarray,
        end_day: np.ndarray,
        arr: np.ndarray,
        seats: np.ndarray,
        auto: np.ndarray,
        signed_s: np.ndarray,
        prev_seq: np.ndarray | int,
        base_seq: np.ndarray | None = None,
    ) -> np.ndarray:
        self.n_contracts[idx] += 1
        seq = self.n_contracts[idx].copy()
        self.contracts.add(
            acct=idx,
            seq=seq,
            ctype=np.full(len(idx), ctype),
            start_day=start_day,
            end_day=end_day,
            arr=arr,
            seats=seats,
            auto=auto,
            signed_s=signed_s,
            prev_seq=np.broadcast_to(prev_seq, idx.shape),
            base_seq=seq if base_seq is None else base_seq,
        )
        return seq

    def _new_outcome(
        self,
        idx: np.ndarray,
        otype: np.ndarray,
        day: np.ndarray,
        before: np.ndarray,
        after: np.ndarray,
    ) -> None:
        self.n_outcomes[idx] += 1
        self.outcomes.add(
            acct=idx,
            seq=self.n_outcomes[idx].copy(),
            otype=otype,
            day=day,
            before=before,
            after=after,
        )

    def _init_contracts(self) -> None:
        n = self.n
        idx = np.arange(n)
        start = self.created_day.copy()
        end = add_months(self.start, start, self.months) - 1
        seats = self.first_seats.copy()
        arr = seats * self.price
        uc = self._u("init.contract", 2)
        signed = self.created_s + (uc[:, 0] * 7200).astype(np.int64)
        seq = self._new_contract(
            idx, CT_NEW, start, end, arr, self._plan_seats(idx, seats), self.auto, signed, -1
        )
        for round_ in range(48):
            due = np.flatnonzero(end < 0)
            if len(due) == 0:
                break
            u = self.rs.uniform(f"init.renewal.{round_}", split_bounds(due, self.acc_bounds), 4)
            share = self._term_share(due)
            factor = np.where(
                u[:, 0] < 0.2 * share,
                1.1 + 0.25 * u[:, 1],
                np.where(u[:, 0] < 0.3 * share, 0.75 + 0.17 * u[:, 1], 1.0),
            )
            new_seats = self._bounded_seats(due, seats[due] * factor)
            new_arr = new_seats * self.price[due]
            if self.world.usage_pricing:
                self._retier(due, new_seats)
            s_day = end[due] - self._decision_lead(due, u[:, 2])
            s_day = np.maximum(s_day, start[due])
            signed_s = np.maximum(s_day * DAY + business_time(u[:, 3]), signed[due] + 60)
            new_start = end[due] + 1
            new_end = add_months(self.start, new_start, self.months[due]) - 1
            otype = np.where(
                new_arr > arr[due],
                OT_EXPANDED,
                np.where(new_arr < arr[due], OT_CONTRACTED, OT_RENEWED),
            )
            self._new_outcome(due, otype, end[due], arr[due], new_arr)
            seq[due] = self._new_contract(
                due, CT_RENEWAL, new_start, new_end, new_arr, self._plan_seats(due, new_seats),
                self.auto[due], signed_s, seq[due],
            )  # fmt: skip
            start[due], end[due], seats[due], arr[due], signed[due] = (
                new_start, new_end, new_seats, new_arr, signed_s,
            )  # fmt: skip
        self.cur_seq = seq
        self.cur_start = start
        self.cur_end = end
        self.cur_seats = seats
        self.cur_arr = arr
        self.cur_auto = self.auto.copy()
        ud = self._u("init.decision")
        self.decision_day = np.maximum(end - self._decision_lead(idx, ud), 0)
        self.addon_arr = np.zeros(n, dtype=np.int64)
        self.addon_seats = np.zeros(n, dtype=np.int64)
        self.last_addon = np.full(n, -10_000, dtype=np.int64)
        self.churn_day = np.full(n, NA, dtype=np.int64)
        self.churn_s = np.full(n, NA, dtype=np.int64)
        self.renew_pending = np.zeros(n, dtype=bool)
        self.nx = {k: np.zeros(n, dtype=np.int64) for k in ("seq", "start", "end", "arr", "seats")}
        # The next invoice of the current term: the first billing date on or after day 0.
        k = np.zeros(n, dtype=np.int64)
        nxt = start.copy()
        for _ in range(40):
            behind = nxt < 0
            if not behind.any():
                break
            k = np.where(behind, k + 1, k)
            nxt = np.where(behind, add_months(self.start, start, k * self.period), nxt)
        self.inv_k = k
        self.inv_next = np.where(nxt <= end, nxt, NA)

    def _init_milestones(self) -> None:
        n = self.n
        u = self._u("init.milestone", 18)
        planned = np.floor(
            MILESTONE_OFFSETS[None, :] * MILESTONE_STRETCH[self.seg][:, None]
        ).astype(np.int64)
        planned += self.created_day[:, None]
        slack = 1.0 - self.q
        delay = (
            -2.0 + 4.0 * u[:, 0:6] + (-np.log1p(-u[:, 6:12])) * (2.0 + 30.0 * slack[:, None] ** 2)
        )
        stall_p = (0.005 + 0.25 * slack[:, None] ** 2) * (np.arange(6)[None, :] >= 2)
        stalled = np.cumsum(u[:, 12:18] < stall_p, axis=1) > 0
        done_day = np.maximum.accumulate(planned + np.round(delay).astype(np.int64), axis=1)
        done_s = done_day * DAY + business_time(u[:, 0:6])
        done_s = np.maximum(done_s, self.created_s[:, None] + 3600 * (1 + np.arange(6))[None, :])
        done_s = np.maximum.accumulate(done_s, axis=1)
        done_s = np.where(stalled, NA, done_s)
        acct = np.repeat(np.arange(n), 6)
        self.milestones.add(
            acct=acct,
            seq=np.tile(np.arange(1, 7), n),
            planned_day=planned.ravel(),
            completed_s=done_s.ravel(),
        )

    def _after_creation(self, idx: np.ndarray, s: np.ndarray) -> np.ndarray:
        """Timestamps of child rows never precede their account's creation."""
        return np.maximum(s, self.created_s[idx] + 300)

    def _stakeholder(
        self, idx: np.ndarray, contact: np.ndarray, role: int, etype: int, s: np.ndarray
    ) -> None:
        self.n_events[idx] += 1
        self.stakeholders.add(
            acct=idx,
            seq=self.n_events[idx].copy(),
            contact=contact,
            role=np.full(len(idx), role),
            etype=np.full(len(idx), etype),
            occurred_s=s,
        )

    def _new_contact(self, idx: np.ndarray) -> np.ndarray:
        self.n_contacts[idx] += 1
        return self.n_contacts[idx].copy()

    def _init_stakeholders(self) -> None:
        n = self.n
        idx = np.arange(n)
        u = self._u("init.stakeholder", 10)
        self.role_contact = np.zeros((n, 2), dtype=np.int64)
        self.role_from = np.zeros((n, 2), dtype=np.int64)
        for r in (ROLE_CHAMPION, ROLE_SPONSOR):
            contact = self._new_contact(idx)
            s = self.created_s + (u[:, r] * 6 * 3600).astype(np.int64)
            self._stakeholder(idx, contact, r, EV_ADDED, s)
            self.role_contact[:, r] = contact
            self.role_from[:, r] = s // DAY
        # Mature accounts may have replaced their champion before the start date.
        span = -self.created_day - 80
        moved = np.flatnonzero(self.mature & (span > 0) & (u[:, 2] < 0.3))
        left_day = (
            self.created_day[moved] + 60 + np.floor(u[moved, 3] * span[moved]).astype(np.int64)
        )
        left_s = left_day * DAY + business_time(u[moved, 4])
        self._stakeholder(moved, self.role_contact[moved, 0], ROLE_CHAMPION, EV_LEFT, left_s)
        add_day = left_day + 14 + np.floor(u[moved, 5] * 50).astype(np.int64)
        contact = self._new_contact(moved)
        self._stakeholder(
            moved, contact, ROLE_CHAMPION, EV_ADDED, add_day * DAY + business_time(u[moved, 6])
        )
        self.role_contact[moved, 0] = contact
        self.role_from[moved, 0] = add_day

    def _init_users(self) -> None:
        n = self.n
        ua = self._u("init.roster", 4)
        usage = self.world.usage_pricing
        # Seats bought cover about the roster; when pricing is by usage the billed users are
        # the active ones, fewer than the roster, and invitations arrive more often but are
        # kept only as engagement allows (see ``_roster_invites``).
        spread = (0.9, USAGE_INVITE_RATE) if usage else (0.7, 0.2)
        base = np.maximum(1, np.round(self.cur_seats * (spread[0] + 0.4 * ua[:, 0])))
        base = base.astype(np.int64)
        rate = spread[1] * base / 365.0
        horizon = np.maximum(MAX_INVITE_HORIZON - (self.created_day + 60), 0)
        n_later = np.ceil(rate * horizon * 1.15).astype(np.int64) + 1
        total = base + n_later
        m = int(total.sum())
        uacc = np.repeat(np.arange(n), total)
        offsets = np.r_[0, np.cumsum(total)[:-1]]
        k = np.arange(m) - offsets[uacc]
        initial = k < base[uacc]
        bounds = split_bounds(uacc, self.acc_bounds)
        u = self.rs.uniform("init.user", bounds, 12)
        created = self.created_s[uacc]
        # Initial users: the first admin on the day of creation, the others during onboarding.
        onboard = np.minimum(-np.log1p(-u[:, 0]) * 12.0, 60.0) * DAY
        onboard = np.where(k == 0, u[:, 1] * 20 * 3600, onboard)
        inv_initial = created + onboard.astype(np.int64)
        # Later users arrive as a Poisson stream from day 60 after creation.
        gaps = -np.log1p(-u[:, 2]) / rate[uacc]
        gaps = np.where(initial, 0.0, gaps)
        cum = np.cumsum(gaps)
        first_later = offsets + base
        cum_base = np.r_[0.0, cum][first_later]
        later_t = (self.created_day[uacc] + 60 + (cum - cum_base[uacc])) * DAY
        invite = np.where(initial, inv_initial, later_t.astype(np.int64))
        invite = np.maximum(invite, created)
        order = np.lexsort((invite, uacc))
        invite = invite[order]
        self.uacc = uacc
        self.uk = k + 1
        q = self.q[uacc]
        seats = self.cur_seats[uacc]
        role = np.where(u[:, 3] < 0.15, 1, np.where(u[:, 3] < 0.75, 2, 3))
        role = np.where((k == 0) | ((k == 1) & ((u[:, 4] < 0.5) | (seats > 20))), 0, role)
        self.urole = role
        n_teams = np.clip(
            np.round(
                1 + 1.3 * np.log2(1 + self.cur_seats / 3.0) * (0.5 + 0.7 * self.q) + ua[:, 1] - 0.5
            ),
            1,
            len(TEAMS),
        ).astype(np.int64)
        team_offset = (ua[:, 2] * len(TEAMS)).astype(np.int64)
        team = (team_offset[uacc] + (u[:, 5] * n_teams[uacc]).astype(np.int64)) % len(TEAMS)
        self.uteam = np.where(u[:, 6] < 0.06, -1, team)
        role_prop = np.array([0.75, 0.6, 0.5, 0.3])[role]
        self.uprop = np.clip(role_prop * (0.4 + 0.9 * u[:, 7]), 0.02, 0.97)
        p_act = np.where(initial, 0.62 + 0.33 * q, 0.8 + 0.15 * q)
        p_act = np.where(k == 0, 1.0, p_act)
        delay = -np.log1p(-u[:, 9]) * (0.3 + 10.0 * (1 - q) ** 1.5) * DAY
        act = np.where(u[:, 8] < p_act, invite + 600 + delay.astype(np.int64), NA)
        # Turnover before the start date.
        seated = np.where(act < NA, act, invite)
        gone = seated + (-np.log1p(-u[:, 10]) * 365.0 / 0.15 * DAY).astype(np.int64)
        self.udeact = np.where(gone < 0, gone + (u[:, 11] * 3600).astype(np.int64), NA)
        if usage:
            # Candidate invitations: before the start date kept with the account's long-run
            # health, from then on day by day with the health of the day.
            self.ukeep = self.rs.uniform("world.usage.invite", bounds)
            later = ~initial
            dropped = later & (invite < 0) & (self.ukeep >= q**2)
            invite = np.where(dropped, NA, invite)
            act = np.where(dropped, NA, act)
            self.udeact = np.where(dropped, NA, self.udeact)
            pending = np.flatnonzero(later & (invite >= 0) & (invite < NA))
            pending = pending[np.argsort(invite[pending] // DAY, kind="stable")]
            self.pend_users = pending
            self.pend_days = invite[pending] // DAY
            # Last day with activity: users seated at the start count as recently active.
            seated0 = (act < 0) & (self.udeact >= 0)
            self.ulast = np.where(seated0, -1, -(10**6)).astype(np.int64)
        self.uinvite = invite
        self.uact = act
        self.inv_d = to_day(invite)
        self.act_d = to_day(act)
        self.deact_d = to_day(self.udeact)
        self.user_bounds = bounds

    def _init_features(self) -> None:
        u = self._u("init.features", 2 * N_FEATURES + 2)
        self.breadth = np.clip(0.2 + 0.75 * self.q + 0.2 * (u[:, -1] - 0.5), 0.1, 1.0)
        self.affinity = u[:, :N_FEATURES]
        self.intensity = u[:, N_FEATURES : 2 * N_FEATURES]
        self.reach = self.affinity < self.breadth[:, None] * FEATURE_REACH[None, :]
        early = (
            FEATURE_RELEASE[None, :] < np.minimum(self.created_day, 0)[:, None] - 30
        ) & self.mature[:, None]
        pre = self.reach & early & (self.intensity < 0.85)
        self.adopt_day = np.where(pre, -1, NA).astype(np.int64)

    def _init_health(self) -> None:
        z = self._z("init.health")
        self.x = self.mu + 0.45 * z
        self.shock = np.zeros(self.n)
        self.h = sigmoid(self.x)
        self.hbar = self.h.copy()

    def _init_plays(self) -> None:
        """The CSMs: how each reads its account's health, when its QBRs fall, how likely a
        trigger is to get a play, and what they have seen and started so far."""
        n = self.n
        u = self._u("csm.init", 2)
        self.csm_bias = pb.PERCEPTION_BIAS * (u[:, 0] - 0.5)
        self.qbr_phase = np.floor(u[:, 1] * pb.QBR_PERIOD).astype(np.int64)
        self.csm_code = np.where(self.csm >= 0, POOL_OFFSETS[self.seg] + self.csm, -1)
        mult = pb.SEGMENT_COVERAGE[self.seg] * np.where(self.csm < 0, pb.UNASSIGNED_COVERAGE, 1.0)
        mult = mult * self.world.play_coverage
        self.play_cov = np.minimum(pb.PLAY_COVERAGE[None, :] * mult[:, None], pb.MAX_COVERAGE)
        self.play_pend = np.full((n, pb.N_PLAYS), NA, dtype=np.int64)
        self.play_last = np.full((n, pb.N_PLAYS), -10_000, dtype=np.int64)
        self.csm_band = np.full(n, -1, dtype=np.int64)
        self.csm_states = np.zeros((n, len(CSM_STATE_PLAYS)), dtype=bool)
        self.perceived_hist = np.full((pb.SCORE_DROP_DAYS, n), np.nan)
        self.dau_fast = np.zeros(n)
        self.dau_slow = np.zeros(n)
        self.late_until = np.full(n, -1, dtype=np.int64)
        self.queue = {k: np.empty(0, dtype=np.int64) for k in ("kind", "day", "acct", "until")}
        self.queue_parts: list[tuple[int, np.ndarray, np.ndarray, np.ndarray]] = []
        # The lift of the plays that worked: applied from the day after each one starts.
        self.lift = np.zeros(n)
        self.lift_next = np.zeros(n)

    # ------------------------------------------------------------------ one day
    def step(self, t: int) -> None:
        """Simulate day ``t`` (0 = start date)."""
        ua = self._u("day.account", 28)
        za = self._z("day.health", 2)
        self._switch_terms(t, ua[:, 0])
        alive = (self.created_day <= t) & (t <= self.churn_day)

        # Shocks from yesterday's health, then the health update.
        h = self.h
        present = self.role_from <= t
        incident = alive & (ua[:, 1] < (0.6 + 0.8 * (1 - h)) / 450.0)
        reorg = alive & (ua[:, 2] < 1 / 800.0)
        champ_left = alive & present[:, 0] & (ua[:, 3] < (0.5 + 2.0 * (1 - h)) / 1600.0)
        sponsor_left = alive & present[:, 1] & (ua[:, 4] < (0.5 + 1.5 * (1 - h)) / 2200.0)
        self._stakeholder_turnover(t, champ_left, ROLE_CHAMPION, ua[:, 5], ua[:, 6], ua[:, 7])
        self._stakeholder_turnover(t, sponsor_left, ROLE_SPONSOR, ua[:, 8], ua[:, 9], ua[:, 10])
        hit = (
            incident * (0.4 + 0.6 * ua[:, 11])
            + reorg * (0.3 + 0.8 * ua[:, 12])
            + champ_left * (0.6 + 0.8 * ua[:, 13])
            + sponsor_left * (0.3 + 0.5 * ua[:, 14])
        )
        self.shock = self.shock * 0.983 - hit
        # Plays that worked, started up to yesterday (zero where none did: no change).
        self.lift = np.minimum(self.lift * pb.LIFT_DECAY + self.lift_next, pb.LIFT_CAP)
        self.lift_next = np.zeros(self.n)
        present = self.role_from <= t
        lame_duck = (self.churn_day < NA) & alive
        target = self.mu - 0.5 * ~present[:, 0] - 0.25 * ~present[:, 1] - 0.7 * lame_duck
        self.x = self.x + (target - self.x) / 30.0 + 0.11 * za[:, 0]
        self.h = sigmoid(self.x + self.shock + self.lift)
        h = self.h
        self.hbar = np.where(t <= self.created_day, h, self.hbar + (h - self.hbar) / 45.0)

        if self.world.usage_pricing:
            self._roster_invites(t)
        self._decide_renewals(t, alive, ua)
        seated = self._user_turnover(t, alive)
        dau = self._activity(t, alive)
        self._add_ons(t, alive, seated, ua)
        if not self.world.product_only:
            # Without them (product data only) nothing else changes: neither feeds back.
            self._features(t, alive, dau)
            self._surveys(t, alive, ua)
        # Support and billing happen in every world (CSMs act on escalations and overdue
        # invoices), and are written where the world has them.
        self._tickets(t, alive, incident, dau)
        self._invoices(t, alive)
        if self.world.play_coverage > 0:
            # (A world whose CSMs run no play does without them, draws included.)
            self._csm_plays(t, alive, champ_left, sponsor_left, seated, dau)

    def _roster_invites(self, t: int) -> None:
        """Usage pricing: today's candidate invitations are kept with probability health
        squared, so a healthy account's roster grows and a struggling one's stalls."""
        lo, hi = np.searchsorted(self.pend_days, [t, t + 1])
        users = self.pend_users[lo:hi]
        users = users[self.inv_d[users] == t]
        if len(users) == 0:
            return
        h = self.h[self.uacc[users]]
        drop = users[self.ukeep[users] >= h**2]
        self.uinvite[drop] = NA
        self.uact[drop] = NA
        self.udeact[drop] = NA
        self.inv_d[drop] = NA
        self.act_d[drop] = NA
        self.deact_d[drop] = NA

    def latent(self, t: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Accounts that exist on day ``t`` (created, not yet gone), their health and its
        smoothed value, after ``step(t)``."""
        idx = np.flatnonzero((self.created_day <= t) & (t <= self.churn_day))
        return idx, self.h[idx], self.hbar[idx]

    def _switch_terms(self, t: int, u: np.ndarray) -> None:
        sw = self.renew_pending & (self.cur_end + 1 == t)
        if not sw.any():
            return
        self.cur_seq[sw] = self.nx["seq"][sw]
        self.cur_start[sw] = self.nx["start"][sw]
        self.cur_end[sw] = self.nx["end"][sw]
        self.cur_arr[sw] = self.nx["arr"][sw]
        self.cur_seats[sw] = self.nx["seats"][sw]
        self.addon_arr[sw] = 0
        self.addon_seats[sw] = 0
        self.renew_pending[sw] = False
        idx = np.flatnonzero(sw)
        lead = self._decision_lead(idx, u[idx])
        self.decision_day[idx] = np.maximum(self.cur_end[idx] - lead, t)
        self.inv_k[sw] = 0
        self.inv_next[sw] = t

    def _stakeholder_turnover(
        self,
        t: int,
        left: np.ndarray,
        role: int,
        u_rep: np.ndarray,
        u_gap: np.ndarray,
        u_time: np.ndarray,
    ) -> None:
        idx = np.flatnonzero(left)
        if len(idx) == 0:
            return
        left_s = self._after_creation(idx, t * DAY + business_time(u_time[idx]))
        self._stakeholder(idx, self.role_contact[idx, role], role, EV_LEFT, left_s)
        replaced = u_rep[idx] < 0.45 + 0.4 * self.h[idx]
        rep = idx[replaced]
        add_day = t + 14 + np.floor(u_gap[rep] * 60).astype(np.int64)
        contact = self._new_contact(rep)
        self._stakeholder(
            rep, contact, role, EV_ADDED, add_day * DAY + business_time(1 - u_time[rep])
        )
        self.role_contact[rep, role] = contact
        self.role_from[idx, role] = NA
        self.role_from[rep, role] = add_day

    def _decide_renewals(self, t: int, alive: np.ndarray, ua: np.ndarray) -> None:
        due = alive & (self.decision_day == t) & ~self.renew_pending & (self.churn_day >= NA)
        idx = np.flatnonzero(due)
        if len(idx) == 0:
            return
        hb = self.hbar[idx]
        seg = self.seg[idx]
        auto = self.cur_auto[idx] == 1
        logit = -2.25 - 9.0 * (hb - 0.6) - 0.6 * auto + np.array([0.25, 0.0, -0.7])[seg]
        # The odds are those of a yearly decision; a shorter term's decision has the same
        # hazard over its own length.
        share = self._term_share(idx)
        churn = ua[idx, 15] < 1.0 - (1.0 - sigmoid(logit)) ** share
        total_arr = self.cur_arr[idx] + self.addon_arr[idx]
        total_seats = self.cur_seats[idx] + self.addon_seats[idx]
        end = self.cur_end[idx]

        c = idx[churn]
        if len(c):
            self.churn_day[c] = self.cur_end[c]
            self.churn_s[c] = (
                self.cur_end[c] * DAY + 22 * 3600 + (ua[c, 16] * 3000).astype(np.int64)
            )
            self._new_outcome(
                c, np.full(len(c), OT_CHURNED), self.cur_end[c], total_arr[churn], np.zeros(len(c))
            )
            self._close_users(c)

        r = idx[~churn]
        if len(r) == 0:
            return
        hr = hb[~churn]
        u_exp = ua[r, 17]
        p_exp = 0.45 * sigmoid((hr - 0.72) * 12) * share[~churn]
        p_con = 0.6 * sigmoid((0.52 - hr) * 12) * share[~churn]
        factor = np.where(
            u_exp < p_exp,
            1.08 + 0.35 * ua[r, 18],
            np.where(u_exp > 1 - p_con, 0.6 + 0.32 * ua[r, 18], 1.0),
        )
        seats = self._bounded_seats(r, total_seats[~churn] * factor)
        if self.world.usage_pricing:
            # Priced per monthly active user: the next term's ARR follows usage.
            recent = self.ulast >= t - (MAU_WINDOW - 1)
            mau = np.bincount(self.uacc[recent], minlength=self.n)[r]
            seats = np.maximum(mau, 1).astype(np.int64)
            self._retier(r, seats)
        arr = seats * self.price[r]
        before = total_arr[~churn]
        otype = np.where(
            arr > before, OT_EXPANDED, np.where(arr < before, OT_CONTRACTED, OT_RENEWED)
        )
        self._new_outcome(r, otype, end[~churn], before, arr)
        auto = np.where(ua[r, 19] < 0.1, 1 - np.abs(self.cur_auto[r]), self.cur_auto[r])
        self.cur_auto[r] = auto
        span = np.maximum(end[~churn] - t, 1)
        signed_day = t + np.floor(ua[r, 20] * span).astype(np.int64)
        signed_s = self._after_creation(r, signed_day * DAY + business_time(ua[r, 21]))
        start = end[~churn] + 1
        new_end = add_months(self.start, start, self.months[r]) - 1
        seq = self._new_contract(
            r, CT_RENEWAL, start, new_end, arr, self._plan_seats(r, seats), auto, signed_s,
            self.cur_seq[r],
        )  # fmt: skip
        self.renew_pending[r] = True
        self.nx["seq"][r] = seq
        self.nx["start"][r] = start
        self.nx["end"][r] = new_end
        self.nx["arr"][r] = arr
        self.nx["seats"][r] = seats

    def _close_users(self, accts: np.ndarray) -> None:
        """At a churn decision: no invites or activations after the churn, seats removed then."""
        mark = np.zeros(self.n, dtype=bool)
        mark[accts] = True
        users = np.flatnonzero(mark[self.uacc])
        cs = self.churn_s[self.uacc[users]]
        late_invite = self.uinvite[users] > cs
        self.uinvite[users[late_invite]] = NA
        late_act = self.uact[users] > cs
        self.uact[users[late_act]] = NA
        open_seat = (self.udeact[users] >= NA) & ~late_invite
        self.udeact[users[open_seat]] = np.maximum(
            cs[open_seat], self.uinvite[users[open_seat]] + 60
        )
        self.inv_d[users] = to_day(self.uinvite[users])
        self.act_d[users] = to_day(self.uact[users])
        self.deact_d[users] = to_day(self.udeact[users])

    def _user_turnover(self, t: int, alive: np.ndarray) -> np.ndarray:
        """Seats removed today (more when health is low); returns seated users per account."""
        settled = np.maximum(self.inv_d, np.where(self.act_d < NA, self.act_d, 0))
        cand = np.flatnonzero((settled < t) & (self.deact_d >= NA) & alive[self.uacc])
        b = split_bounds(cand, self.user_bounds)
        u = self.rs.uniform("day.turnover", b, 2)
        if len(cand):
            h = self.h[self.uacc[cand]]
            if self.world.usage_pricing:
                p = (0.15 / 365.0) * (0.3 + 4.0 * (1 - h) ** 2)
            else:
                p = (0.12 / 365.0) * (0.5 + 2.5 * (1 - h) ** 2)
            gone = cand[u[:, 0] < p]
            self.udeact[gone] = t * DAY + business_time(u[u[:, 0] < p, 1])
            self.deact_d[gone] = t
        seated = (self.inv_d <= t) & (self.deact_d > t)
        return np.bincount(self.uacc[seated], minlength=self.n)

    def _activity(self, t: int, alive: np.ndarray) -> np.ndarray:
        elig = np.flatnonzero((self.act_d <= t) & (t < self.deact_d) & alive[self.uacc])
        b = split_bounds(elig, self.user_bounds)
        u = self.rs.uniform("day.active", b)
        acct = self.uacc[elig]
        h = self.h[acct]
        wk = 0.12 if weekday(self.start, np.array([t]))[0] >= 5 else 1.0
        ramp = np.clip(0.35 + 0.65 * (t - self.created_day[acct]) / 90.0, 0.35, 1.0)
        prop = self.uprop[elig]
        p = prop * (0.08 + 0.92 * h**1.5) * wk * ramp
        if self.world.active_scale != 1.0:
            p = p * self.world.active_scale
        on = (u < p) | (self.act_d[elig] == t)
        users = elig[on]
        acct = acct[on]
        h = h[on]
        prop = prop[on]
        if self.world.usage_pricing:
            self.ulast[users] = t
        b = split_bounds(users, self.user_bounds)
        scale = self.world.volume_scale
        if scale == 1.0:
            sessions = 1 + self.rs.poisson("day.sessions", 0.2 + 1.6 * h * prop, b)
        else:
            # The mean number of sessions scaled; minutes and key events follow sessions.
            sessions = 1 + self.rs.poisson("day.sessions", scale * (1.2 + 1.6 * h * prop) - 1, b)
        z = self.rs.normal("day.minutes", b)
        minutes = np.maximum(1, np.round(sessions * np.exp(np.log(6.0 + 20.0 * h) + 0.5 * z)))
        if scale != 1.0:
            minutes = np.minimum(minutes, 1440)
        keys = self.rs.poisson("day.key_events", sessions * (0.2 + 2.8 * h**2) * (0.5 + prop), b)
        self.activity.add(
            acct=acct,
            user=self.uk[users],
            day=np.full(len(users), t),
            sessions=sessions,
            minutes=minutes.astype(np.int64),
            key_events=keys,
        )
        return np.bincount(acct, minlength=self.n)

    def _add_ons(self, t: int, alive: np.ndarray, seated: np.ndarray, ua: np.ndarray) -> None:
        if self.world.usage_pricing:
            # Nothing to add mid-term: the plan's limit is not a seat count.
            return
        seats = self.cur_seats + self.addon_seats
        util = seated / np.maximum(seats, 1)
        ok = (
            alive
            & ~self.renew_pending
            & (self.churn_day >= NA)
            & (self.cur_end - t >= 90)
            & (self.h > 0.65)
            & (util > 0.95)
            & (seats < np.ceil(SEAT_RANGE[self.seg, 1] * 1.5))
            & (t - self.last_addon >= 180)
            & (ua[:, 22] < 1 / 900.0)
        )
        idx = np.flatnonzero(ok)
        if len(idx) == 0:
            return
        u = ua[idx, 23]
        add = np.maximum(1, np.round(seats[idx] * (0.1 + 0.25 * u))).astype(np.int64)
        arr = add * self.price[idx]
        start = t + 1 + np.floor(u * 10).astype(np.int64)
        end = self.cur_end[idx]
        signed_s = self._after_creation(idx, t * DAY + business_time(u))
        seq = self._new_contract(
            idx, CT_ADDON, start, end, arr, add, self.cur_auto[idx], signed_s, -1, self.cur_seq[idx]
        )
        before = self.cur_arr[idx] + self.addon_arr[idx]
        self._new_outcome(idx, np.full(len(idx), OT_EXPANDED), start, before, before + arr)
        self.addon_arr[idx] += arr
        self.addon_seats[idx] += add
        self.last_addon[idx] = t
        amount = np.round(arr * (end - start + 1) / 365.0).astype(np.int64)
        self._bill(idx, seq, start * DAY + 6 * 3600 + (u * 3600).astype(np.int64), amount, "addon")

    def _features(self, t: int, alive: np.ndarray, dau: np.ndarray) -> None:
        idx = np.flatnonzero(alive)
        b = split_bounds(idx, self.acc_bounds)
        u = self.rs.uniform("day.adoption", b, N_FEATURES)
        if len(idx):
            h = self.h[idx]
            cand = (self.adopt_day[idx] >= NA) & self.reach[idx] & (FEATURE_RELEASE[None, :] <= t)
            p = FEATURE_ADOPTION[None, :] * (0.2 + 1.2 * h[:, None]) * (dau[idx] > 0)[:, None]
            new = cand & (u < p)
            rows, cols = np.nonzero(new)
            self.adopt_day[idx[rows], cols] = t
        using = np.flatnonzero(dau > 0)
        pairs = (self.adopt_day[using] <= t) & (FEATURE_RELEASE[None, :] <= t)
        rows, feat = np.nonzero(pairs)
        acct = using[rows]
        b = split_bounds(acct, self.acc_bounds)
        h = self.h[acct]
        p = FEATURE_POPULARITY[feat] * (0.5 + 0.9 * self.intensity[acct, feat]) * (0.4 + 0.6 * h)
        au = self.rs.binomial("day.feature_users", dau[acct], np.minimum(p, 0.95), b)
        keep = au > 0
        acct, feat, au, h = acct[keep], feat[keep], au[keep], h[keep]
        b = split_bounds(acct, self.acc_bounds)
        lam = au * FEATURE_EVENTS[feat] * (0.5 + h)
        scale = self.world.volume_scale
        if scale != 1.0:
            lam = scale * (au + lam) - au
        events = au + self.rs.poisson("day.feature_events", lam, b)
        self.usage.add(
            acct=acct, feature=feat + 1, day=np.full(len(acct), t), active_users=au, events=events
        )

    def _tickets(self, t: int, alive: np.ndarray, incident: np.ndarray, dau: np.ndarray) -> None:
        h = self.h
        seats = self.cur_seats + self.addon_seats
        lam = 0.0022 * seats**0.6 * (0.35 + 2.4 * (1 - h) ** 1.5) + 0.0015 * dau * h
        lam = np.where(alive, lam + incident * 1.5, 0.0)
        count = self.rs.poisson("day.ticket_count", lam, self.acc_bounds)
        acct = np.repeat(np.arange(self.n), count)
        if len(acct) == 0:
            return
        b = split_bounds(acct, self.acc_bounds)
        u = self.rs.uniform("day.ticket", b, 10)
        z = self.rs.normal("day.ticket_n", b, 2)
        ha = h[acct]
        w = (1 - ha) ** 1.2
        probs = (1 - w)[:, None] * np.array([0.35, 0.45, 0.15, 0.05]) + w[:, None] * np.array(
            [0.12, 0.38, 0.32, 0.18]
        )
        sev = (u[:, 0:1] > np.cumsum(probs, axis=1)[:, :3]).sum(axis=1)
        sev = np.where(incident[acct] & (u[:, 1] < 0.7), np.maximum(sev, 2 + (u[:, 1] < 0.3)), sev)
        opened = self._after_creation(
            acct, t * DAY + (8 * 3600 + u[:, 2] * 14 * 3600).astype(np.int64)
        )
        median_h = np.array([10.0, 18.0, 30.0, 48.0])[sev] * (1 + 2.5 * (1 - ha) ** 2)
        hours = median_h * np.exp(0.9 * z[:, 0])
        resolved = opened + np.maximum(600, (hours * 3600).astype(np.int64))
        esc = u[:, 3] < sigmoid(-3.6 + 0.7 * sev + 2.2 * (1 - ha))
        escalated = np.where(
            esc, opened + ((resolved - opened) * (0.1 + 0.5 * u[:, 4])).astype(np.int64), NA
        )
        pending = np.where(
            u[:, 5] < 0.4,
            opened + ((resolved - opened) * (0.2 + 0.6 * u[:, 6])).astype(np.int64),
            NA,
        )
        rated = u[:, 7] < 0.4
        rated_s = np.where(
            rated, resolved + 60 + (-np.log1p(-u[:, 8]) * 10 * 3600).astype(np.int64), NA
        )
        score = (
            1.9
            + 3.6 * ha
            - 0.8 * esc
            - 0.35 * np.log1p(hours / 24.0)
            + 0.3 * (sev == 0)
            + 0.7 * z[:, 1]
        )
        score = np.where(rated, np.clip(np.round(score), 1, 5), NA)
        # Escalated and urgent tickets are what the CSM sees of support, the day they happen.
        critical = (escalated < NA) | (sev == 3)
        seen_day = np.where(escalated < NA, escalated, opened) // DAY
        self._csm_queue(Q_SUPPORT, seen_day[critical], acct[critical], escalated[critical])
        seq = self.n_tickets[acct] + cumcount(acct) + 1
        np.add.at(self.n_tickets, acct, 1)
        self.tickets.add(
            acct=acct,
            seq=seq,
            severity=sev,
            opened_s=opened,
            escalated_s=escalated,
            resolved_s=resolved,
            pending_s=pending,
            score=score.astype(np.int64),
            rated_s=rated_s,
        )

    def _respondent(self, t: int, acct: np.ndarray, u: np.ndarray) -> np.ndarray:
        """A random user of each account who is active on day ``t`` (0 when none)."""
        ok = np.flatnonzero((self.act_d <= t) & (t < self.deact_d))
        if len(ok) == 0:
            return np.zeros(len(acct), dtype=np.int64)
        owner = self.uacc[ok]
        first = np.searchsorted(owner, acct, side="left")
        last = np.searchsorted(owner, acct, side="right")
        count = last - first
        pick = first + np.floor(u * count).astype(np.int64)
        pick = np.minimum(pick, len(ok) - 1)
        return np.where(count > 0, self.uk[ok[pick]], 0)

    def _surveys(self, t: int, alive: np.ndarray, ua: np.ndarray) -> None:
        h = self.h
        if t % SURVEY_PERIOD == SURVEY_OFFSET:
            responds = alive & (ua[:, 24] < 0.05 + 0.5 * h)
            big = np.clip(self.cur_seats / 100.0, 0.1, 0.6)
            n_resp = 1 + (ua[:, 25] < big) + (ua[:, 25] < big / 3)
            acct = np.repeat(np.arange(self.n), np.where(responds, n_resp, 0))
            b = split_bounds(acct, self.acc_bounds)
            u = self.rs.uniform("day.nps", b, 4)
            z = self.rs.normal("day.nps_n", b)
            delay = np.minimum(-np.log1p(-u[:, 0]) * 3.0, 20.0).astype(np.int64)
            s = self._after_creation(acct, (t + delay) * DAY + business_time(u[:, 1]))
            score = np.clip(np.round(1.5 + 9.0 * h[acct] + 1.6 * z), 0, 10)
            user = self._respondent(t, acct, u[:, 2])
            self._add_surveys(acct, SURVEY_NPS, score, s, user)
        pulse = alive & (ua[:, 26] < (0.4 + 0.6 * h) / 300.0)
        acct = np.flatnonzero(pulse)
        b = split_bounds(acct, self.acc_bounds)
        u = self.rs.uniform("day.csat", b, 3)
        z = self.rs.normal("day.csat_n", b)
        if len(acct):
            score = np.clip(np.round(1.0 + 4.0 * h[acct] + 0.8 * z), 1, 5)
            s = self._after_creation(acct, t * DAY + business_time(u[:, 0]))
            self._add_surveys(acct, SURVEY_CSAT, score, s, self._respondent(t, acct, u[:, 1]))

    def _add_surveys(
        self, acct: np.ndarray, stype: int, score: np.ndarray, s: np.ndarray, user: np.ndarray
    ) -> None:
        if len(acct) == 0:
            return
        seq = self.n_surveys[acct] + cumcount(acct) + 1
        np.add.at(self.n_surveys, acct, 1)
        self.surveys.add(
            acct=acct,
            seq=seq,
            user=user,
            stype=np.full(len(acct), stype),
            score=score.astype(np.int64),
            responded_s=s,
        )

    def _invoices(self, t: int, alive: np.ndarray) -> None:
        idx = np.flatnonzero(alive & (self.inv_next == t))
        if len(idx) == 0:
            return
        amount = np.round(self.cur_arr[idx] * self.period[idx] / 12.0).astype(np.int64)
        b = split_bounds(idx, self.acc_bounds)
        u = self.rs.uniform("day.invoice_time", b)
        issued = self._after_creation(idx, t * DAY + 6 * 3600 + (u * 7200).astype(np.int64))
        self._bill(idx, self.cur_seq[idx], issued, amount, "term")
        self.inv_k[idx] += 1
        nxt = add_months(self.start, self.cur_start[idx], self.inv_k[idx] * self.period[idx])
        self.inv_next[idx] = np.where(nxt <= self.cur_end[idx], nxt, NA)

    def _bill(
        self,
        idx: np.ndarray,
        contract: np.ndarray,
        issued: np.ndarray,
        amount: np.ndarray,
        kind: str,
    ) -> None:
        """Issue one invoice per account in ``idx`` and draw all its payment attempts."""
        b = split_bounds(idx, self.acc_bounds)
        u = self.rs.uniform(f"day.bill.{kind}", b, 12)
        h = self.h[idx]
        self.n_invoices[idx] += 1
        inv_seq = self.n_invoices[idx].copy()
        void = u[:, 0] < 0.004
        autopay = u[:, 1] < self.autopay_p[idx]
        wait_days = -np.log1p(-u[:, 2]) * (3.0 + 45.0 * (1 - h) ** 2)
        first = np.where(
            autopay,
            issued + 3600 + (u[:, 3] * 3600).astype(np.int64),
            (issued // DAY + 1 + wait_days.astype(np.int64)) * DAY + business_time(u[:, 3]),
        )
        p_fail = np.where(autopay, 0.02 + 0.45 * (1 - h) ** 2, 0.01 + 0.12 * (1 - h) ** 2)
        paid = np.full(len(idx), NA, dtype=np.int64)
        attempt_s = first.copy()
        pending = ~void
        for j in range(4):
            who = np.flatnonzero(pending)
            if len(who) == 0:
                break
            failed = u[who, 4 + j] < p_fail[who]
            reason = np.where(failed, np.searchsorted([0.5, 0.8], u[who, 8 + j]), -1)
            a = idx[who]
            self.n_payments[a] += 1
            self.payments.add(
                acct=a,
                seq=self.n_payments[a].copy(),
                invoice=inv_seq[who],
                attempted_s=attempt_s[who],
                amount=amount[who],
                failed=failed.astype(np.int64),
                reason=reason,
            )
            ok = who[~failed]
            paid[ok] = attempt_s[ok]
            pending[ok] = False
            attempt_s = attempt_s + (3 + (u[:, 8 + j] * 7 % 1 * 4).astype(np.int64)) * DAY
        # Not paid by the end of its due day: overdue from the next day until it is paid.
        due_day = issued // DAY + 30
        late = ~void & (paid > (due_day + 1) * DAY - 1)
        self._csm_queue(Q_BILLING, due_day[late] + 1, idx[late], paid[late])
        self.invoices.add(
            acct=idx,
            seq=inv_seq,
            contract=contract,
            issued_s=issued,
            due_day=issued // DAY + 30,
            amount=amount,
            void=void.astype(np.int64),
            paid_s=paid,
        )

    # ------------------------------------------------------------------ CSM plays
    def _csm_queue(self, kind: int, day: np.ndarray, acct: np.ndarray, until: np.ndarray) -> None:
        """Something the CSM will see on ``day`` (an escalation, an invoice turning overdue
        and unpaid until ``until``), drawn today with its future time."""
        if len(acct):
            self.queue_parts.append((kind, day, acct, until))

    def _queued_today(self, t: int) -> dict[str, np.ndarray]:
        """What the queue holds for day ``t``; later entries stay queued."""
        q = self.queue
        if self.queue_parts:
            parts = self.queue_parts
            self.queue_parts = []
            kinds = [np.full(len(a), k, dtype=np.int64) for k, _, a, _ in parts]
            q = {
                "kind": np.concatenate([q["kind"], *kinds]),
                "day": np.concatenate([q["day"], *(d for _, d, _, _ in parts)]),
                "acct": np.concatenate([q["acct"], *(a for _, _, a, _ in parts)]),
                "until": np.concatenate([q["until"], *(u for _, _, _, u in parts)]),
            }
        today = q["day"] == t
        self.queue = {k: v[~today] for k, v in q.items()}
        return {k: v[today] for k, v in q.items()}

    def _csm_band(self, perceived: np.ndarray) -> np.ndarray:
        """The band each CSM reads today (0 critical .. 3 healthy): worse as soon as the
        perceived health falls below an edge, better only once it clears it by a margin."""
        raw = (perceived[:, None] >= pb.BAND_EDGES[None, :]).sum(axis=1)
        up = (perceived[:, None] >= pb.BAND_EDGES[None, :] + pb.BAND_HYSTERESIS).sum(axis=1)
        prev = self.csm_band
        return np.where(prev < 0, raw, np.where(raw < prev, raw, np.maximum(prev, up)))

    def _csm_plays(
        self,
        t: int,
        alive: np.ndarray,
        champ_left: np.ndarray,
        sponsor_left: np.ndarray,
        seated: np.ndarray,
        dau: np.ndarray,
    ) -> None:
        """Start the plays due today, then see today's triggers and schedule their plays."""
        u = self._u("csm.day", pb.N_PLAYS)
        self._start_plays(t, alive)
        n = self.n
        # A trigger counts on an account that existed yesterday too (a new account's first
        # day, and the start date, only set what the CSM has seen).
        seen = alive & (self.created_day < t) & (t > 0)
        hbar = self.hbar
        perceived = sigmoid(np.log(hbar / (1.0 - hbar)) + self.csm_bias)
        trig = np.zeros((n, pb.N_PLAYS), dtype=bool)

        band = self._csm_band(perceived)
        entered = np.flatnonzero(seen & (self.csm_band >= 0) & (band != self.csm_band))
        trig[entered, band[entered]] = True
        self.csm_band = band
        qbr_due = (t + self.qbr_phase) % pb.QBR_PERIOD == 0
        trig[:, pb.PLAY_CODE["healthy_qbr"]] |= (band == BAND_HEALTHY) & qbr_due
        trig[:, pb.PLAY_CODE["champion_replacement"]] |= champ_left
        trig[:, pb.PLAY_CODE["sponsor_engagement"]] |= sponsor_left

        slot = t % pb.SCORE_DROP_DAYS
        dropped = perceived < self.perceived_hist[slot] - pb.SCORE_DROP
        self.perceived_hist[slot] = np.where(alive, perceived, np.nan)
        self.dau_fast += (dau - self.dau_fast) / 7.0
        self.dau_slow += (dau - self.dau_slow) / 56.0
        declining = (self.dau_slow >= 1.0) & (self.dau_fast < 0.5 * self.dau_slow)
        seats = self.cur_seats + self.addon_seats
        util = seated / np.maximum(seats, 1)
        waste = (seats >= 5) & (util < 0.75)
        days_left = self.cur_end - t
        window = np.minimum(90, np.maximum((self.cur_end - self.cur_start + 1) // 2, 1))
        renewal_risk = (days_left <= window) & ~self.renew_pending & (perceived < 0.5)
        expansion = (band == BAND_HEALTHY) & (util >= 0.9) & (perceived >= 0.7)
        present = self.role_from <= t
        churn_risk = (perceived < 0.4) & (~present[:, 0] | ~present[:, 1] | (days_left <= 120))
        states = np.stack([dropped, declining, waste, renewal_risk, expansion, churn_risk], 1)
        trig[:, CSM_STATE_PLAYS] |= states & ~self.csm_states
        self.csm_states = states

        today = self._queued_today(t)
        support = today["acct"][today["kind"] == Q_SUPPORT]
        trig[support, pb.PLAY_CODE["support_escalation_review"]] = True
        billing = today["kind"] == Q_BILLING
        np.maximum.at(self.late_until, today["acct"][billing], today["until"][billing])
        trig[today["acct"][billing], pb.PLAY_CODE["billing_follow_up"]] = True

        # Some triggers get their play, a few days later; none while it is pending or the
        # same play ran recently.
        ok = (
            trig
            & seen[:, None]
            & (u < self.play_cov)
            & (self.play_pend >= NA)
            & (t - self.play_last >= pb.PLAY_COOLDOWN[None, :])
        )
        rows, cols = np.nonzero(ok)
        frac = u[rows, cols] / self.play_cov[rows, cols]
        lo, hi = pb.PLAY_DELAY[cols, 0], pb.PLAY_DELAY[cols, 1]
        self.play_pend[rows, cols] = t + lo + np.floor(frac * (hi - lo + 1)).astype(np.int64)

    def _start_plays(self, t: int, alive: np.ndarray) -> None:
        """The plays scheduled for today start (on accounts still there; a billing follow-up
        only while the invoice is unpaid): outcome, completion and whether it works."""
        due = self.play_pend <= t
        if not due.any():
            return
        rows, cols = np.nonzero(due)
        self.play_pend[rows, cols] = NA
        billing = cols == pb.PLAY_CODE["billing_follow_up"]
        keep = alive[rows] & (~billing | (self.late_until[rows] > t * DAY))
        rows, cols = rows[keep], cols[keep]
        if len(rows) == 0:
            return
        v = self.rs.uniform("csm.play", split_bounds(rows, self.acc_bounds), 9)
        h = self.h[rows]
        started = self._after_creation(rows, t * DAY + business_time(v[:, 0]))
        # The customer's health decides whether they take part; some plays the CSM never
        # records as finished.
        no_response = pb.DROPPED_SHARE + 0.06 + 0.2 * (1 - h)
        declined = no_response + 0.03 + 0.08 * (1 - h)
        outcome = np.where(
            v[:, 1] < pb.DROPPED_SHARE,
            -1,
            np.where(
                v[:, 1] < no_response,
                pb.OUT_NO_RESPONSE,
                np.where(v[:, 1] < declined, pb.OUT_DECLINED, pb.OUT_COMPLETED),
            ),
        )
        lo, hi = pb.PLAY_DURATION[cols, 0], pb.PLAY_DURATION[cols, 1]
        days = np.where(
            outcome == pb.OUT_COMPLETED,
            lo + np.floor(v[:, 2] * (hi - lo + 1)),
            np.where(
                outcome == pb.OUT_NO_RESPONSE,
                14 + np.floor(v[:, 2] * 22),
                2 + np.floor(v[:, 2] * 13),
            ),
        ).astype(np.int64)
        completed = np.where(outcome >= 0, (t + days) * DAY + business_time(v[:, 3]), NA)
        # A play the customer took part in works with its chance: a lift from tomorrow.
        works = (outcome == pb.OUT_COMPLETED) & (
            v[:, 4] < pb.PLAY_EFFECT[cols] * self.world.play_effect
        )
        lo_lift, hi_lift = pb.LIFT_RANGE
        lift = np.where(works, lo_lift + v[:, 5] * (hi_lift - lo_lift), 0.0)
        np.add.at(self.lift_next, rows, lift)
        # The account's CSM runs it; an account without one gets someone of the pool.
        seg = self.seg[rows]
        pick = (v[:, 6] - pb.OWNER_UNRECORDED) / (1 - pb.OWNER_UNRECORDED)
        pooled = POOL_OFFSETS[seg] + np.floor(np.maximum(pick, 0) * POOL_SIZES[seg]).astype(
            np.int64
        )
        owner = np.where(
            v[:, 6] < pb.OWNER_UNRECORDED,
            -1,
            np.where(self.csm_code[rows] >= 0, self.csm_code[rows], pooled),
        )
        kind = np.maximum(outcome, 0)
        noted = (outcome >= 0) & (v[:, 7] < pb.NOTE_SHARE)
        note = pb.NOTE_OFFSETS[kind] + np.floor(v[:, 8] * pb.NOTE_COUNTS[kind]).astype(np.int64)
        self.play_last[rows, cols] = t
        seq = self.n_plays[rows] + cumcount(rows) + 1
        np.add.at(self.n_plays, rows, 1)
        self.plays.add(
            acct=rows,
            seq=seq,
            play=cols,
            owner=owner,
            started_s=started,
            completed_s=completed,
            outcome=outcome,
            note=np.where(noted, note, -1),
            lift_micro=np.round(lift * 1e6).astype(np.int64),
        )

    # ------------------------------------------------------------------ final state
    def account_records(self) -> dict[str, np.ndarray]:
        """Static account attributes."""
        return {
            "acct": np.arange(self.n),
            "seg": self.seg,
            "industry": self.industry,
            "csm": self.csm,
            "created_s": self.created_s,
            "churn_s": self.churn_s,
            "churn_day": self.churn_day,
            "name0": self.name_parts[:, 0],
            "name1": self.name_parts[:, 1],
            "name2": self.name_parts[:, 2],
            "name3": self.name_parts[:, 3],
        }

    def user_records(self) -> dict[str, np.ndarray]:
        """Users with their timestamps as simulated so far (never-invited slots dropped)."""
        keep = self.uinvite < NA
        role, team = self.urole[keep], self.uteam[keep]
        if self.world.product_only:
            # The product records no roles beyond the account's first admin, and no teams.
            role = np.where(self.uk[keep] == 1, 0, 2)
            team = np.full(len(role), -1)
        return {
            "acct": self.uacc[keep],
            "user": self.uk[keep],
            "role": role,
            "team": team,
            "invited_s": self.uinvite[keep],
            "activated_s": self.uact[keep],
            "deactivated_s": self.udeact[keep],
        }
