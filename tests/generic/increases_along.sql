{% test increases_along(model, column_name, order_by, partition_by) %}
{#- Fails with every row whose value is not strictly greater than that of the row before it
    in `order_by` order, within each `partition_by` group (a row without a predecessor passes;
    so does a null value, which has nothing to compare). -#}

with ordered_values as (

    select
        {{ partition_by | join(', ') }},
        {{ order_by }} as position,
        {{ column_name }} as current_value,
        lag({{ column_name }}) over (
            partition by {{ partition_by | join(', ') }}
            order by {{ order_by }}
        ) as previous_value
    from {{ model }}

)

select *
from ordered_values
where previous_value is not null and current_value <= previous_value

{% endtest %}
