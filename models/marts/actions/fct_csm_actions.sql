{#- The CSM action queue: one row per action a play of the playbook (seed csm_plays) opened
    for an account. A trigger of int_csm_play_events opens an action when no action of the
    same account and play is open that day; triggers while one is open are counted on it
    (absorbed_trigger_count). An action closes on the first of: its success metric met
    (done), the CSM's recorded completion of the play (done), a trigger of a play that
    supersedes it (superseded), its expiry (expired); otherwise it is open on the build's
    last scored day. Which triggers open actions is a chain (each action's close decides the
    next one), found without recursion: each trigger's successor is the first trigger after
    its close, and the triggers reached from an account-play's first one are collected by
    doubling the jumps (2^12 actions per account and play at most). The table is rebuilt
    at each run; every date in it is <= the last scored day, so the queue on day D is the
    queue a build of the data up to D shows. A daily run on DuckDB keeps the chain of its
    last build up to each account-play's last action closed before the first trigger day
    int_csm_play_events recomputed since (no trigger before that day changed, so that part
    of the chain cannot change) and chains only the triggers after that action's close
    (macro csm_actions_kept_before). -#}
{%- set doublings = 12 -%}
{%- set text = dbt.type_string() -%}
{%- set kept_before = csm_actions_kept_before() -%}

with plays as (

    select * from {{ ref('csm_plays') }}

),

as_of as (

    select max(score_date) as as_of_date
    from {{ ref('fct_account_health_daily') }}

),

accounts as (

    select
        account_id,
        csm_owner
    from {{ ref('stg_crm__accounts') }}

),

-- each trigger with the day an action it opened would close (null: still open)
closing as (

    select
        events.*,
        as_of.as_of_date,
        case when events.expires_date <= as_of.as_of_date then events.expires_date end
            as expired_date,
        {{ earliest_date('events.success_date', 'events.completed_date') }} as done_date
    from {{ ref('int_csm_play_events') }} as events
    cross join as_of
    where events.play_id is not null

),

events as (

    select
        closing.*,
        {{ earliest_date(
            'closing.done_date',
            earliest_date('closing.superseded_date', 'closing.expired_date')
        ) }} as closed_date
    from closing

),
{%- if kept_before %}

-- the last build's actions closed before the first recomputed trigger day: final
kept_actions as (

    select
        action_id,
        account_id,
        play_id,
        closed_date
    from {{ this }}
    where closed_date < {{ kept_before }}

),

-- each account-play's chain is settled up to its last kept action's close
settled as (

    select
        account_id,
        play_id,
        max(closed_date) as settled_date
    from kept_actions
    group by account_id, play_id

),
{%- endif %}

-- the triggers chained in this run, numbered per account and play: every trigger, or (a
-- daily run) those after the account-play's settled close, the first of which opens the
-- action that follows its last kept one
chained as (

    select
        events.*,
        row_number() over (
            partition by events.account_id, events.play_id order by events.trigger_date
        ) as trigger_seq
    from events
    {%- if kept_before %}
    left join settled
        on
            events.account_id = settled.account_id
            and events.play_id = settled.play_id
    where settled.settled_date is null or events.trigger_date > settled.settled_date
    {%- endif %}

),

-- each trigger's successor: the first trigger of its account and play after its close
probes as (

    select
        account_id,
        play_id,
        trigger_date as probe_date,
        0 as probe_kind,
        trigger_seq,
        cast(null as {{ dbt.type_bigint() }}) as from_seq
    from chained
    union all
    select
        account_id,
        play_id,
        closed_date as probe_date,
        1 as probe_kind,
        cast(null as {{ dbt.type_bigint() }}) as trigger_seq,
        trigger_seq as from_seq
    from chained
    where closed_date is not null

),

successors as (

    select
        account_id,
        play_id,
        from_seq as trigger_seq,
        min(trigger_seq) over (
            partition by account_id, play_id
            order by probe_date, probe_kind
            rows between 1 following and unbounded following
        ) as next_seq,
        probe_kind
    from probes

),

-- step 0 of the doubling: every trigger, its successor and whether it is reached (the
-- first trigger of its account and play is)
chain_0 as (

    select
        chained.account_id,
        chained.play_id,
        chained.trigger_seq,
        successors.next_seq as jump_seq,
        chained.trigger_seq = 1 as is_reached
    from chained
    left join successors
        on
            chained.account_id = successors.account_id
            and chained.play_id = successors.play_id
            and chained.trigger_seq = successors.trigger_seq
            and successors.probe_kind = 1

),

two_roles as (

    select 0 as role_id
    union all
    select 1 as role_id

),

{#- Each step reads the step before once (so no engine plans it twice): every trigger s
    appears as itself (role 0, keyed by s) and as a pointer to its jump target t (role 1,
    keyed by t). Within one key, role 0 holds the target's own jump and role 1 says whether a
    reached trigger points there; grouped back by s, the next step has jump(jump(s)) and
    reached(s) or some reached trigger jumping to s. -#}
{%- for step in range(doublings) %}

chain_{{ step }}_keyed as (

    select
        previous_step.account_id,
        previous_step.play_id,
        previous_step.trigger_seq as source_seq,
        two_roles.role_id as role_in_step,
        case
            when two_roles.role_id = 0 then previous_step.trigger_seq else previous_step.jump_seq
        end as key_seq,
        previous_step.jump_seq,
        previous_step.is_reached
    from chain_{{ step }} as previous_step
    cross join two_roles
    where two_roles.role_id = 0 or previous_step.jump_seq is not null

),

chain_{{ step }}_looked_up as (

    select
        account_id,
        play_id,
        source_seq,
        role_in_step,
        is_reached,
        max(case when role_in_step = 0 then jump_seq end) over (
            partition by account_id, play_id, key_seq
        ) as key_jump_seq,
        max(case when role_in_step = 1 and is_reached then 1 else 0 end) over (
            partition by account_id, play_id, key_seq
        ) as is_reached_by_a_jump
    from chain_{{ step }}_keyed

),

chain_{{ step + 1 }} as {{ materialized_cte() }} (

    select
        account_id,
        play_id,
        source_seq as trigger_seq,
        max(case when role_in_step = 1 then key_jump_seq end) as jump_seq,
        max(
            case
                when role_in_step = 0 and (is_reached or is_reached_by_a_jump = 1) then 1 else 0
            end
        ) = 1 as is_reached
    from chain_{{ step }}_looked_up
    group by account_id, play_id, source_seq

),
{%- endfor %}

-- the triggers that open actions
reached as (

    select chained.trigger_id
    from chain_{{ doublings }} as last_step
    inner join chained
        on
            last_step.account_id = chained.account_id
            and last_step.play_id = chained.play_id
            and last_step.trigger_seq = chained.trigger_seq
    where last_step.is_reached
    {%- if kept_before %}
    union all
    select action_id as trigger_id
    from kept_actions
    {%- endif %}

),

opened as (

    select
        events.*,
        coalesce(
            lead(events.trigger_date) over (
                partition by events.account_id, events.play_id order by events.trigger_date
            ),
            {{ add_days(1, 'events.as_of_date') }}
        ) as next_opened_date
    from events
    inner join reached
        on events.trigger_id = reached.trigger_id

),

absorbed as (

    select
        opened.account_id,
        opened.play_id,
        opened.trigger_date,
        count(*) as absorbed_trigger_count
    from opened
    inner join events as later
        on
            opened.account_id = later.account_id
            and opened.play_id = later.play_id
            and opened.trigger_date < later.trigger_date
            and opened.next_opened_date > later.trigger_date
    group by opened.account_id, opened.play_id, opened.trigger_date

),

actions as (

    select
        opened.*,
        case
            when opened.closed_date is null then 'open'
            when opened.success_date = opened.closed_date then 'done'
            when opened.completed_date = opened.closed_date then 'done'
            when opened.superseded_date = opened.closed_date then 'superseded'
            else 'expired'
        end as action_status,
        case
            when opened.closed_date is null then null
            when opened.success_date = opened.closed_date then 'success_metric_met'
            when opened.completed_date = opened.closed_date then 'recorded_done'
            when opened.superseded_date = opened.closed_date then 'superseded'
            else 'expired'
        end as close_reason
    from opened

),

final as (

    select
        actions.trigger_id as action_id,
        actions.account_id,
        coalesce(accounts.csm_owner, 'Unassigned') as csm_owner,
        actions.play_id,
        plays.play_label,
        plays.trigger_type,
        plays.action as action_text,
        plays.owner_role,
        plays.priority,
        cast(
            {{ round_half_up(
                "plays.priority_weight * coalesce(actions.arr_at_open, 0) * case plays.priority_rule"
                ~ " when 'opportunity_x_arr' then coalesce(actions.expansion_score_at_open, 0) / 100.0"
                ~ " else (100 - coalesce(actions.health_score_at_open, 50)) / 100.0 end",
                2
            ) }} as double
        ) as priority_score,
        plays.success_metric,
        plays.success_description,
        actions.trigger_evidence,
        actions.health_band_at_open,
        actions.health_score_at_open,
        actions.arr_at_open,
        actions.trigger_date as opened_date,
        {{ add_days('plays.due_days', 'actions.trigger_date') }} as due_date,
        actions.expires_date,
        case
            when actions.started_date <= coalesce(actions.closed_date, actions.as_of_date)
                then actions.started_date
        end as started_date,
        actions.action_status,
        actions.close_reason,
        actions.closed_date,
        coalesce(absorbed.absorbed_trigger_count, 0) as absorbed_trigger_count,
        actions.action_status = 'open'
        and {{ add_days('plays.due_days', 'actions.trigger_date') }} < actions.as_of_date
            as is_overdue,
        actions.as_of_date
    from actions
    inner join plays
        on actions.play_id = plays.play_id
    left join accounts
        on actions.account_id = accounts.account_id
    left join absorbed
        on
            actions.account_id = absorbed.account_id
            and actions.play_id = absorbed.play_id
            and actions.trigger_date = absorbed.trigger_date

)

select * from final
