{#- Incremental (config in dbt_project.yml, shared with the account-day models). One row per
    active account and score date: the churn model's probability of churn within the
    back-test horizon, its risk level, and the three features adding the most to the risk,
    each with its points (log-odds above an average account) and the value behind them.
    Before the first model version (too few churns known yet) the row says `no_model`. An
    incremental run also recomputes the days whose version changed since they were stored. -#}
{%- set features = var('churn_model_features') -%}

with
{%- if is_incremental() %}
-- The scorecard's versions now, and the first day whose stored probability came from a
-- version that changed since (trained again from corrected rows, or with other settings) or
-- that a new version now covers: history is recomputed from there, not only the last days.
versions as (

    select
        model_version,
        training_fingerprint
    from {{ ref('rpt_churn_model_scorecard') }}
    where model_name = 'churn_model' and feature_name = '(intercept)'

),

applied as (

    select
        churn_model_version,
        churn_model_fingerprint,
        min(score_date) as first_score_date
    from {{ this }}
    group by churn_model_version, churn_model_fingerprint

),

stale as (

    select min(applied.first_score_date) as stale_from
    from applied
    left join versions
        on applied.churn_model_version = versions.model_version
    where
        applied.churn_model_version is not null
        and (
            versions.model_version is null
            or versions.training_fingerprint <> applied.churn_model_fingerprint
        )
    union all
    select min(versions.model_version) as stale_from
    from versions
    left join applied
        on
            versions.model_version = applied.churn_model_version
            and versions.training_fingerprint = applied.churn_model_fingerprint
    where applied.churn_model_version is null

),

-- the earlier of the usual lookback and the first stale day
recompute as (

    select
        case
            when stale_days.stale_from < lookback.lookback_from then stale_days.stale_from
            else lookback.lookback_from
        end as recompute_from
    from (select min(stale_from) as stale_from from stale) as stale_days
    cross join (select {{ incremental_recompute_from() }} as lookback_from) as lookback

),

{%- endif %}

inputs as (

    select * from {{ ref('int_churn_model_inputs_daily') }}
    {%- if is_incremental() %}
    where score_date >= (select recompute_from from recompute)
    {%- endif %}

),

contributions as (

    {{ churn_model_contributions(
        'inputs', ['account_id', 'score_date'], 'score_date', features, ['churn_model']
    ) }}

),

log_odds as (

    select
        account_id,
        score_date,
        max(model_version) as model_version,
        sum(points) as churn_log_odds
    from contributions
    group by account_id, score_date

),

factors_ranked as (

    select
        account_id,
        score_date,
        feature_name,
        feature_value,
        points,
        row_number() over (
            partition by account_id, score_date
            order by points desc, feature_name asc
        ) as factor_rank
    from contributions
    where feature_name != '(intercept)' and points > 0

),

factors as (

    select
        account_id,
        score_date,
        {%- for rank in [1, 2, 3] %}
        max(case when factor_rank = {{ rank }} then feature_name end) as risk_factor_{{ rank }},
        max(case when factor_rank = {{ rank }} then points end) as risk_factor_{{ rank }}_points,
        max(case when factor_rank = {{ rank }} then feature_value end)
            as risk_factor_{{ rank }}_value,
        {%- endfor %}
        {{ dbt.listagg(
            "feature_name || ' = ' || coalesce(cast(cast(round(feature_value, 2) as decimal(20, 2)) as "
            ~ dbt.type_string() ~ "), 'none') || ' (+' || cast(cast(round(points, 2) as decimal(10, 2)) as "
            ~ dbt.type_string() ~ ") || ')'",
            "'; '",
            "order by factor_rank",
        ) }} as risk_factors
    from factors_ranked
    where factor_rank <= 3
    group by account_id, score_date

),

levels as (

    select
        risk_level,
        cast(min_probability as double) as min_probability,
        cast(max_probability as double) as max_probability,
        level_rank
    from {{ ref('churn_risk_levels') }}

),

probabilities as (

    select
        inputs.account_id,
        inputs.score_date,
        inputs.segment,
        log_odds.model_version,
        log_odds.churn_log_odds,
        1.0 / (1.0 + exp(-log_odds.churn_log_odds)) as churn_probability_90d
    from inputs
    left join log_odds
        on
            inputs.account_id = log_odds.account_id
            and inputs.score_date = log_odds.score_date

),

final as (

    select
        probabilities.account_id,
        probabilities.segment,
        case
            when probabilities.model_version is null then 'no_model' else 'scored'
        end as churn_model_status,
        probabilities.model_version as churn_model_version,
        versions_applied.training_fingerprint as churn_model_fingerprint,
        cast(probabilities.churn_log_odds as double) as churn_log_odds,
        cast(probabilities.churn_probability_90d as double) as churn_probability_90d,
        levels.risk_level as churn_risk_level,
        cast(levels.level_rank as integer) as churn_risk_level_rank,
        {%- for rank in [1, 2, 3] %}
        factors.risk_factor_{{ rank }},
        cast(factors.risk_factor_{{ rank }}_points as double) as risk_factor_{{ rank }}_points,
        cast(factors.risk_factor_{{ rank }}_value as double) as risk_factor_{{ rank }}_value,
        {%- endfor %}
        cast(factors.risk_factors as {{ dbt.type_string() }}) as risk_factors,
        probabilities.score_date
    from probabilities
    left join levels
        on
            probabilities.churn_probability_90d >= levels.min_probability
            and probabilities.churn_probability_90d < levels.max_probability
    left join factors
        on
            probabilities.account_id = factors.account_id
            and probabilities.score_date = factors.score_date
    left join {{ ref('rpt_churn_model_scorecard') }} as versions_applied
        on
            probabilities.model_version = versions_applied.model_version
            and versions_applied.model_name = 'churn_model'
            and versions_applied.feature_name = '(intercept)'

)

select * from final
