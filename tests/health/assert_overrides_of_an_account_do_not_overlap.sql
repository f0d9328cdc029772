-- No account has two CSM overrides in force on the same day.
with overrides as (

    select
        override_id,
        account_id,
        valid_from,
        expires_at
    from {{ ref('health_score_overrides') }}

)

select
    earlier.account_id,
    earlier.override_id,
    later.override_id as overlapping_override_id
from overrides as earlier
inner join overrides as later
    on
        earlier.account_id = later.account_id
        and earlier.override_id < later.override_id
        and earlier.valid_from < later.expires_at
        and earlier.expires_at > later.valid_from
