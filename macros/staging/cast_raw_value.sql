{% macro cast_raw_value(column) %}
    {#- Typed value of a raw text column per its contract type; null when the text is empty
        or is not exactly a value of that type. Nothing is coerced:
        - integer: digits with an optional leading minus (no fraction, exponent, hex,
          underscore, sign `+` or spaces inside), at most 18 digits;
        - decimal: digits, an optional minus and at most 6 significant decimals (`12.50`
          yes; `1e3`, `1,000`, `12.3456789` no);
        - date: `YYYY-MM-DD`;
        - timestamp: ISO-8601 `YYYY-MM-DD[Thh:mm[:ss[.fffffffff]]]` with `T` or a space,
          then `Z`, an offset `+hh[:mm]` / `-hh[:mm]` within -12:00 .. +14:00, or nothing
          (UTC); never `infinity` or `epoch`;
        - boolean: true/false, t/f, 1/0, yes/no, y/n (any case);
        - enum: one of the contract's values (any case).
        Ranges (meta `min` / `max`) are checked by stage_raw_table with their own reason. -#}
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
        case when {{ _valid_timestamp_text(text) }} then {{ parse_timestamp_utc(text) }} end
    {%- elif column.type == 'date' -%}
        case when {{ matches_pattern(text, '[0-9]{4}-[0-9]{2}-[0-9]{2}') }} then try_cast({{ text }} as date) end
    {%- elif column.type == 'integer' -%}
        case when {{ matches_pattern(text, '-?[0-9]{1,18}') }} then try_cast({{ text }} as {{ dbt.type_bigint() }}) end
    {%- elif column.type == 'decimal' -%}
        case when {{ matches_pattern(text, '-?[0-9]{1,18}([.][0-9]{1,6}0*)?') }} then try_cast({{ text }} as {{ dbt.type_numeric() }}) end
    {%- elif column.type == 'boolean' -%}
        case
            when lower({{ text }}) in ('true', 't', '1', 'yes', 'y') then true
            when lower({{ text }}) in ('false', 'f', '0', 'no', 'n') then false
        end
    {%- else -%}
        {{ exceptions.raise_compiler_error('Unknown contract type ' ~ column.type ~ ' for ' ~ column.raw_name) }}
    {%- endif -%}
{% endmacro %}

{% macro _valid_timestamp_text(text) %}
    {#- ISO-8601 shape; the offset's range (-12:00 .. +14:00, minutes 00-59) is part of the pattern. -#}
    {%- set offset = 'Z|[+](0[0-9]|1[0-3])(:[0-5][0-9])?|[+]14(:00)?|-(0[0-9]|1[01])(:[0-5][0-9])?|-12(:00)?' -%}
    {{- matches_pattern(text, '[0-9]{4}-[0-9]{2}-[0-9]{2}([T ][0-9]{2}:[0-9]{2}(:[0-9]{2}([.][0-9]{1,9})?)?(' ~ offset ~ ')?)?') -}}
{%- endmacro %}

{% macro matches_pattern(expression, pattern) %}
    {#- True when the whole text matches the regular expression (no backslashes, so the
        pattern reads the same on every engine); null for null text. -#}
    {{ return(adapter.dispatch('matches_pattern', 'customer_health')(expression, pattern)) }}
{% endmacro %}

{% macro default__matches_pattern(expression, pattern) -%}
    ({{ expression }} rlike '^{{ pattern }}$')
{%- endmacro %}

{% macro duckdb__matches_pattern(expression, pattern) -%}
    regexp_full_match({{ expression }}, '{{ pattern }}')
{%- endmacro %}
