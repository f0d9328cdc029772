"""Synthetic raw data for the customer-health dbt project.

Simulates a population of B2B SaaS accounts day by day (latent health driving product
activity, support, surveys, billing, stakeholders and renewals) and writes what the source
systems would export at the end of the last day, optionally with realistic defects.
"""

from __future__ import annotations

__version__ = "1.0.0"
