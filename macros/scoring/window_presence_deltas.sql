{% macro window_presence_deltas(relation, member_columns, date_column, window_days, measure) %}
    {#- Changes that count, per account and day, the distinct members (users, features, roles,
        teams) seen at least once in the last `window_days` days, for use with
        running_totals_on_spine. `relation` holds one row per account, member and day of
        use, with columns account_id, the member columns and `date_column`. A member adds +1
        on a day of use that follows a gap of at least `window_days` days (or is its first)
        and -1 `window_days` days after a day of use not followed by another within the
        window, so overlapping windows are never counted twice. Returns a select of
        (account_id, delta_date, <measure>). -#}
    {%- set partition = (['account_id'] + member_columns) | join(', ') -%}
    {#- One sort serves both neighbours (lag and lead share the window); only the days that
        open or close a presence reach the cross join with the two kinds of change. #}
    select
        presence_edges.account_id,
        case
            when change_kinds.change_kind = 'start' then presence_edges.use_date
            else {{ add_days(window_days, 'presence_edges.use_date') }}
        end as delta_date,
        case when change_kinds.change_kind = 'start' then 1 else -1 end as {{ measure }}
    from (
        select
            account_id,
            use_date,
            previous_use_date,
            next_use_date
        from (
            select
                account_id,
                {{ date_column }} as use_date,
                lag({{ date_column }}) over (
                    partition by {{ partition }} order by {{ date_column }}
                ) as previous_use_date,
                lead({{ date_column }}) over (
                    partition by {{ partition }} order by {{ date_column }}
                ) as next_use_date
            from {{ relation }}
        ) as presence_days
        where
            previous_use_date is null
            or previous_use_date <= {{ add_days(-window_days, 'use_date') }}
            or next_use_date is null
            or next_use_date >= {{ add_days(window_days, 'use_date') }}
    ) as presence_edges
    cross join (
        select 'start' as change_kind
        union all
        select 'end' as change_kind
    ) as change_kinds
    where
        (
            change_kinds.change_kind = 'start'
            and (
                presence_edges.previous_use_date is null
                or presence_edges.previous_use_date
                <= {{ add_days(-window_days, 'presence_edges.use_date') }}
            )
        )
        or (
            change_kinds.change_kind = 'end'
            and (
                presence_edges.next_use_date is null
                or presence_edges.next_use_date
                >= {{ add_days(window_days, 'presence_edges.use_date') }}
            )
        )
{% endmacro %}
