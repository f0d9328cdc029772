{% macro cast_raw_value(column) %}
    {#- Typed value of a raw text column per its contract type; null when the text is
        empty or cannot be read as that type. -#}
    {%- set text = "nullif(trim(" ~ column.raw_name ~ "), '')" -%}
    {%- if column.type in ('id', 'text') -%}
        {{ text }}
    {%- elif column.type == 'enum' -%}
        case lower({{ text }})
            {%- for value in column['values'] %}
            when '{{ value | lower }}' then '{{ value }}'
            {%- endfor %}
        end
    {%- elif column.type == 'timestamp' -%}
        {{ parse_timestamp_utc(text) }}
    {%- elif column.type == 'date' -%}
        try_cast({{ text }} as date)
    {%- elif column.type == 'integer' -%}
        try_cast({{ text }} as {{ dbt.type_bigint() }})
    {%- elif column.type == 'decimal' -%}
        try_cast({{ text }} as {{ dbt.type_numeric() }})
    {%- elif column.type == 'boolean' -%}
        case
            when lower({{ text }}) in ('true', 't', '1', 'yes', 'y') then true
            when lower({{ text }}) in ('false', 'f', '0', 'no', 'n') then false
        end
    {%- else -%}
        {{ exceptions.raise_compiler_error('Unknown contract type ' ~ column.type ~ ' for ' ~ column.raw_name) }}
    {%- endif -%}
{% endmacro %}
