{% test column_values(model, not_null=none, accepted_values=none) %}
{#- dbt's not_null and accepted_values for many columns of one model in one scan: fails
    with one row per broken rule (column_name, rule_name, failing_rows), and counts the
    failing rows (fail_calc), as one test per column would. accepted_values compares as
    dbt's does (the values quoted, a null passes). -#}
{{ config(fail_calc='coalesce(sum(failing_rows), 0)') }}
{%- set checks = [] -%}
{%- for column in not_null or [] -%}
    {%- do checks.append({
        'column': column, 'rule': 'not_null', 'fails': column ~ ' is null'
    }) -%}
{%- endfor -%}
{%- for column, values in (accepted_values or {}).items() -%}
    {%- set quoted = [] -%}
    {%- for value in values -%}
        {%- do quoted.append("'" ~ (value | string | replace("'", "''")) ~ "'") -%}
    {%- endfor -%}
    {%- if quoted | length == 0 -%}
        {{ exceptions.raise_compiler_error(
            'column_values on ' ~ model ~ ': no accepted values for ' ~ column
        ) }}
    {%- endif -%}
    {%- do checks.append({
        'column': column,
        'rule': 'accepted_values',
        'fails': column ~ ' not in (' ~ quoted | join(', ') ~ ')'
    }) -%}
{%- endfor -%}
{%- if checks | length == 0 -%}
    {{ exceptions.raise_compiler_error(
        'column_values on ' ~ model ~ ': give not_null columns or accepted_values'
    ) }}
{%- endif %}

-- every rule counted in one pass over the rows
with counted as (

    select
        {%- for check in checks %}
        sum(case when {{ check.fails }} then 1 else 0 end) as failing_{{ loop.index }}
        {{- ',' if not loop.last }}
        {%- endfor %}
    from {{ model }}

),

rules as (

    {%- for check in checks %}
    select
        {{ loop.index }} as rule_number,
        '{{ check.column }}' as column_name,
        '{{ check.rule }}' as rule_name
    {%- if not loop.last %}
    union all
    {%- endif %}
    {%- endfor %}

),

-- one row per rule, its count picked from the single row of counts
failures as (

    select
        rules.column_name,
        rules.rule_name,
        case rules.rule_number
            {%- for check in checks %}
            when {{ loop.index }} then counted.failing_{{ loop.index }}
            {%- endfor %}
        end as failing_rows
    from rules
    cross join counted

)

select
    column_name,
    rule_name,
    failing_rows
from failures
where failing_rows > 0

{% endtest %}
