{% macro health_as_of_date() %}
    {#- The scoring date as a SQL date expression: the `as_of_date` var when set (a checked
        YYYY-MM-DD date literal), otherwise the latest day on which at least
        `as_of_min_active_share` of the peak number of active accounts (the most on any of
        that day's 28 preceding activity days) has accepted product activity. Accepted
        activity is never after its load time, and no load time is after the build's clock,
        so one stray row dated in the future or on a day with almost no activity cannot
        move the as-of date. -#}
    {%- set as_of_date = health_date_var('as_of_date') -%}
    {%- if as_of_date is not none -%}
        {{ return(as_of_date) }}
    {%- endif -%}
    {%- set daily -%}
        select
            activity_date,
            count(distinct account_id) as active_accounts
        from {{ ref('stg_product__user_activity_daily') }}
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
