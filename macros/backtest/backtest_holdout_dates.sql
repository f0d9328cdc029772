{% macro backtest_holdout_dates(relation, holdout_share) %}
    {#- A select of each distinct as_of_date of `relation` with `is_holdout`: true for the
        latest ceil(holdout_share x dates) of them, leaving at least one date to fit on
        (a single date is never held out). -#}
    select
        as_of_date,
        as_of_date_count > 1 and recency_rank <= least(
            ceil(as_of_date_count * cast({{ holdout_share }} as decimal(12, 6))),
            as_of_date_count - 1
        ) as is_holdout
    from (
        select
            as_of_date,
            row_number() over (order by as_of_date desc) as recency_rank,
            count(*) over () as as_of_date_count
        from (select distinct as_of_date from {{ relation }}) as distinct_dates
    ) as dates_ranked
{% endmacro %}
