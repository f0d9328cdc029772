-- The as-of date must have scored accounts: a build whose scoring date has no active
-- account with a health score (every mart empty for that day, e.g. an as-of date before the
-- first full usage window) fails instead of publishing nothing.
with scoring_date as (

    select max(as_of_date) as as_of_date
    from {{ ref('int_score_dates') }}

),

scored as (

    select count(*) as scored_accounts
    from {{ ref('fct_account_health_daily') }} as daily
    inner join scoring_date
        on daily.score_date = scoring_date.as_of_date
    where daily.health_score is not null

)

select scored_accounts
from scored
where scored_accounts = 0
