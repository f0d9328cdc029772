{{
    config(
        materialized='incremental',
        unique_key=['user_id', 'activity_date'],
        incremental_strategy='delete+insert',
        on_schema_change='fail',
    )
}}

{{ stage_raw_table('product', 'user_activity_daily', known_accounts=ref('base_crm__accounts')) }}
