{#- Every candidate weight set, per segment, scored on the back-test the way the real score
    is (categories without data drop out, below min_score_coverage no score), with its churn
    AUC on the fit as-of dates, the held-out later dates and all dates; plus the current
    weights as they scored. rpt_health_weight_calibration reads the best of them. -#}
{%- set categories = health_categories() -%}
{%- set steps = (1.0 / var('backtest_calibration_step')) | round | int -%}

with observations as (

    select
        account_id,
        segment,
        computed_health_score,
        {%- for category in categories %}
        {{ category }}_score,
        {%- endfor %}
        is_churned,
        as_of_date
    from {{ ref('fct_health_backtest_observations') }}
    where lifecycle_stage != 'onboarding'

),

current_weights as (

    select
        segment_group,
        {%- for category in categories %}
        {{ category }}_weight,
        {%- endfor %}
        weight_set
    from {{ ref('int_health_weights_by_segment') }}

),

samples as (

    {{ backtest_holdout_dates('observations', var('backtest_holdout_share')) }}

),

-- at most backtest_calibration_max_accounts accounts: every k-th account by id beyond that
sampled_accounts as (

    select account_id
    from (
        select
            account_id,
            row_number() over (order by account_id) as account_rank,
            count(*) over () as account_count
        from (select distinct account_id from observations) as distinct_accounts
    ) as accounts_ranked
    where
        (account_rank - 1)
        % cast(ceil(account_count / {{ var('backtest_calibration_max_accounts') }}) as integer)
        = 0

),

-- sub-scores (2 decimals) as whole hundredths, the score as whole tenths
prepared_observations as (

    select
        observations.segment,
        {%- for category in categories %}
        cast(round(observations.{{ category }}_score * 100) as bigint) as {{ category }}_hundredths,
        {%- endfor %}
        cast(round(observations.computed_health_score * 10) as bigint) as score_tenths,
        observations.is_churned,
        samples.is_holdout
    from observations
    inner join sampled_accounts
        on observations.account_id = sampled_accounts.account_id
    inner join samples
        on observations.as_of_date = samples.as_of_date

),

-- one row: whether the deployment has data for any signal of each category
category_availability as (

    {{ availability_flags('category_id', categories) }}

),

-- the grid's weight sets that put no weight on a category the deployment has no data for
candidates as (

    select grid.*
    from (
        {{ weight_grid(categories, steps) }}
    ) as grid
    cross join category_availability
    where
        {%- for category in categories %}
        (category_availability.{{ category }}__available or grid.{{ category }}_steps = 0)
        and
        {%- endfor %}
        category_availability.signal_count > 0

),

-- each observation under each candidate: p = weight steps x sub-score hundredths and
-- q = weight steps on the categories with data, both integers
candidate_sums as (

    select
        prepared_observations.segment,
        candidates.candidate_number,
        prepared_observations.is_holdout,
        prepared_observations.is_churned,
        {{ weighted_steps(categories, 'prepared_observations', 'candidates') }}
            as weighted_points,
        {{ covered_steps(categories, 'prepared_observations', 'candidates') }}
            as covered_steps
    from prepared_observations
    cross join candidates

),

-- each observation under each candidate: the weighted mean of the sub-scores with data,
-- rounded half up to tenths in integers (floor((p + 5q) / 10q) = round(p / q / 10));
-- no score below min_score_coverage, as for the real score
candidate_scores as (

    select
        segment,
        candidate_number,
        is_holdout,
        is_churned,
        floor(
            cast(weighted_points + 5 * covered_steps as double) / (10 * covered_steps)
        ) as score_tenths
    from candidate_sums
    where covered_steps >= {{ steps * var('min_score_coverage') }}

),

segment_counts as (

    select
        segment,
        candidate_number,
        is_holdout,
        score_tenths,
        cast(count(*) as bigint) as observations,
        cast(sum(case when is_churned then 1 else 0 end) as bigint) as churned_observations
    from candidate_scores
    group by segment, candidate_number, is_holdout, score_tenths
    union all
    select
        segment,
        -1 as candidate_number,
        is_holdout,
        score_tenths,
        cast(count(*) as bigint) as observations,
        cast(sum(case when is_churned then 1 else 0 end) as bigint) as churned_observations
    from prepared_observations
    where score_tenths is not null
    group by segment, is_holdout, score_tenths

),

-- per segment, and for the portfolio (`all`) by adding the segments' counts up
value_counts as (

    select * from segment_counts
    union all
    select
        'all' as segment,
        candidate_number,
        is_holdout,
        score_tenths,
        cast(sum(observations) as bigint) as observations,
        cast(sum(churned_observations) as bigint) as churned_observations
    from segment_counts
    group by candidate_number, is_holdout, score_tenths

),

sample_counts as (

    select
        segment,
        candidate_number,
        case when is_holdout then 'holdout' else 'fit' end as sample_name,
        score_tenths,
        observations,
        churned_observations
    from value_counts
    union all
    select
        segment,
        candidate_number,
        'all' as sample_name,
        score_tenths,
        cast(sum(observations) as bigint) as observations,
        cast(sum(churned_observations) as bigint) as churned_observations
    from value_counts
    group by segment, candidate_number, score_tenths

),

sample_aucs as (

    {{ mann_whitney_auc(
        'sample_counts', ['segment', 'candidate_number', 'sample_name'], 'score_tenths',
        'observations', 'churned_observations'
    ) }}

),

candidate_aucs as (

    select
        segment,
        candidate_number,
        max(case when sample_name = 'fit' then observations end) as fit_observations,
        max(case when sample_name = 'fit' then positives end) as fit_churned_observations,
        max(case when sample_name = 'fit' then auc end) as fit_auc,
        max(case when sample_name = 'holdout' then observations end) as holdout_observations,
        max(case when sample_name = 'holdout' then positives end) as holdout_churned_observations,
        max(case when sample_name = 'holdout' then auc end) as holdout_auc,
        max(case when sample_name = 'all' then observations end) as observations,
        max(case when sample_name = 'all' then positives end) as churned_observations,
        max(case when sample_name = 'all' then auc end) as auc
    from sample_aucs
    group by segment, candidate_number

),

weighed as (

    select
        candidate_aucs.*,
        {%- for category in categories %}
        coalesce(
            cast(candidates.{{ category }}_steps as double) / {{ steps }},
            current_weights.{{ category }}_weight
        ) as {{ category }}_weight,
        {%- endfor %}
        coalesce(candidates.candidate_id, 'current') as candidate_id,
        current_weights.weight_set as current_weight_set,
        {%- for category in categories %}
        current_weights.{{ category }}_weight as current_{{ category }}_weight,
        {%- endfor %}
        candidate_aucs.candidate_number = -1 as is_current
    from candidate_aucs
    inner join current_weights
        on candidate_aucs.segment = current_weights.segment_group
    left join candidates
        on candidate_aucs.candidate_number = candidates.candidate_number

),

final as (

    select
        segment,
        candidate_id,
        current_weight_set,
        {%- for category in categories %}
        {{ category }}_weight,
        {%- endfor %}
        {%- set distance = [] %}
        {%- for category in categories %}
        {%- do distance.append('abs(' ~ category ~ '_weight - current_' ~ category ~ '_weight)') %}
        {%- endfor %}
        {{ distance | join(' + ') }} as distance_from_current,
        fit_observations,
        fit_churned_observations,
        fit_auc,
        holdout_observations,
        holdout_churned_observations,
        holdout_auc,
        observations,
        churned_observations,
        auc,
        -- the current weights rank too: a suggestion must beat them on the fit dates
        cast(case
            when fit_auc is not null
                then row_number() over (
                        partition by segment, fit_auc is null
                        order by
                            fit_auc desc,
                            {{ distance | join(' + ') }} asc,
                            case when is_current then 0 else 1 end asc,
                            candidate_id asc
                    )
        end as integer) as fit_rank,
        is_current
    from weighed

)

-- monthly (tag `monthly`): the rows of the last build unless int_monthly_recompute says
-- this run recomputes them
{{ monthly_select('final') }}
