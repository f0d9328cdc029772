"""Benchmark sizes and the goals each is measured against."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

# (At 730 days from it, the delivered day of M and L is 2025-12-31, a month-end.)
from customer_health.generator.generator import DEFAULT_START_DATE


@dataclass(frozen=True)
class Targets:
    """Goals on the 2-core, 24 GB reference machine (None: no goal)."""

    full_build_s: float | None = None
    incremental_s: float | None = None
    peak_rss_gb: float | None = None
    floor_ratio: float | None = 5.0


@dataclass(frozen=True)
class Preset:
    """One benchmark size."""

    name: str
    accounts: int
    days: int
    seed: int = 42
    targets: Targets = Targets()
    # The first generated day; the delivered day is the one after the last.
    start_date: dt.date = DEFAULT_START_DATE
    # Compare the incremental marts with a full refresh (a third build) by default.
    compare: bool = False


PRESETS: dict[str, Preset] = {
    "S": Preset("S", 1_000, 365, compare=True),
    "M": Preset(
        "M", 10_000, 730, targets=Targets(full_build_s=180, incremental_s=20, peak_rss_gb=4)
    ),
    "L": Preset(
        "L", 100_000, 730, targets=Targets(full_build_s=1200, incremental_s=60, peak_rss_gb=8)
    ),
}


def custom(
    accounts: int, days: int, seed: int = 42, start_date: dt.date = DEFAULT_START_DATE
) -> Preset:
    """A size outside the presets (tests, experiments): no goals but the floor ratio."""
    return Preset(
        f"{accounts}x{days}", accounts, days, seed=seed, compare=True, start_date=start_date
    )


def is_month_end(day: dt.date) -> bool:
    """Whether ``day`` is the last day of its month (the monthly models may recompute)."""
    return (day + dt.timedelta(days=1)).day == 1
