{% macro health_var_types() %}
    {#- The project's vars that are values rather than names: dates (YYYY-MM-DD or empty)
        and numbers. A test keeps these lists equal to dbt_project.yml. -#}
    {{ return({
        'dates': ['as_of_date', 'scoring_start_date', 'min_plausible_date'],
        'numbers': [
            'quarantine_warn_share', 'quarantine_error_share',
            'source_freshness_warn_hours', 'source_freshness_error_hours',
            'load_time_tolerance_hours', 'as_of_min_active_share',
            'nps_satisfied_min', 'csat_satisfied_min',
            'usage_window_days', 'support_window_days', 'stakeholder_window_days',
            'payment_window_days', 'survey_max_age_days', 'ticket_aging_days',
            'milestone_grace_days', 'onboarding_max_days', 'renewal_window_days',
            'min_score_coverage', 'usage_trend_prior_user_days', 'cohort_size_bands',
            'cohort_min_accounts', 'trend_threshold_points', 'score_drop_alert_points',
            'score_drop_alert_days', 'override_expiry_alert_days', 'override_max_days',
            'critical_band_max_share', 'incremental_lookback_days',
            'decision_tree_adoption_min_rate', 'decision_tree_engagement_days',
            'decision_tree_survey_days', 'decision_tree_max_open_tickets',
            'decision_tree_max_ticket_age_days', 'decision_tree_renewal_days',
            'decision_tree_disagreement_min_ranks',
            'backtest_horizon_days', 'backtest_auc_floor', 'backtest_min_churned',
            'backtest_top_share', 'backtest_calibration_step', 'backtest_holdout_share',
            'backtest_calibration_max_accounts', 'backtest_min_band_observations',
            'churn_model_min_churned', 'churn_model_max_bins', 'churn_model_validation_share',
            'assessment_new_flag_days', 'csm_play_effect_min_actions', 'crm_task_closed_days',
        ],
    }) }}
{% endmacro %}

{% macro validate_health_vars() %}
    {#- Run first at every run start: each date var is empty or a real YYYY-MM-DD date, each
        number var a number (not text, not a boolean). One error names every bad var, so a
        var's text can never reach the SQL. -#}
    {%- set problems = [] -%}
    {%- set types = health_var_types() -%}
    {%- for name in types.dates -%}
        {%- set problem = _date_var_problem(name) -%}
        {%- if problem -%}{%- do problems.append(problem) -%}{%- endif -%}
    {%- endfor -%}
    {%- for name in types.numbers -%}
        {%- set problem = _number_var_problem(name) -%}
        {%- if problem -%}{%- do problems.append(problem) -%}{%- endif -%}
    {%- endfor -%}
    {%- do problems.extend(_cohort_var_problems()) -%}
    {%- do problems.extend(_churn_model_var_problems()) -%}
    {%- do problems.extend(_action_var_problems()) -%}
    {%- if problems | length > 0 -%}
        {{ exceptions.raise_compiler_error('Invalid vars:\n  - ' ~ problems | join('\n  - ')) }}
    {%- endif -%}
    {{ return('') }}
{% endmacro %}

{% macro _cohort_var_problems() %}
    {#- cohort_dimensions: a list of segment / size_band / tenure_band, each at most once;
        cohort_tenure_band_days: a list of increasing positive whole numbers;
        cohort_size_bands and cohort_min_accounts: whole numbers of at least 1. -#}
    {%- set problems = [] -%}
    {%- set dimensions = var('cohort_dimensions', none) -%}
    {%- set allowed = ['segment', 'size_band', 'tenure_band'] -%}
    {%- if dimensions is string or dimensions is not iterable or dimensions is mapping
        or (dimensions | reject('in', allowed) | list | length) > 0
        or (dimensions | unique | list | length) != (dimensions | list | length) -%}
        {%- do problems.append("var 'cohort_dimensions' must be a list of distinct names from "
            ~ allowed | join(', ') ~ ', got ' ~ (dimensions | string | tojson)[:80]) -%}
    {%- endif -%}
    {%- set starts = var('cohort_tenure_band_days', none) -%}
    {%- set bad = [] -%}
    {%- if starts is string or starts is not iterable or starts is mapping -%}
        {%- do bad.append(starts) -%}
    {%- else -%}
        {%- for day in starts -%}
            {%- if not (day is number and day is not sameas true and day is not sameas false
                and day == day | int and day > 0 and (loop.first or day > loop.previtem)) -%}
                {%- do bad.append(day) -%}
            {%- endif -%}
        {%- endfor -%}
    {%- endif -%}
    {%- if bad | length > 0 -%}
        {%- do problems.append("var 'cohort_tenure_band_days' must be a list of increasing positive whole numbers, got "
            ~ (starts | string | tojson)[:80]) -%}
    {%- endif -%}
    {%- for name in ['cohort_size_bands', 'cohort_min_accounts'] -%}
        {%- set value = var(name, none) -%}
        {%- if value is number and value is not sameas true and value is not sameas false
            and (value != value | int or value < 1) -%}
            {%- do problems.append("var '" ~ name ~ "' must be a whole number of at least 1, got "
                ~ (value | string | tojson)[:80]) -%}
        {%- endif -%}
    {%- endfor -%}
    {{ return(problems) }}
{% endmacro %}

{% macro _date_var_problem(name) %}
    {%- set value = var(name, none) -%}
    {%- if value is none or (value is string and value == '') -%}
        {{ return(none) }}
    {%- endif -%}
    {%- set text = value | string -%}
    {%- if modules.re.fullmatch('[0-9]{4}-[0-9]{2}-[0-9]{2}', text) -%}
        {%- set parts = text.split('-') | map('int') | list -%}
        {%- set leap = parts[0] % 4 == 0 and (parts[0] % 100 != 0 or parts[0] % 400 == 0) -%}
        {%- set month_days = [31, 29 if leap else 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31] -%}
        {%- if 1 <= parts[1] <= 12 and 1 <= parts[2] <= month_days[parts[1] - 1] -%}
            {{ return(none) }}
        {%- endif -%}
    {%- endif -%}
    {{ return("var '" ~ name ~ "' must be a date YYYY-MM-DD (or empty), got " ~ (text | tojson)[:80]) }}
{% endmacro %}

{% macro _number_var_problem(name) %}
    {%- set value = var(name, none) -%}
    {%- if value is number and value is not sameas true and value is not sameas false -%}
        {{ return(none) }}
    {%- endif -%}
    {{ return("var '" ~ name ~ "' must be a number, got " ~ (value | string | tojson)[:80]) }}
{% endmacro %}

{% macro health_date_var(name) %}
    {#- A date var as a SQL date literal, or none when empty; anything but a real
        YYYY-MM-DD date fails at compile time naming the var. -#}
    {%- set problem = _date_var_problem(name) -%}
    {%- if problem -%}
        {{ exceptions.raise_compiler_error(problem) }}
    {%- endif -%}
    {%- set value = var(name, none) -%}
    {%- if value is none or value == '' -%}
        {{ return(none) }}
    {%- endif -%}
    {{ return("cast('" ~ value ~ "' as date)") }}
{% endmacro %}

{% macro health_number_var(name) %}
    {#- A number var, checked: anything but a number fails at compile time naming the var. -#}
    {%- set problem = _number_var_problem(name) -%}
    {%- if problem -%}
        {{ exceptions.raise_compiler_error(problem) }}
    {%- endif -%}
    {{ return(var(name)) }}
{% endmacro %}

{% macro _churn_model_var_problems() %}
    {#- churn_model_features: a list of distinct columns of int_churn_model_inputs_daily;
        churn_model_penalties: a list of positive numbers; churn_model_min_churned
        and churn_model_max_bins (>= 2): whole numbers;
        churn_model_validation_share: in (0, 1). -#}
    {%- set problems = [] -%}
    {%- set features = var('churn_model_features', none) -%}
    {%- set allowed = churn_model_candidate_features() -%}
    {%- if features is string or features is not iterable or features is mapping
        or (features | list | length) == 0
        or (features | reject('in', allowed) | list | length) > 0
        or (features | unique | list | length) != (features | list | length) -%}
        {%- do problems.append("var 'churn_model_features' must be a list of distinct columns of int_churn_model_inputs_daily ("
            ~ allowed | join(', ') ~ '), got ' ~ (features | string | tojson)[:120]) -%}
    {%- endif -%}
    {%- set penalties = var('churn_model_penalties', none) -%}
    {%- if penalties is string or penalties is not iterable or penalties is mapping
        or (penalties | list | length) == 0
        or (penalties | reject('number') | list | length) > 0
        or (penalties | select('le', 0) | list | length) > 0 -%}
        {%- do problems.append("var 'churn_model_penalties' must be a list of positive numbers, got "
            ~ (penalties | string | tojson)[:80]) -%}
    {%- endif -%}
    {%- for name, least in [
        ('churn_model_min_churned', 1), ('churn_model_max_bins', 2), ('assessment_new_flag_days', 1),
        ('csm_play_effect_min_actions', 2), ('crm_task_closed_days', 0),
    ] -%}
        {%- set value = var(name, none) -%}
        {%- if value is number and value is not sameas true and value is not sameas false
            and (value != value | int or value < least) -%}
            {%- do problems.append("var '" ~ name ~ "' must be a whole number of at least " ~ least ~ ", got "
                ~ (value | string | tojson)[:80]) -%}
        {%- endif -%}
    {%- endfor -%}
    {%- set share = var('churn_model_validation_share', none) -%}
    {%- if share is number and share is not sameas true and share is not sameas false
        and (share <= 0 or share >= 1) -%}
        {%- do problems.append("var 'churn_model_validation_share' must be between 0 and 1, got "
            ~ (share | string | tojson)[:80]) -%}
    {%- endif -%}
    {%- set scorecard_file = var('churn_model_scorecard_file', none) -%}
    {%- if scorecard_file is not none and scorecard_file is not string -%}
        {%- do problems.append("var 'churn_model_scorecard_file' must be a file path (or empty), got "
            ~ (scorecard_file | string | tojson)[:80]) -%}
    {%- endif -%}
    {{ return(problems) }}
{% endmacro %}

{% macro _action_var_problems() %}
    {#- csm_play_effect_horizons: a list of distinct whole numbers of days of at least 1;
        crm_task_owner_ids: a mapping of CSM names to HubSpot owner ids (digits). The whole
        numbers csm_play_effect_min_actions (>= 2) and crm_task_closed_days (>= 0) are
        checked with the churn model's. -#}
    {%- set problems = [] -%}
    {%- set horizons = var('csm_play_effect_horizons', none) -%}
    {%- if horizons is string or horizons is not iterable or horizons is mapping
        or (horizons | list | length) == 0
        or (horizons | reject('number') | list | length) > 0
        or (horizons | select('sameas', true) | list | length) > 0
        or (horizons | select('sameas', false) | list | length) > 0
        or (horizons | unique | list | length) != (horizons | list | length) -%}
        {%- do problems.append("var 'csm_play_effect_horizons' must be a list of distinct whole numbers of days (at least 1), got "
            ~ (horizons | string | tojson)[:80]) -%}
    {%- else -%}
        {%- for horizon in horizons if horizon != horizon | int or horizon < 1 -%}
            {%- do problems.append("var 'csm_play_effect_horizons' must be a list of distinct whole numbers of days (at least 1), got "
                ~ (horizons | string | tojson)[:80]) -%}
        {%- endfor -%}
    {%- endif -%}
    {%- set owner_ids = var('crm_task_owner_ids', none) -%}
    {%- if owner_ids is not mapping -%}
        {%- do problems.append("var 'crm_task_owner_ids' must be a mapping of CSM names to HubSpot owner ids, got "
            ~ (owner_ids | string | tojson)[:80]) -%}
    {%- else -%}
        {%- for name, owner_id in owner_ids.items()
            if name is not string or owner_id is sameas true or owner_id is sameas false
                or (owner_id | string | length) == 0
                or (owner_id | string | list | reject('in', '0123456789') | list | length) > 0 -%}
            {%- do problems.append("var 'crm_task_owner_ids' must map CSM names to HubSpot owner ids (digits), got "
                ~ (name | string | tojson)[:40] ~ ': ' ~ (owner_id | string | tojson)[:40]) -%}
        {%- endfor -%}
    {%- endif -%}
    {{ return(problems) }}
{% endmacro %}
