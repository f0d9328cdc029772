"""Benchmark of the customer-health build: presets, measurement and the report."""
