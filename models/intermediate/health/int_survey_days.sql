with survey_responses as (

    select
        account_id,
        survey_type,
        survey_score,
        responded_date
    from {{ ref('stg_surveys__survey_responses') }}

),

-- several users of an account may answer on one day: their average is the day's answer
final as (

    select
        account_id,
        survey_type,
        responded_date,
        avg(cast(survey_score as double)) as survey_score
    from survey_responses
    group by account_id, survey_type, responded_date

)

select * from final
