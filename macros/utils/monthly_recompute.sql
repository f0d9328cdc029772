{% macro monthly_keys_relation() %}
    {#- The table recording the monthly key each build of a monthly model was made with. -#}
    {{ return(var('intake_schema') ~ '.monthly_keys') }}
{% endmacro %}

{% macro monthly_recompute_always() %}
    {#- Whether every monthly model recomputes in this run: on --full-refresh, with the var
        monthly_recompute true, and on engines without row reuse (Spark rebuilds its
        tables and records no key). -#}
    {{ return(target.type == 'spark' or flags.FULL_REFRESH or var('monthly_recompute', false)) }}
{% endmacro %}

{% macro create_monthly_keys_statement() %}
    {#- (not on Spark, which records no key) -#}
    {{ return('create table if not exists ' ~ monthly_keys_relation() ~ ' (model_name '
        ~ dbt.type_string() ~ ', monthly_key ' ~ dbt.type_string() ~ ', recorded_at '
        ~ dbt.type_timestamp() ~ ')') }}
{% endmacro %}

{% macro monthly_select(final_cte) %}
    {#- The last select of a monthly model (tag `monthly`): `select * from <final_cte>` when
        int_monthly_recompute says the model recomputes in this run (always in a unit test),
        else `select * from` its own table, the rows of its last build (the engine then
        computes none of the model's CTEs). -#}
    {%- set computed = 'select * from ' ~ final_cte -%}
    {%- if model.resource_type == 'unit_test' -%}
        {{ return(computed) }}
    {%- endif -%}
    {%- set schedule = ref('int_monthly_recompute') -%}
    {#- (at parse time, and in a compile or a linter before the schedule is built) -#}
    {%- if not relations_are_built([schedule]) -%}
        {{ return(computed) }}
    {%- endif -%}
    {%- set found = run_query('select needs_recompute, recompute_reason from ' ~ schedule
        ~ " where model_name = '" ~ model.name ~ "'") -%}
    {%- if found.rows | length == 0 or found.rows[0][0] -%}
        {{ return(computed) }}
    {%- endif -%}
    {{ log(model.name ~ ': no new month-end or observable horizon; keeping the rows of its last build', info=true) }}
    {{ return('select * from ' ~ this) }}
{% endmacro %}

{% macro record_monthly_key() %}
    {#- Post-hook of the monthly models: the monthly key this build was made with (none on
        Spark, where they always recompute). -#}
    {%- if not execute or target.type == 'spark' -%}
        {{ return('') }}
    {%- endif -%}
    {{ return('insert into ' ~ monthly_keys_relation() ~ ' select model_name, monthly_key, '
        ~ dbt.current_timestamp() ~ ' from ' ~ ref('int_monthly_recompute')
        ~ " where model_name = '" ~ model.name ~ "'") }}
{% endmacro %}

{% macro monthly_settings_text() %}
    {#- The vars the monthly models read, as sorted JSON (part of their monthly key). -#}
    {%- set settings = {} -%}
    {%- for name in [
        'backtest_horizon_days', 'backtest_auc_floor', 'backtest_min_churned',
        'backtest_top_share', 'backtest_calibration_step', 'backtest_holdout_share',
        'backtest_calibration_max_accounts', 'backtest_min_band_observations',
        'churn_model_features', 'churn_model_min_churned', 'churn_model_max_bins',
        'churn_model_penalties', 'churn_model_validation_share', 'churn_model_scorecard_file',
    ] -%}
        {%- do settings.update({name: var(name)}) -%}
    {%- endfor -%}
    {{ return(tojson(settings, sort_keys=true)) }}
{% endmacro %}

{% macro monthly_models_built(check_tables=true) %}
    {#- The enabled models tagged `monthly`, as (name, whether its table exists); the tables
        are asked of the database (dbt's relation cache may not list them). Empty at parse
        time. -#}
    {%- set models = [] -%}
    {%- if not execute -%}
        {{ return(models) }}
    {%- endif -%}
    {%- set tables = [] -%}
    {%- if check_tables -%}
        {%- for row in run_query('select lower(table_schema), lower(table_name) from information_schema.tables').rows -%}
            {%- do tables.append(row[0] ~ '.' ~ row[1]) -%}
        {%- endfor -%}
    {%- endif -%}
    {%- for node in graph.nodes.values()
        if node.resource_type == 'model' and 'monthly' in node.tags and node.config.enabled -%}
        {%- do models.append((node.name, (node.schema ~ '.' ~ (node.alias or node.name)) | lower in tables)) -%}
    {%- endfor -%}
    {{ return(models | sort) }}
{% endmacro %}
