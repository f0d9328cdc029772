"""Calendar helpers. Days are integers relative to the start date (day 0), timestamps are
integer seconds relative to the start date at 00:00:00 UTC."""

from __future__ import annotations

import datetime as dt

import numpy as np

DAY = 86_400
NA = np.int64(2**62)
"""Sentinel for "no timestamp / no day" in integer columns; later than any cutoff."""


def epoch_day(start: dt.date) -> int:
    """Days from 1970-01-01 to ``start``."""
    return (start - dt.date(1970, 1, 1)).days


def add_months(start: dt.date, days: np.ndarray, months: np.ndarray | int) -> np.ndarray:
    """Shift relative days by whole calendar months (day of month clamped to month end)."""
    days = np.asarray(days, dtype=np.int64)
    abs_days = (days + epoch_day(start)).astype("datetime64[D]")
    month = abs_days.astype("datetime64[M]")
    dom = (abs_days - month).astype(np.int64)
    target = month + np.asarray(months, dtype=np.int64)
    month_len = ((target + 1).astype("datetime64[D]") - target.astype("datetime64[D]")).astype(
        np.int64
    )
    out = target.astype("datetime64[D]") + np.minimum(dom, month_len - 1)
    return out.astype(np.int64) - epoch_day(start)


def weekday(start: dt.date, days: np.ndarray) -> np.ndarray:
    """Weekday (Monday=0) of relative days."""
    return (np.asarray(days, dtype=np.int64) + epoch_day(start) + 3) % 7


def to_day(s: np.ndarray) -> np.ndarray:
    """Day of timestamps in seconds, keeping ``NA``."""
    s = np.asarray(s, dtype=np.int64)
    return np.where(s >= NA, NA, s // DAY)
