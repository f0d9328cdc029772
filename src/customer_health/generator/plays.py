"""The playbook as the simulated CSMs run it: which plays exist, how often a trigger the CSM
sees gets a play, how soon, how long it runs and how likely it is to work.

The play ids are those of the seed ``seeds/csm_plays.csv`` (a test keeps the two equal). A
play's code in the simulation is its position in ``PLAYS``; the first four are the band
entries, in the order of the CSM's bands (critical, at risk, needs attention, healthy).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class Play:
    """How the simulated CSMs run one play of the playbook."""

    play_id: str
    # Chance that a trigger the CSM sees gets the play (before the segment and the world).
    coverage: float
    # Days from the trigger to the start (uniform, both included).
    delay: tuple[int, int]
    # Days after a start before the same play is started again on the account.
    cooldown: int
    # Chance that a play the customer took part in (outcome `completed`) works.
    effect: float
    # Days from the start to its completion when the customer took part (uniform).
    duration: tuple[int, int]


PLAYS: tuple[Play, ...] = (
    Play("critical_escalation", 0.7, (1, 4), 45, 0.45, (7, 21)),
    Play("at_risk_recovery_plan", 0.55, (2, 7), 45, 0.4, (10, 30)),
    Play("monitor_check_in", 0.3, (3, 10), 45, 0.3, (3, 14)),
    Play("healthy_qbr", 0.35, (7, 30), 80, 0.2, (1, 10)),
    Play("score_drop_review", 0.35, (2, 7), 45, 0.3, (3, 14)),
    Play("champion_replacement", 0.6, (3, 14), 60, 0.45, (14, 45)),
    Play("sponsor_engagement", 0.4, (7, 21), 60, 0.35, (14, 45)),
    Play("adoption_training", 0.3, (5, 14), 60, 0.4, (7, 21)),
    Play("seat_activation", 0.25, (7, 21), 90, 0.3, (7, 30)),
    Play("support_escalation_review", 0.3, (1, 3), 30, 0.3, (2, 10)),
    Play("billing_follow_up", 0.45, (2, 7), 30, 0.2, (2, 14)),
    Play("renewal_rescue", 0.6, (3, 10), 90, 0.4, (14, 45)),
    Play("expansion_discovery", 0.3, (7, 21), 90, 0.25, (14, 45)),
    Play("churn_risk_save", 0.55, (2, 7), 45, 0.45, (14, 45)),
)
PLAY_IDS: tuple[str, ...] = tuple(p.play_id for p in PLAYS)
PLAY_CODE: dict[str, int] = {play_id: code for code, play_id in enumerate(PLAY_IDS)}
N_PLAYS = len(PLAYS)

PLAY_COVERAGE = np.array([p.coverage for p in PLAYS])
PLAY_DELAY = np.array([p.delay for p in PLAYS], dtype=np.int64)
PLAY_COOLDOWN = np.array([p.cooldown for p in PLAYS], dtype=np.int64)
PLAY_EFFECT = np.array([p.effect for p in PLAYS])
PLAY_DURATION = np.array([p.duration for p in PLAYS], dtype=np.int64)

SEGMENT_COVERAGE = np.array([0.55, 1.0, 1.3])
"""Coverage multiplier per segment (SMB, Mid-Market, Enterprise): larger accounts get more
of their CSM's time."""
UNASSIGNED_COVERAGE = 0.3
"""Coverage multiplier of an account without a CSM (the pooled team runs fewer plays)."""
MAX_COVERAGE = 0.95

BAND_EDGES = np.array([0.35, 0.48, 0.62])
"""The CSM's bands on the health they perceive: critical below 0.35, at risk below 0.48,
needs attention below 0.62, healthy from 0.62. A band is left for a better one only when
the perceived health clears the edge by ``BAND_HYSTERESIS``."""
BAND_HYSTERESIS = 0.03
PERCEPTION_BIAS = 0.6
"""Each account's CSM misreads its health by a fixed amount, uniform in +-0.3 on the
logit scale."""
QBR_PERIOD = 91
"""A healthy account is due a QBR every quarter (on a day of its own)."""
SCORE_DROP_DAYS = 28
SCORE_DROP = 0.08
"""The perceived health fell by this much against 28 days before: a score drop."""

LIFT_RANGE = (0.2, 0.6)
"""A play that works lifts the account's health by this much on the logit scale (uniform),
from the day after it starts."""
LIFT_DECAY = 0.985
"""Daily decay of the lift (a half-life of about 46 days)."""
LIFT_CAP = 0.8
"""The lift of all an account's plays together never exceeds this."""

OUT_COMPLETED, OUT_NO_RESPONSE, OUT_DECLINED = 0, 1, 2
DROPPED_SHARE = 0.15
"""Plays the CSM never records as finished (no completion, no outcome)."""

NOTES: tuple[tuple[str, ...], ...] = (
    (
        "Plan agreed with the customer",
        "Session held, next check booked",
        "Customer confirmed the next steps",
        "Done as planned",
    ),
    (
        "No reply after three attempts",
        "Customer did not answer",
        "Meeting invitation not accepted",
    ),
    (
        "Customer declined the meeting",
        "Not a priority for the customer now",
        "Customer asked to revisit next quarter",
    ),
)
"""The CSM's outcome notes, per outcome."""
NOTE_TEXTS: tuple[str, ...] = tuple(note for notes in NOTES for note in notes)
NOTE_OFFSETS = np.cumsum([0] + [len(n) for n in NOTES])[:-1]
NOTE_COUNTS = np.array([len(n) for n in NOTES])
NOTE_SHARE = 0.7
"""Share of finished plays with a note."""
OWNER_UNRECORDED = 0.03
"""Share of plays whose CSM is not recorded."""

__all__ = [
    "NOTE_TEXTS",
    "N_PLAYS",
    "PLAYS",
    "PLAY_CODE",
    "PLAY_IDS",
    "Play",
]
