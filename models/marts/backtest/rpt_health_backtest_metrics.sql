{#- How well the score and each sub-score rank churn (lower = riskier): AUC and the lift of
    the riskiest share, per as-of date and overall, per segment and for the portfolio; next
    to them the baseline a score has to beat, the account's key events of the last 30 days
    (fewer = riskier). -#}
{%- set predictors = ['health_score'] -%}
{%- for category in health_categories() %}
{%- do predictors.append(category ~ '_score') %}
{%- endfor %}
{%- do predictors.append('key_events_30d') %}
{%- set groups = ['period', 'segment_group', 'predictor'] -%}

with observations as (

    select
        account_id,
        segment,
        computed_health_score,
        {%- for category in health_categories() %}
        {{ category }}_score,
        {%- endfor %}
        key_events_30d,
        is_churned,
        is_contracted,
        as_of_date
    from {{ ref('fct_health_backtest_observations') }}

),

predictor_names as (

    select predictor
    from {{ literal_rows('names', 'predictor', predictors) }}

),

grouped_observations as (

    {{ backtest_groups('observations') }}

),

predictor_values as (

    select
        grouped_observations.period,
        grouped_observations.segment_group,
        predictor_names.predictor,
        grouped_observations.account_id,
        case predictor_names.predictor
            when 'health_score' then grouped_observations.computed_health_score
            {%- for predictor in predictors[1:] %}
            when '{{ predictor }}' then cast(grouped_observations.{{ predictor }} as double)
            {%- endfor %}
        end as predictor_value,
        grouped_observations.is_churned,
        grouped_observations.is_contracted,
        grouped_observations.period_as_of_date,
        grouped_observations.as_of_date
    from grouped_observations
    cross join predictor_names

),

value_counts as (

    select
        period,
        segment_group,
        predictor,
        predictor_value,
        count(*) as observations,
        sum(case when is_churned then 1 else 0 end) as churned_observations,
        sum(case when is_contracted then 1 else 0 end) as contracted_observations,
        max(period_as_of_date) as period_as_of_date
    from predictor_values
    where predictor_value is not null
    group by period, segment_group, predictor, predictor_value

),

churn_auc as (

    {{ mann_whitney_auc(
        'value_counts', groups, 'predictor_value', 'observations', 'churned_observations'
    ) }}

),

contraction_auc as (

    {{ mann_whitney_auc(
        'value_counts', groups, 'predictor_value', 'observations', 'contracted_observations'
    ) }}

),

top_risk as (

    {{ top_risk_counts(
        'predictor_values', groups, 'predictor_value', 'is_churned',
        ['as_of_date', 'account_id'], var('backtest_top_share')
    ) }}

),

period_dates as (

    select
        period,
        max(period_as_of_date) as as_of_date
    from value_counts
    group by period

),

final as (

    select
        churn_auc.period,
        churn_auc.segment_group as segment,
        churn_auc.predictor,
        churn_auc.observations,
        churn_auc.positives as churned_observations,
        cast(churn_auc.positives as double) / churn_auc.observations as churn_rate,
        churn_auc.auc as churn_auc,
        contraction_auc.positives as contracted_observations,
        cast(contraction_auc.positives as double) / contraction_auc.observations
            as contraction_rate,
        contraction_auc.auc as contraction_auc,
        cast({{ var('backtest_top_share') }} as double) as top_risk_share,
        top_risk.top_risk_observations,
        top_risk.top_risk_positives as top_risk_churned_observations,
        cast(top_risk.top_risk_positives as double)
        / top_risk.top_risk_observations as top_risk_churn_rate,
        (cast(top_risk.top_risk_positives as double) / top_risk.top_risk_observations)
        / nullif(cast(churn_auc.positives as double) / churn_auc.observations, 0)
            as top_risk_lift,
        coalesce(
            churn_auc.positives >= {{ var('backtest_min_churned') }}
            and churn_auc.auc < {{ var('backtest_auc_floor') }},
            false
        ) as is_below_auc_floor,
        period_dates.as_of_date
    from churn_auc
    inner join contraction_auc
        on
            churn_auc.period = contraction_auc.period
            and churn_auc.segment_group = contraction_auc.segment_group
            and churn_auc.predictor = contraction_auc.predictor
    inner join top_risk
        on
            churn_auc.period = top_risk.period
            and churn_auc.segment_group = top_risk.segment_group
            and churn_auc.predictor = top_risk.predictor
    inner join period_dates
        on churn_auc.period = period_dates.period

)

-- monthly (tag `monthly`): the rows of the last build unless int_monthly_recompute says
-- this run recomputes them
{{ monthly_select('final') }}
