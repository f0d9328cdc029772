"""Reverse-ETL of health scores to the CRM (HubSpot companies) or to a file.

The payload is the dbt model `sync_crm_account_health`; only rows whose properties changed
since the destination last confirmed them are sent. `scripts/sync_crm.py` is the CLI.
"""
