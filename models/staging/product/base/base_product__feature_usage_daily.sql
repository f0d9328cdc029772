{#- DuckDB replaces the re-staged keys (delete+insert); Spark's Parquet tables overwrite
    the re-staged days (insert_overwrite), and stage_raw_table re-stages whole days there.
    The pre-hook records the load time from which the run re-stages (its tests' window). -#}
{{
    config(
        materialized='incremental',
        unique_key=['account_id', 'feature_id', 'usage_date'],
        incremental_strategy='insert_overwrite' if target.type == 'spark' else 'delete+insert',
        partition_by='usage_date' if target.type == 'spark' else none,
        on_schema_change='fail',
        pre_hook="{{ record_recompute_window('loaded_at', follows_inputs=false) }}",
    )
}}

{{
    stage_raw_table('product', 'feature_usage_daily', parents={
        'account_id': ref('base_crm__accounts'),
        'feature_id': ref('base_product__features')
    })
}}
