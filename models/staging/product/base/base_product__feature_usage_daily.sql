{{
    config(
        materialized='incremental',
        unique_key=['account_id', 'feature_id', 'usage_date'],
        incremental_strategy='delete+insert',
        on_schema_change='fail',
    )
}}

{{ stage_raw_table('product', 'feature_usage_daily', known_accounts=ref('base_crm__accounts')) }}
