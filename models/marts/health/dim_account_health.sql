{#- Incremental on DuckDB (config in dbt_project.yml; a table on Spark): a run recomputes the
    accounts scored on or after the first day fct_account_health_daily recomputed (reading
    the scores from 30 days before it, for the 30-day change) and carries every other
    account's row over from the last build with this run's as_of_date and is_active. -#}
{%- set window_start = upstream_window_start('fct_account_health_daily') -%}
{%- set read_from = add_days(-30, window_start) if window_start else none -%}

with daily_health as (

    select * from {{ ref('fct_account_health_daily') }}
    where {{ window_filter('score_date', read_from) }}

),

accounts as (

    select
        account_id,
        account_name,
        csm_owner
    from {{ ref('stg_crm__accounts') }}

),

account_days as (

    select
        account_id,
        score_date,
        arr,
        licensed_seats,
        renewal_date
    from {{ ref('int_account_days') }}
    where {{ window_filter('score_date', read_from) }}

),

scoring_run as (

    select max(as_of_date) as as_of_date from {{ ref('int_score_dates') }}

),

categories as (

    select
        category_id,
        sort_order
    from {{ ref('health_categories') }}

),

decision_tree as (

    select
        account_id,
        as_of_date,
        outcome_id,
        outcome_label,
        decision_path,
        recommended_action,
        data_gaps
    from {{ ref('fct_account_health_decision_tree') }}
    where {{ window_filter('as_of_date', read_from) }}

),

churn_risk as (

    select
        account_id,
        score_date,
        churn_model_status,
        churn_model_version,
        churn_probability_90d,
        churn_risk_level,
        risk_factors
    from {{ ref('fct_account_churn_risk_daily') }}
    where {{ window_filter('score_date', read_from) }}

),


{#- one sort key (Spark's ordered listagg takes one): most severe first, then by label -#}
{%- set flag_order = 'order by ' ~ dbt.concat([
    'cast(4 - severity_rank as ' ~ dbt.type_string() ~ ')', 'flag_label',
]) %}

-- bands that have a decision-tree outcome, and their rank (healthy 1 ... critical 4)
ranked_bands as (

    select
        band_id,
        band_rank,
        decision_tree_outcome_id
    from {{ ref('health_bands') }}
    where decision_tree_outcome_id is not null

),

latest_health as (

    select *
    from daily_health
    where {{ window_filter('score_date', window_start) }}
    qualify row_number() over (partition by account_id order by score_date desc) = 1

),

-- the flags of each account's latest scored day (the scoring date for active accounts)
scoring_flags as (

    select
        flags.account_id,
        flags.flag_type,
        flags.severity,
        flags.severity_rank,
        flags.flag_label,
        flags.evidence,
        flags.is_new
    from {{ ref('fct_account_health_flags') }} as flags
    inner join latest_health
        on
            flags.account_id = latest_health.account_id
            and flags.score_date = latest_health.score_date
    where {{ window_filter('flags.score_date', read_from) }}

),

-- each account's red flags and green lights: counts, the most severe, and the flags
-- themselves as text, most severe first
flag_summary as (

    select
        account_id,
        sum(case when flag_type = 'red_flag' then 1 else 0 end) as red_flag_count,
        sum(case when flag_type = 'green_light' then 1 else 0 end) as green_light_count,
        sum(case when flag_type = 'red_flag' and is_new then 1 else 0 end) as new_red_flag_count,
        max(case when flag_type = 'red_flag' then severity_rank end) as max_red_flag_rank,
        -- nullif: an empty list is null on every engine (Spark's listagg gives '')
        nullif({{ dbt.listagg(
            "case when flag_type = 'red_flag' then " ~ dbt.concat(['flag_label', "': '", 'evidence']) ~ " end",
            "'; '", flag_order
        ) }}, '') as red_flags,
        nullif({{ dbt.listagg(
            "case when flag_type = 'green_light' then " ~ dbt.concat(['flag_label', "': '", 'evidence']) ~ " end",
            "'; '", flag_order
        ) }}, '') as green_lights
    from scoring_flags
    group by account_id

),

flags_not_evaluated as (

    select
        nullif({{ dbt.listagg(
            dbt.concat(['rules.flag_label', "' (missing: '", 'availability.missing_data', "')'"]),
            "'; '", 'order by rules.flag_label'
        ) }}, '') as flags_not_evaluated
    from {{ ref('int_health_flag_availability') }} as availability
    inner join {{ ref('health_flag_rules') }} as rules
        on availability.flag_id = rules.flag_id
    where not availability.is_evaluated

),

expansion as (

    select
        account_id,
        score_date,
        expansion_level,
        expansion_level_label,
        expansion_score,
        potential_extra_seats,
        expansion_potential_arr,
        expansion_basis,
        expansion_signals
    from {{ ref('fct_account_expansion_daily') }}
    where {{ window_filter('score_date', read_from) }}

),

-- each account's scored day 30 days before its latest (one pass over the history)
earlier_health as (

    select
        {%- for category in health_categories() %}
        daily_health.{{ category }}_contribution,
        {%- endfor %}
        daily_health.account_id
    from daily_health
    inner join latest_health
        on
            daily_health.account_id = latest_health.account_id
            and daily_health.score_date = {{ add_days(-30, 'latest_health.score_date') }}
    where daily_health.computed_health_score is not null

),

-- each category's sub-score today and its contribution now and 30 days earlier
category_rows as (

    {%- for category in health_categories() %}
    select
        latest_health.account_id,
        '{{ category }}' as category_id,
        latest_health.{{ category }}_score as category_score,
        latest_health.{{ category }}_contribution
        - coalesce(earlier_health.{{ category }}_contribution, 0) as contribution_change
    from latest_health
    left join earlier_health
        on latest_health.account_id = earlier_health.account_id
    {{- '\n    union all' if not loop.last }}
    {%- endfor %}

),

weakest_categories as (

    select
        category_rows.account_id,
        category_rows.category_id as weakest_category
    from category_rows
    inner join categories
        on category_rows.category_id = categories.category_id
    where category_rows.category_score is not null
    qualify
        row_number() over (
            partition by category_rows.account_id
            order by category_rows.category_score, categories.sort_order
        ) = 1

),

-- the category that moved the score most in the direction it moved
change_drivers as (

    select
        category_rows.account_id,
        category_rows.category_id as top_change_category,
        category_rows.contribution_change as top_change_points
    from category_rows
    inner join latest_health
        on category_rows.account_id = latest_health.account_id
    inner join categories
        on category_rows.category_id = categories.category_id
    where
        latest_health.score_change_30d is not null
        and category_rows.contribution_change is not null
    qualify
        row_number() over (
            partition by category_rows.account_id
            order by
                case
                    when latest_health.score_change_30d < 0 then category_rows.contribution_change
                    else -category_rows.contribution_change
                end,
                categories.sort_order
        ) = 1

),

final as (

    select
        latest_health.account_id,
        accounts.account_name,
        latest_health.segment,
        accounts.csm_owner,
        latest_health.lifecycle_stage,
        latest_health.config_version,
        latest_health.override_id,
        latest_health.health_band,
        latest_health.computed_health_band,
        latest_health.trend,
        latest_health.trend_arrow,
        decision_tree.outcome_id as tree_outcome_id,
        decision_tree.outcome_label as tree_outcome_label,
        tree_bands.band_id as tree_band,
        decision_tree.decision_path as tree_decision_path,
        decision_tree.recommended_action as tree_recommended_action,
        decision_tree.data_gaps as tree_data_gaps,
        weakest_categories.weakest_category,
        change_drivers.top_change_category,
        latest_health.health_score,
        latest_health.computed_health_score,
        latest_health.score_change_30d,
        {{ round_half_up('change_drivers.top_change_points', 2) }} as top_change_points,
        latest_health.score_coverage,
        {%- for category in health_categories() %}
        latest_health.{{ category }}_score,
        latest_health.{{ category }}_contribution,
        {%- endfor %}
        cast(account_days.arr as double) as arr,
        cast(account_days.licensed_seats as integer) as licensed_seats,
        latest_health.days_to_renewal,
        cast(tree_bands.band_rank - score_bands.band_rank as integer) as tree_band_rank_gap,
        latest_health.is_overridden,
        abs(tree_bands.band_rank - score_bands.band_rank)
        >= {{ var('decision_tree_disagreement_min_ranks') }} as is_assessment_disagreement,
        latest_health.score_date = scoring_run.as_of_date as is_active,
        coalesce(churn_risk.churn_model_status, 'no_model') as churn_model_status,
        churn_risk.churn_model_version,
        churn_risk.churn_probability_90d,
        churn_risk.churn_risk_level,
        churn_risk.risk_factors as churn_risk_factors,
        cast(coalesce(flag_summary.red_flag_count, 0) as integer) as red_flag_count,
        cast(coalesce(flag_summary.green_light_count, 0) as integer) as green_light_count,
        cast(coalesce(flag_summary.new_red_flag_count, 0) as integer) as new_red_flag_count,
        case flag_summary.max_red_flag_rank
            when 3 then 'high' when 2 then 'medium' when 1 then 'low'
        end as max_red_flag_severity,
        flag_summary.red_flags,
        flag_summary.green_lights,
        flags_not_evaluated.flags_not_evaluated,
        expansion.expansion_level,
        expansion.expansion_level_label,
        expansion.expansion_score,
        expansion.potential_extra_seats as expansion_extra_seats,
        expansion.expansion_potential_arr,
        expansion.expansion_basis,
        expansion.expansion_signals,
        account_days.renewal_date,
        latest_health.override_expires_at,
        latest_health.score_date,
        scoring_run.as_of_date
    from latest_health
    cross join scoring_run
    cross join flags_not_evaluated
    inner join accounts
        on latest_health.account_id = accounts.account_id
    inner join account_days
        on
            latest_health.account_id = account_days.account_id
            and latest_health.score_date = account_days.score_date
    left join weakest_categories
        on latest_health.account_id = weakest_categories.account_id
    left join change_drivers
        on latest_health.account_id = change_drivers.account_id
    left join decision_tree
        on
            latest_health.account_id = decision_tree.account_id
            and latest_health.score_date = decision_tree.as_of_date
    left join ranked_bands as tree_bands
        on decision_tree.outcome_id = tree_bands.decision_tree_outcome_id
    left join ranked_bands as score_bands
        on latest_health.computed_health_band = score_bands.band_id
    left join churn_risk
        on
            latest_health.account_id = churn_risk.account_id
            and latest_health.score_date = churn_risk.score_date
    left join flag_summary
        on latest_health.account_id = flag_summary.account_id
    left join expansion
        on
            latest_health.account_id = expansion.account_id
            and latest_health.score_date = expansion.score_date

)
{%- if read_from %}

{#- every other account as the last build left it, as of this run -#}
{%- set columns = adapter.get_columns_in_relation(this) | map(attribute='name') | map('lower') | list %},

carried as (

    select
        {%- for column in columns %}
        {%- if column == 'is_active' %}
        kept.score_date = scoring_run.as_of_date as is_active
        {%- elif column == 'as_of_date' %}
        scoring_run.as_of_date
        {%- else %}
        kept.{{ column }}
        {%- endif %}
        {{- ',' if not loop.last }}
        {%- endfor %}
    from {{ this }} as kept
    cross join scoring_run
    where not exists (
        select 1
        from latest_health
        where latest_health.account_id = kept.account_id
    )

)

select * from final
union all
select * from carried
{%- else %}

select * from final
{%- endif %}
