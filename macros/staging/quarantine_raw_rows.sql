{% macro quarantine_raw_rows(source_name, table_name, validated_relation) %}
    {#- The rows of one raw table that staging rejected, with their original text (column
        names as in the raw table), the reason, and a stable row id (exact duplicates get
        distinct ids by their position among identical rows). -#}
    {%- if not execute -%}
        select * from {{ validated_relation }}
    {%- else -%}
    {%- set columns = raw_table_contract(source_name, table_name).columns -%}

with rejected_rows as (

    select
        {%- for column in columns %}
        raw_{{ column.name }},
        {%- endfor %}
        rejection_reason,
        {{ dbt.hash(dbt.concat(payload_text(columns, 'raw_'))) }} as raw_row_hash
    from {{ validated_relation }}
    where rejection_reason is not null

),

final as (

    select
        {{ dbt.concat([
            'raw_row_hash',
            "'-'",
            "cast(row_number() over (partition by raw_row_hash order by rejection_reason) as " ~ dbt.type_string() ~ ")",
        ]) }} as quarantine_row_id,
        '{{ source_name }}' as source_name,
        '{{ table_name }}' as table_name,
        rejection_reason,
        {%- for column in columns %}
        raw_{{ column.name }} as {{ column.raw_name }}{{ "," if not loop.last }}
        {%- endfor %}
    from rejected_rows

)

select * from final
    {%- endif -%}
{% endmacro %}
