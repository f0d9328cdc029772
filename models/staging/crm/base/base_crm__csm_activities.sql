{#- The playbook is a seed, not a staged table: as the parent of `play_id` it is wrapped
    with an empty `rejection_reason` (every play is accepted), so a play id that is not in
    it is quarantined as `unknown_play_id`. -#}
{%- set playbook_plays -%}
    (
        select
            play_id,
            cast(null as {{ dbt.type_string() }}) as rejection_reason
        from {{ ref('csm_plays') }}
    ) as playbook_plays
{%- endset -%}
{{
    stage_raw_table('crm', 'csm_activities', parents={
        'account_id': ref('base_crm__accounts'),
        'play_id': playbook_plays,
    })
}}
