{% macro running_totals_on_spine(spine, deltas, measures) %}
    {#- Turns dated changes into a value per account-day.

        `deltas` holds rows (account_id, delta_date, <measure>...): each row changes a measure
        from delta_date on. `measures` maps a measure to `sum` (a running total of the
        changes: counts of things open on a day, windowed sums when an event adds +v on its
        day and -v when it leaves the window) or `max` (the largest value seen so far, e.g. the
        latest known renewal date). Changes dated before an account's first spine day count
        from that day; changes after its last day, or with no date, are ignored. The spine
        must hold every day between an account's first and last day (no gaps), once. Returns
        a select of (account_id, score_date, <measure>...).

        Two forms give the same rows; each engine runs the one measured faster on it. -#}
    {%- for measure, aggregation in measures.items() %}
    {%- if aggregation not in ('sum', 'max') %}
    {{ exceptions.raise_compiler_error("running_totals_on_spine: aggregation must be sum or max, got " ~ aggregation) }}
    {%- endif %}
    {%- endfor %}
    {{ return(adapter.dispatch('running_totals_on_spine', 'customer_health')(spine, deltas, measures)) }}
{% endmacro %}

{% macro default__running_totals_on_spine(spine, deltas, measures) %}
    {#- The changes are first summed (or maxed) per account and day, a hash aggregate that
        leaves at most one row per account-day. Those rows and the spine days then go
        through one window, changes first on a shared day, and only the spine days are
        kept: the spine is read once and no join is needed, which costs the fewest stages
        on Spark; the window sorts about twice the spine. A change with no date sorts
        after every spine day on DuckDB but before them on Spark, so it is left out. -#}
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
            where delta_date is not null
            group by account_id, delta_date
        ) as spine_days_and_changes
    ) as running_totals
    where is_spine_day = 1
{% endmacro %}

{% macro duckdb__running_totals_on_spine(spine, deltas, measures) %}
    {#- The changes are first moved to the account's first spine day when earlier and summed
        (or maxed) per account and day, a hash aggregate that leaves at most one row per
        account-day. Those rows are joined to the spine days by account and day, and one
        window over the spine alone runs the totals: it sorts the spine's rows only, which
        DuckDB does faster than one window over the spine and the changes. -#}
    select
        spine_days.account_id,
        spine_days.score_date,
        {%- for measure, aggregation in measures.items() %}
        {{ aggregation }}(
            {{- 'coalesce(day_changes.' ~ measure ~ ', 0)' if aggregation == 'sum' else 'day_changes.' ~ measure -}}
        ) over (
            partition by spine_days.account_id order by spine_days.score_date
            rows between unbounded preceding and current row
        ) as {{ measure }}{{ ',' if not loop.last }}
        {%- endfor %}
    from {{ spine }} as spine_days
    left join (
        select
            changes.account_id,
            greatest(changes.delta_date, spine_bounds.first_date) as score_date,
            {%- for measure, aggregation in measures.items() %}
            {{ aggregation }}(changes.{{ measure }}) as {{ measure }}{{ ',' if not loop.last }}
            {%- endfor %}
        from {{ deltas }} as changes
        inner join (
            select
                account_id,
                min(score_date) as first_date,
                max(score_date) as last_date
            from {{ spine }}
            group by account_id
        ) as spine_bounds
            on changes.account_id = spine_bounds.account_id
        where changes.delta_date <= spine_bounds.last_date
        group by changes.account_id, greatest(changes.delta_date, spine_bounds.first_date)
    ) as day_changes
        on
            spine_days.account_id = day_changes.account_id
            and spine_days.score_date = day_changes.score_date
{% endmacro %}
