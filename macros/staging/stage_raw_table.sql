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

{%- set key_columns = columns | selectattr('name', 'in', contract.primary_key) | list -%}
{%- set key_values = [] -%}
{%- for column in key_columns -%}
    {%- do key_values.append(cast_raw_value(column)) -%}
{%- endfor -%}
{%- set key_hash = row_key_hash(key_values) | trim -%}

{#- Ranking duplicates needs a sort, so only the rows of keys that occur more than once are
    ranked and every other row passes straight through: a hash aggregate over a 64-bit key
    hash instead of a sort of the whole table (a hash collision only sends a few more rows
    through the ranking, which keeps them). Each branch reads the source itself, so no
    large intermediate result is materialized. #}
with duplicated_keys as (

    select {{ key_hash }} as duplicated_key_hash
    from {{ source_relation }}
    group by {{ key_hash }}
    having count(*) > 1

),
{%- if known_accounts is not none %}

known_accounts as (

    select distinct account_id as known_account_id
    from {{ known_accounts }}
    where rejection_reason is null

),
{%- endif %}

single_key_rows as (

    {{ _checked_raw_rows(columns, checks, known_accounts is not none,
        'select source_rows.* from ' ~ source_relation ~ ' as source_rows'
        ~ ' left join duplicated_keys on ' ~ key_hash ~ ' = duplicated_keys.duplicated_key_hash'
        ~ ' where duplicated_keys.duplicated_key_hash is null') }}

),

duplicated_key_rows as (

    {{ _checked_raw_rows(columns, checks, known_accounts is not none,
        'select source_rows.* from ' ~ source_relation ~ ' as source_rows'
        ~ ' inner join duplicated_keys on ' ~ key_hash ~ ' = duplicated_keys.duplicated_key_hash') }}

),

ranked as (

    {%- set key_window -%}
        partition by row_rejection_reason is null, {{ contract.primary_key | join(', ') }}
        order by loaded_at desc, raw_payload
    {%- endset %}

    select
        payloads.*,
        row_number() over ({{ key_window }}) as key_rank,
        first_value(raw_payload) over ({{ key_window }}) as kept_raw_payload,
        first_value(typed_payload) over ({{ key_window }}) as kept_typed_payload,
        first_value(loaded_at) over ({{ key_window }}) as kept_loaded_at
    from (
        select
            duplicated_key_rows.*,
            {{ dbt.concat(payload_text(payload_columns, 'raw_')) }} as raw_payload,
            {{ dbt.concat(payload_text(payload_columns, '')) }} as typed_payload
        from duplicated_key_rows
    ) as payloads

),

{%- set typed_and_raw_columns -%}
    {%- for column in columns %}
        {{ column.name }},
    {%- endfor %}
    {%- for column in columns %}
        raw_{{ column.name }},
    {%- endfor %}
{%- endset %}

resolved as (

    select
        {{- typed_and_raw_columns }}
        case
            when row_rejection_reason is not null then row_rejection_reason
            when key_rank = 1 then null
            when raw_payload = kept_raw_payload then 'exact_duplicate'
            when typed_payload = kept_typed_payload then 'near_duplicate'
            when loaded_at < kept_loaded_at then 'superseded_version'
            else 'conflicting_duplicate'
        end as rejection_reason
    from ranked
    union all
    select
        {{- typed_and_raw_columns }}
        row_rejection_reason as rejection_reason
    from single_key_rows

),

final as (

    select
        {%- for column in columns %}
        {{ column.name }},
        {%- endfor %}
        {#- raw text only where quarantine needs it #}
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

{% macro _checked_raw_rows(columns, checks, check_accounts, rows_sql) %}
    {#- Typed values, raw text and the first row-level rule broken, for the raw rows that
        `rows_sql` selects; `known_accounts` must be in scope when `check_accounts`. -#}
    select
        typed.*,
        case
            {%- for condition, reason in checks %}
            when {{ condition }} then '{{ reason }}'
            {%- endfor %}
            {%- if check_accounts %}
            when known_accounts.known_account_id is null then 'unknown_account_id'
            {%- endif %}
        end as row_rejection_reason
    from (
        select
            {%- for column in columns %}
            {{ cast_raw_value(column) }} as {{ column.name }},
            {%- endfor %}
            {%- for column in columns %}
            cast({{ column.raw_name }} as {{ dbt.type_string() }}) as raw_{{ column.name }}{{ "," if not loop.last }}
            {%- endfor %}
        from ({{ rows_sql }}) as raw_rows
    ) as typed
    {%- if check_accounts %}
    left join known_accounts
        on typed.account_id = known_accounts.known_account_id
    {%- endif %}
{% endmacro %}
