{% test matches_declared_columns(model) %}
{#- The contract check for models dbt cannot enforce a contract on (Python models): fails
    with one row per column whose name, position or type differs from the model's YAML
    (`columns` with `data_type`). Types are compared as the engine reports them. -#}
{%- set problems = [] -%}
{%- if execute -%}
    {%- set nodes = graph.nodes.values()
        | selectattr('resource_type', 'equalto', 'model')
        | selectattr('alias', 'equalto', model.identifier)
        | selectattr('schema', 'equalto', model.schema)
        | list -%}
    {%- if nodes | length != 1 -%}
        {%- do problems.append('no single model node for ' ~ model) -%}
    {%- else -%}
        {%- set declared = get_column_schema_from_query(get_empty_schema_sql(nodes[0].columns)) -%}
        {%- set built = get_column_schema_from_query('select * from ' ~ model) -%}
        {%- set declared_list = [] -%}
        {%- for column in declared -%}
            {%- do declared_list.append(column.name ~ ' ' ~ column.dtype | lower) -%}
        {%- endfor -%}
        {%- set built_list = [] -%}
        {%- for column in built -%}
            {%- do built_list.append(column.name ~ ' ' ~ column.dtype | lower) -%}
        {%- endfor -%}
        {%- for index in range([declared_list | length, built_list | length] | max) -%}
            {%- set want = declared_list[index] if index < declared_list | length else 'nothing' -%}
            {%- set have = built_list[index] if index < built_list | length else 'nothing' -%}
            {%- if want != have -%}
                {%- do problems.append('column ' ~ (index + 1) ~ ': declared ' ~ want
                    ~ ', built ' ~ have) -%}
            {%- endif -%}
        {%- endfor -%}
    {%- endif -%}
{%- endif %}

{%- if problems %}
{%- for problem in problems %}
select {{ sql_string_literal(problem) }} as problem
{{ 'union all' if not loop.last }}
{%- endfor %}
{%- else %}
select cast(null as {{ dbt.type_string() }}) as problem
where 1 = 0
{%- endif %}

{% endtest %}
