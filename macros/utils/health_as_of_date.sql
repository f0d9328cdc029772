{% macro health_as_of_date() %}
    {#- The scoring date as a SQL date expression: the `as_of_date` var when set (a checked
        YYYY-MM-DD date literal), otherwise the latest day on which at least
        `as_of_min_active_share` of the peak number of active accounts (the most on any of
        that day's 28 preceding activity days) has accepted product activity. Accepted
        activity is never after its load time, and no load time is after the build's clock,
        so one stray row dated in the future or on a day with almost no activity cannot
        move the as-of date. When a run or build executes a model, the date is searched
        from the newest activity backwards (as_of_date_searched) and given as a literal, so
        a daily run reads the last months of activity, not its whole history. -#}
    {%- set as_of_date = health_date_var('as_of_date') -%}
    {%- if as_of_date is not none -%}
        {{ return(as_of_date) }}
    {%- endif -%}
    {%- set activity = ref('stg_product__user_activity_daily') -%}
    {%- if execute and flags.WHICH in ('run', 'build') and model.resource_type != 'unit_test' -%}
        {%- set found = as_of_date_searched(activity) -%}
        {%- if found is not none -%}
            {{ return(date_literal(found)) }}
        {%- endif -%}
    {%- endif -%}
    {{ return(as_of_date_expression(activity)) }}
{% endmacro %}

{% macro as_of_date_expression(relation) %}
    {#- The as-of rule of health_as_of_date over every day of `relation` (activity_date,
        account_id), as one SQL expression. -#}
    {%- set daily -%}
        select
            activity_date,
            count(distinct account_id) as active_accounts
        from {{ relation }}
        group by activity_date
    {%- endset -%}
    {{ return(
        '(select max(activity_date) from ('
        ~ 'select activity_date, active_accounts, max(active_accounts) over '
        ~ '(order by activity_date rows between 28 preceding and current row) as peak_accounts '
        ~ 'from (' ~ daily ~ ') as daily_accounts) as activity_days '
        ~ 'where active_accounts >= ' ~ health_number_var('as_of_min_active_share') ~ ' * peak_accounts)'
    ) }}
{% endmacro %}

{% macro as_of_date_searched(relation, first_span_days=91) %}
    {#- The date as_of_date_expression gives over `relation`, found by reading only the
        activity of the last `first_span_days` days, then 4 times as many, until a day
        qualifies or the span holds every day. A day is judged only when its 28 preceding
        activity days are all in the span (or the span starts at the first day), so each
        judged day is judged as over the whole history; the judged days are the span's
        latest, so the latest qualifying one is the answer. None when there is no activity.
        A date (as the engine's driver gives it). -#}
    {{ return(as_of_date_search(relation, first_span_days).found) }}
{% endmacro %}

{% macro as_of_date_search(relation, first_span_days) %}
    {#- as_of_date_searched's search: {found: the date or none, spans: the spans read, in
        days (none: every day)}. -#}
    {%- set found = run_query('select min(activity_date), max(activity_date) from ' ~ relation) -%}
    {%- set first_day, last_day = as_datetime(found.rows[0][0]), as_datetime(found.rows[0][1]) -%}
    {%- set search = namespace(span=first_span_days, done=last_day is none, found=none, spans=[]) -%}
    {%- for attempt in range(40) -%}
        {%- if not search.done -%}
        {%- set whole = search.span >= (last_day - first_day).days -%}
        {%- set span_start = none if whole else last_day - modules.datetime.timedelta(days=search.span) -%}
        {%- set searched -%}
            select max(case when is_judged and active_accounts >= {{ health_number_var('as_of_min_active_share') }} * peak_accounts then activity_date end)
            from (
                select
                    activity_date,
                    active_accounts,
                    max(active_accounts) over (
                        order by activity_date rows between 28 preceding and current row
                    ) as peak_accounts,
                    {{ 'true' if whole else 'row_number() over (order by activity_date) > 28' }} as is_judged
                from (
                    select
                        activity_date,
                        count(distinct account_id) as active_accounts
                    from {{ relation }}
                    {%- if not whole %}
                    where activity_date >= {{ date_literal(span_start) }}
                    {%- endif %}
                    group by activity_date
                ) as daily_accounts
            ) as activity_days
        {%- endset -%}
        {%- set search.found = as_datetime(run_query(searched).rows[0][0]) -%}
        {%- set search.spans = search.spans + [none if whole else search.span] -%}
        {%- set search.done = whole or search.found is not none -%}
        {%- set search.span = search.span * 4 -%}
        {%- endif -%}
    {%- endfor -%}
    {{ return({'found': search.found, 'spans': search.spans}) }}
{% endmacro %}

{% macro as_of_date_report(relations, spans=[91]) %}
    {#- Operation: for each relation and first span, logs `as_of_date {json}`: the date
        as_of_date_searched finds, the one as_of_date_expression gives over the whole
        relation, and the spans the search read (the equivalence test runs it on activity
        shapes of its own). -#}
    {%- for relation in relations -%}
        {%- set whole = as_datetime(run_query('select ' ~ as_of_date_expression(relation)).rows[0][0]) -%}
        {%- for span in spans -%}
            {%- set search = as_of_date_search(relation, span) -%}
            {{ log('as_of_date ' ~ tojson({
                'relation': relation,
                'first_span_days': span,
                'searched': search.found.strftime('%Y-%m-%d') if search.found else none,
                'whole': whole.strftime('%Y-%m-%d') if whole else none,
                'spans_read': search.spans,
            }), info=true) }}
        {%- endfor -%}
    {%- endfor -%}
{% endmacro %}
