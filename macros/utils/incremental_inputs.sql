{% macro incremental_inputs_relation() %}
    {#- The table recording, per incremental model, which optional raw tables were available
        when it was last built (one row per build; the latest counts). On Spark one row per
        model, in a partition of its own: models built at once write different partitions,
        each through its own staging folder (concurrent appends to one Parquet table
        collide in its shared temporary folder). -#}
    {{ return(var('intake_schema') ~ ('.incremental_inputs_by_model' if target.type == 'spark' else '.incremental_inputs')) }}
{% endmacro %}

{% macro create_incremental_inputs_statement() %}
    {{ return(adapter.dispatch('create_incremental_inputs_statement', 'customer_health')()) }}
{% endmacro %}

{% macro default__create_incremental_inputs_statement() %}
    {{ return('create table if not exists ' ~ incremental_inputs_relation()
        ~ ' (model_name ' ~ dbt.type_string() ~ ', input_signature ' ~ dbt.type_string()
        ~ ', recorded_at ' ~ dbt.type_timestamp() ~ ')') }}
{% endmacro %}

{% macro spark__create_incremental_inputs_statement() %}
    {{ return('create table if not exists ' ~ incremental_inputs_relation()
        ~ ' (input_signature string, recorded_at timestamp, model_name string)'
        ~ ' using parquet partitioned by (model_name)') }}
{% endmacro %}

{% macro incremental_input_signature() %}
    {#- For the model being built: each optional raw table it reads and whether that table
        has rows now, as one sorted string (`crm.stakeholder_events:available;...`). Empty
        when the model reads no optional table. -#}
    {%- set optional = [] -%}
    {%- for source_name, table_name in raw_tables_upstream([model.unique_id]) -%}
        {%- if not raw_table_contract(source_name, table_name).required -%}
            {%- do optional.append((source_name, table_name)) -%}
        {%- endif -%}
    {%- endfor -%}
    {%- if optional | length == 0 -%}
        {{ return('') }}
    {%- endif -%}
    {%- set selects = [] -%}
    {%- for source_name, table_name in optional -%}
        {%- do selects.append("select '" ~ source_name ~ '.' ~ table_name ~ "' as raw_table, count(*) as has_rows from (select 1 as present from "
            ~ var('intake_schema') ~ '.' ~ table_name ~ ' limit 1) as first_row') -%}
    {%- endfor -%}
    {%- set counted = run_query(selects | join('\nunion all\n')) -%}
    {%- set parts = [] -%}
    {%- for row in counted.rows -%}
        {%- do parts.append(row[0] ~ ':' ~ ('available' if row[1] > 0 else 'not_available')) -%}
    {%- endfor -%}
    {{ return(parts | sort | join(';')) }}
{% endmacro %}

{% macro incremental_inputs_changed() %}
    {#- In an incremental run: whether an optional raw table the model reads became
        available or not available since the model was last built (or the model has no
        record of its inputs). Its history is then recomputed, not only the last days. -#}
    {%- if not execute or not is_incremental() or model.resource_type == 'unit_test' -%}
        {{ return(false) }}
    {%- endif -%}
    {%- set current = incremental_input_signature() -%}
    {%- set recorded = run_query("select input_signature from " ~ incremental_inputs_relation()
        ~ " where model_name = '" ~ this.identifier ~ "' order by recorded_at desc limit 1") -%}
    {%- if recorded.rows | length == 0 -%}
        {{ return(true) }}
    {%- endif -%}
    {{ return((recorded.rows[0][0] or '') != current) }}
{% endmacro %}

{% macro record_incremental_inputs() %}
    {#- Post-hook of the incremental models: records the optional raw tables the model was
        just built with (see incremental_inputs_changed). -#}
    {%- if not execute -%}
        {{ return('') }}
    {%- endif -%}
    {%- if target.type == 'spark' -%}
        {#- (dynamic partition overwrite: this model's partition only) -#}
        {{ return('insert overwrite table ' ~ incremental_inputs_relation()
            ~ " partition (model_name) select '" ~ incremental_input_signature()
            ~ "', current_timestamp(), '" ~ this.identifier ~ "'") }}
    {%- endif -%}
    {{ return('insert into ' ~ incremental_inputs_relation() ~ " values ('" ~ this.identifier
        ~ "', '" ~ incremental_input_signature() ~ "', current_timestamp)") }}
{% endmacro %}
