{% macro spark__listagg(measure, delimiter_text, order_by_clause, limit_num) -%}
    {#- dbt.listagg on Spark, ordered: dbt-spark's own version ignores `order_by_clause`
        (collect_list has no order), which makes the result differ from run to run. The
        values are collected with their sort key and sorted. `order_by_clause` is
        `order by <expression>` with an optional `asc` / `desc`. -#}
    {%- if order_by_clause -%}
        {%- set clause = order_by_clause | trim -%}
        {%- if not clause.lower().startswith('order by ') -%}
            {{ exceptions.raise_compiler_error('listagg: cannot read the order clause ' ~ order_by_clause) }}
        {%- endif -%}
        {%- set sort_expression = clause[9:] | trim -%}
        {%- set descending = sort_expression.lower().endswith(' desc') -%}
        {%- if descending or sort_expression.lower().endswith(' asc') -%}
            {%- set sort_expression = sort_expression.rsplit(' ', 1)[0] | trim -%}
        {%- endif -%}
        {%- set sorted -%}
            array_sort(collect_list(named_struct('sort_key', {{ sort_expression }}, 'item', {{ measure }})))
        {%- endset -%}
        {%- if descending -%}{%- set sorted = 'reverse(' ~ sorted ~ ')' -%}{%- endif -%}
        {%- set collected = 'transform(' ~ sorted ~ ', entry -> entry.item)' -%}
    {%- else -%}
        {%- set collected = 'collect_list(' ~ measure ~ ')' -%}
    {%- endif -%}
    {%- if limit_num -%}
        {%- set collected = 'slice(' ~ collected ~ ', 1, ' ~ limit_num ~ ')' -%}
    {%- endif -%}
    array_join({{ collected }}, {{ delimiter_text }})
{%- endmacro %}
