-- health_scoring_rules has one rule, in its category, for every signal of health_signals().
with rules as (

    select
        category_id,
        signal_name
    from {{ ref('health_scoring_rules') }}

),

expected as (

    {%- for category, signals in health_signals().items() %}
    {%- set outer_last = loop.last %}
    {%- for signal in signals %}
    select '{{ category }}' as category_id, '{{ signal }}' as signal_name
    {{- ' union all' if not (outer_last and loop.last) }}
    {%- endfor %}
    {%- endfor %}

)

select
    coalesce(rules.signal_name, expected.signal_name) as signal_name,
    rules.category_id as rule_category_id,
    expected.category_id as expected_category_id
from rules
full outer join expected
    on rules.signal_name = expected.signal_name
where
    rules.signal_name is null
    or expected.signal_name is null
    or rules.category_id != expected.category_id
