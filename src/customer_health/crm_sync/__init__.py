"""Reverse-ETL of health scores to the CRM (HubSpot companies) or to a file, and of CSM
actions to HubSpot tasks.

The payloads are the dbt models `sync_crm_account_health` and `sync_crm_tasks`; only rows
whose properties changed since the destination last confirmed them are sent. The commands:
`customer-health sync`, `customer-health sync-tasks`, `customer-health properties` and
`customer-health audit`.
"""
