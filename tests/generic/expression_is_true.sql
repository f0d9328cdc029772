{% test expression_is_true(model, expression, column_name=none) %}
{#- Fails with every row for which the boolean expression is not true (false or null). -#}

select *
from {{ model }}
where not coalesce({{ expression }}, false)

{% endtest %}
