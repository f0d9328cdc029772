{% macro raw_table_contract(source_name, table_name) %}
    {#- The contract of one raw table, read from its sources YAML: columns in order with
        their meta (type, required, values, non_negative, event_time), the primary key
        and the table-level rules. Only available at execution time. -#}
    {%- set unique_id = 'source.' ~ project_name ~ '.' ~ source_name ~ '.' ~ table_name -%}
    {%- set node = graph.sources.get(unique_id) -%}
    {%- if node is none -%}
        {{ exceptions.raise_compiler_error('No source ' ~ source_name ~ '.' ~ table_name ~ ' in the project') }}
    {%- endif -%}
    {%- set columns = [] -%}
    {%- for column_name, column in node.columns.items() -%}
        {%- set meta = column.meta or {} -%}
        {%- if meta.get('type') is none -%}
            {{ exceptions.raise_compiler_error('Column ' ~ source_name ~ '.' ~ table_name ~ '.' ~ column_name ~ ' has no meta.type in its sources YAML') }}
        {%- endif -%}
        {%- do columns.append({
            'raw_name': column_name,
            'name': column_name.lstrip('_'),
            'type': meta.get('type'),
            'required': meta.get('required', false),
            'values': meta.get('values', []),
            'non_negative': meta.get('non_negative', false),
            'event_time': meta.get('event_time', false),
            'min': meta.get('min'),
            'max': meta.get('max'),
        }) -%}
    {%- endfor -%}
    {%- set primary_key = node.meta.get('primary_key', []) -%}
    {%- if primary_key | length == 0 -%}
        {{ exceptions.raise_compiler_error('Source ' ~ source_name ~ '.' ~ table_name ~ ' has no meta.primary_key') }}
    {%- endif -%}
    {%- set required_names = columns | selectattr('required') | map(attribute='name') | list -%}
    {%- for key_column in primary_key if key_column not in required_names -%}
        {{ exceptions.raise_compiler_error('Primary key column ' ~ source_name ~ '.' ~ table_name ~ '.' ~ key_column ~ ' must be required in its sources YAML') }}
    {%- endfor -%}
    {{ return({
        'columns': columns,
        'primary_key': primary_key,
        'rules': node.meta.get('rules', []),
        'required': node.meta.get('required', true),
    }) }}
{% endmacro %}
