{% macro running_totals_on_spine(spine, deltas, measures) %}
    {#- Turns dated changes into a value per account-day.

        `deltas` holds rows (account_id, delta_date, <measure>...): each row changes a measure
        from delta_date on. `measures` maps a measure to `sum` (a running total of the
        changes: counts of things open on a day, windowed sums when an event adds +v on its
        day and -v when it leaves the window) or `max` (the largest value seen so far, e.g. the
        latest known renewal date). Changes dated before an account's first spine day count
        from that day; changes after its last day are ignored. The spine must hold every day
        between an account's first and last day (no gaps). Returns a select of
        (account_id, score_date, <measure>...).

        The changes are first summed (or maxed) per account and day, a hash aggregate that
        leaves at most one row per account-day. Those rows and the spine days then go
        through one window, changes first on a shared day, and only the spine days are
        kept: the spine is read once, so the engine never has to hold it in memory to join
        it with itself, and the window sorts about twice the spine rather than every
        change. -#}
    select
        account_id,
        score_date,
        {%- for measure in measures %}
        {{ measure }}{{ ',' if not loop.last }}
        {%- endfor %}
    from (
        select
            account_id,
            score_date,
            is_spine_day,
            {%- for measure, aggregation in measures.items() %}
            {%- if aggregation not in ('sum', 'max') %}
            {{ exceptions.raise_compiler_error("running_totals_on_spine: aggregation must be sum or max, got " ~ aggregation) }}
            {%- endif %}
            {{ aggregation }}({{ 'coalesce(' ~ measure ~ ', 0)' if aggregation == 'sum' else measure }}) over (
                partition by account_id order by score_date, is_spine_day
                rows between unbounded preceding and current row
            ) as {{ measure }}{{ ',' if not loop.last }}
            {%- endfor %}
        from (
            select
                account_id,
                score_date,
                1 as is_spine_day,
                {%- for measure, aggregation in measures.items() %}
                {{ '0' if aggregation == 'sum' else 'null' }} as {{ measure }}{{ ',' if not loop.last }}
                {%- endfor %}
            from {{ spine }}
            union all
            select
                account_id,
                delta_date as score_date,
                0 as is_spine_day,
                {%- for measure, aggregation in measures.items() %}
                {{ aggregation }}({{ measure }}) as {{ measure }}{{ ',' if not loop.last }}
                {%- endfor %}
            from {{ deltas }}
            group by account_id, delta_date
        ) as spine_days_and_changes
    ) as running_totals
    where is_spine_day = 1
{% endmacro %}
