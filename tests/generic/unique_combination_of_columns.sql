{% test unique_combination_of_columns(model, combination_of_columns) %}
{#- Fails with one row per combination of the given columns that occurs more than once.
    A hash aggregate over a 64-bit hash of the combination finds the candidates; only
    their rows are then grouped by the columns themselves, so a hash collision can never
    fail the test and tables of tens of millions of rows are checked in seconds. -#}
{%- set key_hash = row_key_hash(combination_of_columns) | trim %}

with candidate_hashes as (

    select {{ key_hash }} as candidate_hash
    from {{ model }}
    group by {{ key_hash }}
    having count(*) > 1

)

select
    {{ combination_of_columns | join(', ') }},
    count(*) as occurrences
from {{ model }}
where {{ key_hash }} in (select candidate_hash from candidate_hashes)
group by {{ combination_of_columns | join(', ') }}
having count(*) > 1

{% endtest %}
