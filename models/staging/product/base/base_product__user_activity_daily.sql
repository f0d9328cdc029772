{#- DuckDB replaces the re-staged keys (delete+insert); Spark's Parquet tables overwrite
    the re-staged days (insert_overwrite), and stage_raw_table re-stages whole days there. -#}
{{
    config(
        materialized='incremental',
        unique_key=['user_id', 'activity_date'],
        incremental_strategy='insert_overwrite' if target.type == 'spark' else 'delete+insert',
        partition_by='activity_date' if target.type == 'spark' else none,
        on_schema_change='fail',
    )
}}

{{
    stage_raw_table('product', 'user_activity_daily', parents={
        'account_id': ref('base_crm__accounts'),
        'user_id': ref('base_product__users')
    })
}}
