{#- The churn model's scorecard where the build does not train it: on engines without
    Python models, or when var churn_model_scorecard_file names a scorecard written by
    `customer-health churn-model train`. Without a file it holds no version, so there is no
    churn model (the marts say so). Same columns as the trained model. -#}
{{ config(
    enabled=not (target.type == 'duckdb' and not var('churn_model_scorecard_file')),
    contract={'enforced': true},
) }}
{%- set scorecard_file = var('churn_model_scorecard_file') -%}
{%- if scorecard_file and not modules.re.match('^(/|[a-zA-Z][a-zA-Z0-9+.-]*://)', scorecard_file) -%}
    {%- set scorecard_file = project_root() ~ '/' ~ scorecard_file -%}
{%- endif %}

with scorecard as (

    {%- if scorecard_file %}
    select
        cast(model_name as {{ dbt.type_string() }}) as model_name,
        cast(model_version as date) as model_version,
        cast(feature_name as {{ dbt.type_string() }}) as feature_name,
        cast(bin_number as integer) as bin_number,
        cast(lower_bound as double) as lower_bound,
        cast(upper_bound as double) as upper_bound,
        cast(is_missing_bin as boolean) as is_missing_bin,
        cast(points as double) as points,
        cast(training_share as double) as training_share,
        cast(training_churn_rate as double) as training_churn_rate,
        cast(training_observations as bigint) as training_observations,
        cast(training_churned as bigint) as training_churned,
        cast(first_training_date as date) as first_training_date,
        cast(last_training_date as date) as last_training_date,
        cast(penalty_c as double) as penalty_c,
        cast(training_fingerprint as {{ dbt.type_string() }}) as training_fingerprint
    from {{ read_parquet_file(scorecard_file) }}
    {%- else %}
    select
        cast(null as {{ dbt.type_string() }}) as model_name,
        cast(null as date) as model_version,
        cast(null as {{ dbt.type_string() }}) as feature_name,
        cast(null as integer) as bin_number,
        cast(null as double) as lower_bound,
        cast(null as double) as upper_bound,
        cast(null as boolean) as is_missing_bin,
        cast(null as double) as points,
        cast(null as double) as training_share,
        cast(null as double) as training_churn_rate,
        cast(null as bigint) as training_observations,
        cast(null as bigint) as training_churned,
        cast(null as date) as first_training_date,
        cast(null as date) as last_training_date,
        cast(null as double) as penalty_c,
        cast(null as {{ dbt.type_string() }}) as training_fingerprint
    from {{ ref('fct_churn_model_observations') }}
    where 1 = 0
    {%- endif %}

)

select * from scorecard
