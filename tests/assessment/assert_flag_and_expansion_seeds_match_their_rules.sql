-- health_flag_rules has one row for every flag of health_flags(), and expansion_signals one
-- row for every signal of expansion_signals(): each has a rule in its mart, and a rule
-- without a seed row (or a seed row without a rule) would be silently skipped.
with seeded as (

    select
        'flag' as kind,
        flag_id as rule_id
    from {{ ref('health_flag_rules') }}
    union all
    select
        'expansion_signal' as kind,
        signal_id as rule_id
    from {{ ref('expansion_signals') }}

),

expected as (

    {%- for flag in health_flags() %}
    select
        'flag' as kind,
        '{{ flag }}' as rule_id
    union all
    {%- endfor %}
    {%- for signal in expansion_signals() %}
    select
        'expansion_signal' as kind,
        '{{ signal }}' as rule_id
    {{- ' union all' if not loop.last }}
    {%- endfor %}

)

select
    coalesce(seeded.kind, expected.kind) as kind,
    coalesce(seeded.rule_id, expected.rule_id) as rule_id,
    seeded.rule_id is null as is_missing_from_seed
from seeded
full outer join expected
    on seeded.kind = expected.kind and seeded.rule_id = expected.rule_id
where seeded.rule_id is null or expected.rule_id is null
