{% macro running_totals_on_spine(spine, deltas, measures) %}
    {#- Turns dated changes into a value per account-day.

        `deltas` holds rows (account_id, delta_date, <measure>...): each row changes a measure
        from delta_date on. `measures` maps a measure to `sum` (a running total of the
        changes: counts of things open on a day, windowed sums when an event adds +v on its
        day and -v when it leaves the window) or `max` (the largest value seen so far, e.g. the
        latest known renewal date). Changes dated before an account's first spine day count
        from that day; changes after its last day are ignored. The spine must hold every day
        between an account's first and last day (no gaps). Returns a select of
        (account_id, score_date, <measure>...). -#}
    {%- set spans -%}
        select
            account_id,
            min(score_date) as first_day,
            max(score_date) as last_day
        from {{ spine }}
        group by account_id
    {%- endset %}
    select
        spine_days.account_id,
        spine_days.score_date,
        {%- for measure, aggregation in measures.items() %}
        {%- if aggregation == 'sum' %}
        sum(coalesce(daily_changes.{{ measure }}, 0)) over (
            partition by spine_days.account_id order by spine_days.score_date
            rows between unbounded preceding and current row
        ) as {{ measure }}{{ ',' if not loop.last }}
        {%- elif aggregation == 'max' %}
        max(daily_changes.{{ measure }}) over (
            partition by spine_days.account_id order by spine_days.score_date
            rows between unbounded preceding and current row
        ) as {{ measure }}{{ ',' if not loop.last }}
        {%- else %}
        {{ exceptions.raise_compiler_error("running_totals_on_spine: aggregation must be sum or max, got " ~ aggregation) }}
        {%- endif %}
        {%- endfor %}
    from {{ spine }} as spine_days
    left join (
        select
            changes.account_id,
            case
                when changes.delta_date < spans.first_day then spans.first_day
                else changes.delta_date
            end as score_date,
            {%- for measure, aggregation in measures.items() %}
            {{ aggregation }}(changes.{{ measure }}) as {{ measure }}{{ ',' if not loop.last }}
            {%- endfor %}
        from {{ deltas }} as changes
        inner join ({{ spans }}) as spans
            on changes.account_id = spans.account_id
        where changes.delta_date <= spans.last_day
        group by
            changes.account_id,
            case
                when changes.delta_date < spans.first_day then spans.first_day
                else changes.delta_date
            end
    ) as daily_changes
        on
            spine_days.account_id = daily_changes.account_id
            and spine_days.score_date = daily_changes.score_date
{% endmacro %}
