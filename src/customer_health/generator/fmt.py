"""Vectorised text rendering of simulated values, as the source systems export them.

Timestamps: ``YYYY-MM-DDTHH:MM:SSZ``; dates: ``YYYY-MM-DD``; decimals: two decimals;
integers plain; booleans ``true``/``false``; ids: a prefix and a zero-padded number.
Missing values (``NA`` or negative codes where stated) become nulls, never empty strings.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from functools import lru_cache

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from customer_health.generator.timeutil import DAY, NA, epoch_day


@lru_cache(maxsize=1)
def _clock() -> pa.Array:
    """``THH:MM:SSZ`` for every second of a day."""
    secs = pa.array(np.arange(DAY, dtype=np.int64), type=pa.timestamp("s"))
    return pc.binary_join_element_wise(
        "T", pc.utf8_slice_codeunits(pc.strftime(secs, format="%H:%M:%S"), 0, 8), "Z", ""
    )


def join(*parts: pa.Array | str) -> pa.Array:
    return pc.binary_join_element_wise(*parts, "")


class Formatter:
    """Renders relative days and seconds for one start date."""

    def __init__(self, start: dt.date) -> None:
        self.start = start
        self._epoch = epoch_day(start)

    @property
    def epoch(self) -> int:
        """Days from 1970-01-01 to the start date."""
        return self._epoch

    def dates(self, days: np.ndarray) -> pa.Array:
        """Relative days as ``YYYY-MM-DD``; ``NA`` becomes null."""
        days = np.asarray(days, dtype=np.int64)
        missing = days >= NA
        if len(days) == 0:
            return pa.array([], type=pa.string())
        present = days[~missing]
        if len(present) == 0:
            return pa.nulls(len(days), type=pa.string())
        lo, hi = int(present.min()), int(present.max())
        table = pc.cast(
            pa.array(np.arange(lo, hi + 1, dtype=np.int32) + self._epoch, type=pa.date32()),
            pa.string(),
        )
        idx = pa.array(np.where(missing, 0, days - lo), mask=missing)
        return table.take(idx)

    def timestamps(self, secs: np.ndarray) -> pa.Array:
        """Relative seconds as ``YYYY-MM-DDTHH:MM:SSZ``; ``NA`` becomes null."""
        secs = np.asarray(secs, dtype=np.int64)
        missing = secs >= NA
        safe = np.where(missing, 0, secs)
        days = np.where(missing, NA, safe // DAY)
        clock = _clock().take(pa.array(safe % DAY))
        return join(self.dates(days), clock)

    def end_of_day(self, days: np.ndarray) -> pa.Array:
        """``YYYY-MM-DDT23:59:59Z`` of relative days."""
        return join(self.dates(days), "T23:59:59Z")


def integers(values: np.ndarray, missing: np.ndarray | None = None) -> pa.Array:
    """Plain integers; ``missing`` marks nulls."""
    arr = pa.array(np.asarray(values, dtype=np.int64), mask=missing)
    return pc.cast(arr, pa.string())


def decimals(cents: np.ndarray) -> pa.Array:
    """Amounts in cents as ``1234.50``."""
    cents = np.asarray(cents, dtype=np.int64)
    whole = pc.cast(pa.array(cents // 100), pa.string())
    frac = pc.utf8_lpad(pc.cast(pa.array(cents % 100), pa.string()), 2, "0")
    return join(whole, ".", frac)


def booleans(values: np.ndarray) -> pa.Array:
    """``1``/``0`` as ``true``/``false``; negative values become null."""
    return labels(values, ("false", "true"))


def labels(codes: np.ndarray, names: Sequence[str]) -> pa.Array:
    """Codes into a label list; negative codes (or ``NA``) become null."""
    codes = np.asarray(codes, dtype=np.int64)
    missing = (codes < 0) | (codes >= len(names))
    idx = pa.array(np.where(missing, 0, codes), mask=missing)
    return pa.array(list(names), type=pa.string()).take(idx)


def ids(
    prefix: str, numbers: np.ndarray, width: int, missing: np.ndarray | None = None
) -> pa.Array:
    """``prefix`` followed by the number zero-padded to ``width`` digits."""
    digits = pc.utf8_lpad(integers(numbers, missing), width, "0")
    return join(prefix, digits)
