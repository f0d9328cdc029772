"""Static reference lists: company name parts, industries, CSM pools, teams, features."""

from __future__ import annotations

from dataclasses import dataclass

NAME_PREFIXES: tuple[str, ...] = (
    "North", "Blue", "Silver", "Red", "Green", "Bright", "Iron", "Stone", "Cedar", "Oak",
    "Maple", "River", "Summit", "Harbor", "Granite", "Crystal", "Golden", "Swift", "Clear",
    "Falcon", "Eagle", "Pine", "Willow", "Coral", "Amber", "Copper", "Polar", "Sun", "Star",
    "Cloud", "Bay", "Lake", "Prairie", "Alpine", "Meadow", "Orchid", "Atlas", "Nova", "Vertex",
    "Quantum", "Lumen", "Echo", "Zenith", "Cobalt", "Indigo", "Sterling", "Beacon", "Pioneer",
)  # fmt: skip
NAME_ROOTS: tuple[str, ...] = (
    "wind", "peak", "field", "stone", "bridge", "gate", "point", "crest", "wave", "light",
    "path", "works", "line", "view", "forge", "leaf", "brook", "ridge", "haven", "spark",
    "mark", "shore", "vale", "port", "hill", "wood", "water", "rock", "stream", "tree",
    "land", "sight", "side", "way", "dale", "ford",
)  # fmt: skip
NAME_TRADES: tuple[str, ...] = (
    "Analytics", "Logistics", "Health", "Systems", "Foods", "Labs", "Software", "Capital",
    "Energy", "Retail", "Media", "Robotics", "Partners", "Consulting", "Manufacturing",
    "Insurance", "Travel", "Education", "Security", "Networks", "Biotech", "Apparel",
    "Properties", "Motors",
)  # fmt: skip
NAME_FORMS: tuple[str, ...] = ("", " Inc", " Ltd", " GmbH", " LLC", " Group", " Co", " SA")

INDUSTRIES: tuple[str, ...] = (
    "Software", "Financial Services", "Healthcare", "Retail", "Manufacturing", "Education",
    "Media", "Logistics", "Professional Services", "Real Estate", "Energy", "Non-profit",
)  # fmt: skip
INDUSTRY_WEIGHTS: tuple[float, ...] = (
    0.2, 0.12, 0.1, 0.09, 0.1, 0.06, 0.06, 0.07, 0.09, 0.04, 0.03, 0.04,
)  # fmt: skip

CSM_POOLS: tuple[tuple[str, ...], ...] = (
    ("Avery Brooks", "Jordan Lee", "Sam Patel", "Riley Chen", "Casey Morgan", "Dana Kim"),
    ("Morgan Alvarez", "Taylor Nguyen", "Jamie Okafor", "Alex Novak", "Chris Romero"),
    ("Priya Raman", "Elena Fischer", "Marcus Webb", "Hannah Sato"),
)

TEAMS: tuple[str, ...] = (
    "Sales", "Marketing", "Customer Success", "Support", "Finance", "Operations",
    "Engineering", "Product", "HR", "Legal", "IT", "Data",
)  # fmt: skip


@dataclass(frozen=True)
class Feature:
    """One catalog entry and how it is used."""

    name: str
    category: str
    value_driving: bool
    released_day: int
    popularity: float
    events_per_user: float
    adoption_rate: float


FEATURES: tuple[Feature, ...] = (
    Feature("Dashboards", "core", True, -1400, 0.55, 6.0, 0.08),
    Feature("Reports", "core", True, -1400, 0.40, 4.0, 0.06),
    Feature("Workflows", "core", True, -1300, 0.30, 5.0, 0.04),
    Feature("Search", "core", False, -1400, 0.45, 3.0, 0.08),
    Feature("Notifications", "core", False, -1200, 0.25, 2.0, 0.05),
    Feature("Automation Rules", "advanced", True, -900, 0.15, 8.0, 0.02),
    Feature("Advanced Analytics", "advanced", True, -700, 0.12, 5.0, 0.015),
    Feature("Custom Fields", "advanced", False, -1000, 0.10, 2.0, 0.02),
    Feature("Forecasting", "advanced", False, 120, 0.10, 3.0, 0.015),
    Feature("Salesforce Sync", "integration", True, -1100, 0.08, 20.0, 0.015),
    Feature("Slack Integration", "integration", False, -800, 0.12, 4.0, 0.02),
    Feature("API Access", "integration", False, -1300, 0.05, 40.0, 0.01),
    Feature("Data Warehouse Export", "integration", False, 300, 0.04, 10.0, 0.01),
    Feature("Single Sign-On", "admin", False, -1200, 0.03, 1.0, 0.01),
    Feature("User Management", "admin", False, -1400, 0.04, 2.0, 0.02),
    Feature("Audit Log", "admin", False, -600, 0.02, 1.5, 0.008),
)
