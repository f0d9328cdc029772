{#- One row per red flag and green light: its rule from the seed health_flag_rules, whether
    the deployment can evaluate it (and what data it lacks), and how many active accounts it
    holds for on the scoring date, newly or not. -#}
with rules as (

    select * from {{ ref('health_flag_rules') }}

),

availability as (

    select
        flag_id,
        is_evaluated,
        missing_data
    from {{ ref('int_health_flag_availability') }}

),

scoring_run as (

    select max(as_of_date) as as_of_date from {{ ref('int_score_dates') }}

),

flagged as (

    select
        flags.flag_id,
        count(*) as accounts_flagged,
        sum(case when flags.is_new then 1 else 0 end) as accounts_newly_flagged
    from {{ ref('fct_account_health_flags') }} as flags
    inner join scoring_run
        on flags.score_date = scoring_run.as_of_date
    group by flags.flag_id

),

final as (

    select
        rules.flag_id,
        rules.flag_type,
        rules.category_id,
        rules.severity,
        rules.flag_label,
        rules.rule_description,
        cast(rules.threshold as double) as threshold,
        cast(rules.min_base as double) as min_base,
        availability.is_evaluated,
        availability.missing_data,
        cast(coalesce(flagged.accounts_flagged, 0) as bigint) as accounts_flagged,
        cast(coalesce(flagged.accounts_newly_flagged, 0) as bigint) as accounts_newly_flagged,
        scoring_run.as_of_date
    from rules
    cross join scoring_run
    inner join availability
        on rules.flag_id = availability.flag_id
    left join flagged
        on rules.flag_id = flagged.flag_id

)

select * from final
