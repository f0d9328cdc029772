{% test row_count_matches(model, compare_model) %}
{#- Reconciliation: the model has as many rows as compare_model (nothing dropped or
    duplicated on the way). Fails with one row holding both counts when they differ. -#}

with model_rows as (

    select count(*) as row_count from {{ model }}

),

compare_rows as (

    select count(*) as row_count from {{ compare_model }}

)

select
    model_rows.row_count as model_row_count,
    compare_rows.row_count as compare_row_count
from model_rows
cross join compare_rows
where model_rows.row_count != compare_rows.row_count

{% endtest %}
