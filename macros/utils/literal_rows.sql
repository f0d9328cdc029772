{% macro literal_rows(alias, column, values) %}
    {#- An inline table of one column, one row per value (strings quoted, booleans and
        numbers as they are), to use in a from or join: `(values (a), (b)) as
        alias(column)`. Spark plans it as a local relation; a union of one-row selects
        cross-joined to a table can fail there, when the task is deserialized
        (ClassCastException on UnionExec.children). -#}
    (values
    {%- for value in values %}
        {%- if value is boolean %}
        ({{ 'true' if value else 'false' }}){{ ',' if not loop.last }}
        {%- elif value is number %}
        ({{ value }}){{ ',' if not loop.last }}
        {%- else %}
        ('{{ value | replace("'", "''") }}'){{ ',' if not loop.last }}
        {%- endif %}
    {%- endfor %}
    ) as {{ alias }}({{ column }})
{%- endmacro %}
