"""Worlds: structurally different businesses the generator can simulate.

Every world keeps the same causal core: each account's latent health drives what its users
do, and the renewal decision taken before a term ends follows the health of the preceding
weeks. What differs is how the business is shaped around it: how long terms are, what a
seat means and how a renewal is priced, which source tables exist, how much each user
does, and how many plays the CSMs run and whether they work. ``annual`` is the default
world and the one every other is described against.
"""

from __future__ import annotations

from dataclasses import dataclass

from customer_health.generator.contract import TABLE_NAMES


@dataclass(frozen=True)
class World:
    """One world's structural settings (the defaults are the ``annual`` world's)."""

    name: str
    summary: str
    # Every account on a one-month term, renewed or cancelled each month, billed monthly.
    monthly_terms: bool = False
    # Seats are a plan limit (a tier); the roster follows engagement and a renewal's ARR
    # follows the account's monthly active users.
    usage_pricing: bool = False
    # Only the product data and the outcomes exist; users carry no role or team detail.
    product_only: bool = False
    # Multiplies the daily probability that a user is active.
    active_scale: float = 1.0
    # Multiplies sessions, minutes, key events and feature events per active user-day.
    volume_scale: float = 1.0
    # Multiplies the chance that a trigger a CSM sees gets a play (see ``plays``).
    play_coverage: float = 1.0
    # Multiplies the chance that a play the customer took part in lifts its health; 0: the
    # plays CSMs run change nothing.
    play_effect: float = 1.0


PRODUCT_ONLY_TABLES: tuple[str, ...] = (
    "accounts",
    "contracts",
    "users",
    "user_activity_daily",
    "account_outcomes",
)
"""The tables of a product-data-only world (the outcomes are the back-test's labels)."""

TIERS: tuple[int, ...] = (25, 100, 500, 2500)
"""Plan limits (``licensed_seats``) of the usage-priced world."""

WORLD_LIST: tuple[World, ...] = (
    World("annual", "mixed terms (monthly to three-year), seat-based pricing, every table"),
    World(
        "monthly",
        "every account on a monthly subscription, billed monthly; CSM plays change nothing",
        True,
        play_effect=0.0,
    ),
    World(
        "usage",
        "usage-based pricing: seats are a plan tier, ARR follows monthly active users; "
        "low-touch, a fifth as many CSM plays",
        usage_pricing=True,
        play_coverage=0.2,
    ),
    World(
        "sparse",
        "product data only: accounts, contracts, users, activity and outcomes",
        product_only=True,
    ),
    World("low_activity", "users active on a tenth as many days", active_scale=0.1),
    World("high_activity", "ten times the sessions and events per active day", volume_scale=10.0),
)
WORLDS: dict[str, World] = {w.name: w for w in WORLD_LIST}
WORLD_NAMES: tuple[str, ...] = tuple(WORLDS)
DEFAULT_WORLD = "annual"


def world_tables(world: World) -> tuple[str, ...]:
    """The raw tables a world writes, in contract order."""
    if world.product_only:
        return tuple(t for t in TABLE_NAMES if t in PRODUCT_ONLY_TABLES)
    return TABLE_NAMES


__all__ = [
    "DEFAULT_WORLD",
    "PRODUCT_ONLY_TABLES",
    "TIERS",
    "WORLDS",
    "WORLD_NAMES",
    "World",
    "world_tables",
]
