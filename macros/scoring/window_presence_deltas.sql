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
    select
        account_id,
        delta_date,
        {{ measure }}
    from (
        select
            account_id,
            {{ date_column }} as delta_date,
            1 as {{ measure }},
            lag({{ date_column }}) over (
                partition by {{ partition }} order by {{ date_column }}
            ) as neighbour_date,
            'start' as change_kind
        from {{ relation }}
        union all
        select
            account_id,
            {{ add_days(window_days, date_column) }} as delta_date,
            -1 as {{ measure }},
            lead({{ date_column }}) over (
                partition by {{ partition }} order by {{ date_column }}
            ) as neighbour_date,
            'end' as change_kind
        from {{ relation }}
    ) as presence_changes
    where
        neighbour_date is null
        or (
            change_kind = 'start'
            and neighbour_date <= {{ add_days(-window_days, 'delta_date') }}
        )
        or (change_kind = 'end' and neighbour_date >= delta_date)
{% endmacro %}
