"""Warehouse-native customer health scoring: the Python side of the dbt project.

One console command, ``customer-health`` (``python -m customer_health``), with a subcommand
per job: generating demo data, checking a decision tree, publishing a tested build,
the portfolio summary and report, the CRM sync, the benchmark and the engine comparison.
"""

__version__ = "0.2.0"
