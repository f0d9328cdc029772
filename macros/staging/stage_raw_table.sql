{% macro stage_raw_table(source_name, table_name, known_accounts=none) %}
    {#- Reads one raw table and returns every row exactly once with its typed columns,
        the raw text of rejected rows (`raw_<column>`) and `rejection_reason` (null when the row is staged).
        Rules come from the table's contract in the sources YAML, checked in this order:
        missing required value, unparseable value, value outside the accepted list,
        negative amount or count, event time after the row's `_loaded_at`, table rules,
        unknown account (when `known_accounts` is given), then duplicates of the primary
        key among the remaining rows: the newest load wins; the others are
        `exact_duplicate` (same text), `near_duplicate` (same typed values, other
        formatting), `superseded_version` (older load) or `conflicting_duplicate`.
        `raw_<column>` is filled for rejected rows only. -#}
    {%- set source_relation = source(source_name, table_name) -%}
    {%- if not execute -%}
        select * from {{ source_relation }}
        {%- if known_accounts is not none %} cross join {{ known_accounts }}{% endif %}
    {%- else -%}
    {%- set contract = raw_table_contract(source_name, table_name) -%}
    {%- set columns = contract.columns -%}
    {%- set payload_columns = columns | rejectattr('name', 'equalto', 'loaded_at') | list -%}
    {%- set checks = [] -%}
    {%- for column in columns if column.required -%}
        {%- do checks.append(("nullif(trim(raw_" ~ column.name ~ "), '') is null", 'missing_' ~ column.name)) -%}
    {%- endfor -%}
    {%- for column in columns if column.type not in ('id', 'text', 'enum') -%}
        {%- do checks.append(("nullif(trim(raw_" ~ column.name ~ "), '') is not null and " ~ column.name ~ " is null", 'unparseable_' ~ column.name)) -%}
    {%- endfor -%}
    {%- for column in columns if column.type == 'enum' -%}
        {%- do checks.append(("nullif(trim(raw_" ~ column.name ~ "), '') is not null and " ~ column.name ~ " is null", 'invalid_' ~ column.name)) -%}
    {%- endfor -%}
    {%- for column in columns if column.non_negative -%}
        {%- do checks.append((column.name ~ " < 0", 'negative_' ~ column.name)) -%}
    {%- endfor -%}
    {%- for column in columns if column.event_time -%}
        {%- if column.type == 'date' -%}
            {%- do checks.append((column.name ~ " > cast(loaded_at as date)", 'future_' ~ column.name)) -%}
        {%- else -%}
            {%- do checks.append((column.name ~ " > loaded_at", 'future_' ~ column.name)) -%}
        {%- endif -%}
    {%- endfor -%}
    {%- for rule in contract.rules -%}
        {%- do checks.append((rule.condition, rule.reason)) -%}
    {%- endfor -%}

with source_rows as (

    select * from {{ source_relation }}

),

typed as (

    select
        {%- for column in columns %}
        {{ cast_raw_value(column) }} as {{ column.name }},
        {%- endfor %}
        {%- for column in columns %}
        cast({{ column.raw_name }} as {{ dbt.type_string() }}) as raw_{{ column.name }}{{ "," if not loop.last }}
        {%- endfor %}
    from source_rows

),
{%- if known_accounts is not none %}

known_accounts as (

    select distinct account_id as known_account_id
    from {{ known_accounts }}
    where rejection_reason is null

),
{%- endif %}

checked as (

    select
        typed.*,
        {{ dbt.concat(payload_text(payload_columns, 'raw_')) }} as raw_payload,
        {{ dbt.concat(payload_text(payload_columns, '')) }} as typed_payload,
        case
            {%- for condition, reason in checks %}
            when {{ condition }} then '{{ reason }}'
            {%- endfor %}
            {%- if known_accounts is not none %}
            when known_accounts.known_account_id is null then 'unknown_account_id'
            {%- endif %}
        end as row_rejection_reason
    from typed
    {%- if known_accounts is not none %}
    left join known_accounts
        on typed.account_id = known_accounts.known_account_id
    {%- endif %}

),

ranked as (

    {%- set key_window -%}
        partition by row_rejection_reason is null, {{ contract.primary_key | join(', ') }}
        order by loaded_at desc, raw_payload
    {%- endset %}

    select
        checked.*,
        row_number() over ({{ key_window }}) as key_rank,
        first_value(raw_payload) over ({{ key_window }}) as kept_raw_payload,
        first_value(typed_payload) over ({{ key_window }}) as kept_typed_payload,
        first_value(loaded_at) over ({{ key_window }}) as kept_loaded_at
    from checked

),

resolved as (

    select
        ranked.*,
        case
            when row_rejection_reason is not null then row_rejection_reason
            when key_rank = 1 then null
            when raw_payload = kept_raw_payload then 'exact_duplicate'
            when typed_payload = kept_typed_payload then 'near_duplicate'
            when loaded_at < kept_loaded_at then 'superseded_version'
            else 'conflicting_duplicate'
        end as rejection_reason
    from ranked

),

final as (

    select
        {%- for column in columns %}
        {{ column.name }},
        {%- endfor %}
        {#- Raw text is kept for rejected rows only: quarantine needs it, and writing it
            for every accepted row would double the cost of the largest tables. #}
        {%- for column in columns %}
        case when rejection_reason is not null then raw_{{ column.name }} end
            as raw_{{ column.name }},
        {%- endfor %}
        rejection_reason
    from resolved

)

select * from final
    {%- endif -%}
{% endmacro %}
