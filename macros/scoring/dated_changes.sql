{% macro dated_changes(changes, measures) %}
    {#- The union of dated changes to feed running_totals_on_spine. `changes` is a list of
        (relation, delta date expression, {measure: value expression}, condition); `measures`
        maps every measure to the value a change that does not name it takes (`0` for sums,
        `cast(null as date)` for running maxima of dates). Returns a select of
        (account_id, delta_date, <measure>...). -#}
    {%- for relation, date_expression, values, condition in changes %}
    select
        account_id,
        {{ date_expression }} as delta_date,
        {%- for measure, default in measures.items() %}
        {{ values.get(measure, default) }} as {{ measure }}{{ ',' if not loop.last }}
        {%- endfor %}
    from {{ relation }}
    where {{ condition }}
    {%- if not loop.last %}
    union all
    {%- endif %}
    {%- endfor %}
{% endmacro %}
