with validated_responses as (

    select * from {{ ref('base_surveys__survey_responses') }}
    where rejection_reason is null

),

final as (

    select
        response_id,
        account_id,
        user_id,
        survey_type,
        score as survey_score,
        case
            when survey_type = 'nps' then score >= {{ var('nps_satisfied_min') }}
            when survey_type = 'csat' then score >= {{ var('csat_satisfied_min') }}
        end as is_satisfied,
        cast(responded_at as date) as responded_date,
        responded_at,
        loaded_at
    from validated_responses

)

select * from final
