{% macro covered_steps(categories, observations_alias, candidates_alias) %}
    {#- Weight steps of a candidate set on the categories an observation has data for
        (`<category>_hundredths` null when the category has none). -#}
    {%- set terms = [] %}
    {%- for category in categories %}
        {%- do terms.append('case when ' ~ observations_alias ~ '.' ~ category ~ '_hundredths is not null then '
            ~ candidates_alias ~ '.' ~ category ~ '_steps else 0 end') %}
    {%- endfor %}
    {{- terms | join('\n            + ') }}
{%- endmacro %}

{% macro weighted_steps(categories, observations_alias, candidates_alias) %}
    {#- Sum of weight steps x sub-score in hundredths over the categories an observation has
        data for: an integer, so every engine gets the same candidate scores. -#}
    {%- set terms = [] %}
    {%- for category in categories %}
        {%- do terms.append(candidates_alias ~ '.' ~ category ~ '_steps * coalesce('
            ~ observations_alias ~ '.' ~ category ~ '_hundredths, 0)') %}
    {%- endfor %}
    {{- terms | join('\n            + ') }}
{%- endmacro %}
