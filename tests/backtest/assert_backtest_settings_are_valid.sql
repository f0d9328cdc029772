-- The back-test vars hold usable values (see dbt_project.yml).
{%- set step = var('backtest_calibration_step') | float %}
{%- set checks = [
    ('backtest_horizon_days', var('backtest_horizon_days') | int > 0),
    ('backtest_auc_floor', 0.5 <= var('backtest_auc_floor') | float <= 1),
    ('backtest_top_share', 0 < var('backtest_top_share') | float <= 1),
    ('backtest_holdout_share', 0 <= var('backtest_holdout_share') | float < 1),
    ('backtest_calibration_step', 0 < step <= 1
        and ((1 / step) - ((1 / step) | round)) | abs < 0.000001),
    ('backtest_calibration_max_accounts', var('backtest_calibration_max_accounts') | int > 0),
    ('backtest_min_churned', var('backtest_min_churned') | int >= 0),
    ('backtest_min_band_observations', var('backtest_min_band_observations') | int >= 0),
] %}

select setting_name
from (
    {%- for name, ok in checks %}
    select
        '{{ name }}' as setting_name,
        {{ 'true' if ok else 'false' }} as is_valid
    {{- ' union all' if not loop.last }}
    {%- endfor %}
) as setting_checks
where not is_valid
