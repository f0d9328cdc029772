-- One open action per account and play at a time: each action of an account and play opens
-- after the previous one closed. Returns the actions that open while the one before is
-- still open.
with actions as (

    select
        account_id,
        play_id,
        opened_date,
        closed_date,
        lead(opened_date) over (
            partition by account_id, play_id order by opened_date
        ) as next_opened_date
    from {{ ref('fct_csm_actions') }}

)

select * from actions
where
    next_opened_date is not null
    and (closed_date is null or next_opened_date <= closed_date)
