{#- Incremental (config in dbt_project.yml, shared with the account-day models). One row per
    active account and score date: the churn model's probability of churn within the
    back-test horizon, its risk level, and the three features adding the most to the risk,
    each with its points (log-odds above an average account) and the value behind them.
    Before the first model version (too few churns known yet) the row says `no_model`. An
    incremental run also recomputes the days whose version changed since they were stored. -#}
{%- set features = var('churn_model_features') -%}

{%- if is_incremental() %}
{#- The first day this run recomputes, worked out before the model runs and given to it as a
    date literal, so the filter reaches the tables under the inputs view. -#}
{%- set recompute_query %}
with
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
    cross join (select {{ incremental_recompute_date() }} as lookback_from) as lookback

)

select recompute_from from recompute
{%- endset %}
{#- none: the table holds no day yet, so every day is computed -#}
{%- set found = run_query(recompute_query) if execute else none %}
{%- set first_day = found.columns[0].values()[0] if found else none %}
{%- set recompute_from = date_literal(as_datetime(first_day)) %}
{%- endif %}

with

inputs as (

    select * from {{ ref('int_churn_model_inputs_daily') }}
    {%- if is_incremental() and recompute_from is not none %}
    where score_date >= {{ recompute_from }}
    {%- endif %}

),

scored as (

    {{ churn_model_points(
        'inputs', ['account_id', 'score_date'], 'score_date', features, ['churn_model']
    ) }}

),

-- the three features adding the most to the risk (points above 0), highest points first and
-- ties by feature name: each pick is the highest points among the features not yet picked
{%- for rank in [1, 2, 3] %}

factor_{{ rank }} as (

    select
        {{ churn_model_factor_points(rank, features) }} as risk_factor_{{ rank }}_points,
        {{ 'factor_' ~ (rank - 1) ~ '_picked' if rank > 1 else 'scored' }}.*
    from {{ 'factor_' ~ (rank - 1) ~ '_picked' if rank > 1 else 'scored' }}

),

factor_{{ rank }}_named as (

    select
        {{ churn_model_factor_name(rank, features) }} as risk_factor_{{ rank }},
        factor_{{ rank }}.*
    from factor_{{ rank }}

),

factor_{{ rank }}_picked as (

    select
        {{ churn_model_factor_value(rank, features, 'factor_' ~ rank ~ '_named') }}
            as risk_factor_{{ rank }}_value,
        factor_{{ rank }}_named.*
    from factor_{{ rank }}_named

),
{%- endfor %}

factors as (

    select
        factor_3_picked.account_id,
        factor_3_picked.score_date,
        factor_3_picked.model_version,
        {{ churn_model_log_odds('factor_3_picked', features) }} as churn_log_odds,
        {%- for rank in [1, 2, 3] %}
        factor_3_picked.risk_factor_{{ rank }},
        factor_3_picked.risk_factor_{{ rank }}_points,
        factor_3_picked.risk_factor_{{ rank }}_value,
        {%- endfor %}
        {{ churn_model_factor_text(1, 'factor_3_picked') }}
        || coalesce('; ' || {{ churn_model_factor_text(2, 'factor_3_picked') }}, '')
        || coalesce('; ' || {{ churn_model_factor_text(3, 'factor_3_picked') }}, '')
            as risk_factors
    from factor_3_picked

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
        factors.model_version,
        factors.churn_log_odds,
        1.0 / (1.0 + exp(-factors.churn_log_odds)) as churn_probability_90d,
        {%- for rank in [1, 2, 3] %}
        factors.risk_factor_{{ rank }},
        factors.risk_factor_{{ rank }}_points,
        factors.risk_factor_{{ rank }}_value,
        {%- endfor %}
        factors.risk_factors
    from inputs
    left join factors
        on
            inputs.account_id = factors.account_id
            and inputs.score_date = factors.score_date

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
        probabilities.risk_factor_{{ rank }},
        cast(probabilities.risk_factor_{{ rank }}_points as double)
            as risk_factor_{{ rank }}_points,
        cast(probabilities.risk_factor_{{ rank }}_value as double) as risk_factor_{{ rank }}_value,
        {%- endfor %}
        cast(probabilities.risk_factors as {{ dbt.type_string() }}) as risk_factors,
        probabilities.score_date
    from probabilities
    left join levels
        on
            probabilities.churn_probability_90d >= levels.min_probability
            and probabilities.churn_probability_90d < levels.max_probability
    left join {{ ref('rpt_churn_model_scorecard') }} as versions_applied
        on
            probabilities.model_version = versions_applied.model_version
            and versions_applied.model_name = 'churn_model'
            and versions_applied.feature_name = '(intercept)'

)

select * from final
