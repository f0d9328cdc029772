{% macro weight_grid(categories, steps) %}
    {#- A select of every weight set whose weights are multiples of 1 / steps summing to 1:
        one row per set, `<category>_steps` (0 .. steps) per category and `candidate_id`,
        the steps joined by `/` in category order (`3/2/1/2/2` at steps 10), and
        `candidate_number`, a unique integer for it. With five
        categories that is 1001 sets at steps 10 and 10,626 at steps 20. The steps are an
        inline table (Spark plans a generated number table cross-joined four times very
        slowly). -#}
    {%- set free = categories[:-1] %}
    {%- set free_steps = [] %}
    {%- set id_parts = [] %}
    {%- for category in free %}
        {%- do free_steps.append(category ~ '_weights.weight_step') %}
        {%- do id_parts.append('cast(' ~ category ~ '_weights.weight_step as ' ~ dbt.type_string() ~ ')') %}
        {%- do id_parts.append("'/'") %}
    {%- endfor %}
    {%- set last_steps = steps ~ ' - (' ~ free_steps | join(' + ') ~ ')' %}
    {%- do id_parts.append('cast(' ~ last_steps ~ ' as ' ~ dbt.type_string() ~ ')') %}
    {%- set number_terms = [] %}
    {%- for category in free %}
        {%- do number_terms.append(category ~ '_weights.weight_step * ' ~ (steps + 1) ** loop.index0) %}
    {%- endfor %}
    select
        {{ number_terms | join(' + ') }} as candidate_number,
        {{ dbt.concat(id_parts) }} as candidate_id,
        {%- for category in free %}
        {{ category }}_weights.weight_step as {{ category }}_steps,
        {%- endfor %}
        {{ last_steps }} as {{ categories[-1] }}_steps
    {%- for category in free %}
    {{ 'from' if loop.first else 'cross join' }} {{ literal_rows(category ~ '_weights', 'weight_step', range(steps + 1) | list) }}
    {%- endfor %}
    where {{ free_steps | join(' + ') }} <= {{ steps }}
{% endmacro %}
