"""Reverse-ETL of health scores to the CRM (HubSpot companies) or to a file.

The payload is the dbt model `sync_crm_account_health`; only rows whose properties changed
since the destination last confirmed them are sent. The commands: `customer-health sync`,
`customer-health properties` and `customer-health audit`.
"""
