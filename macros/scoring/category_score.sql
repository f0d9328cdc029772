{% macro category_score(category, points_alias='points', rules_alias='rules') %}
    {#- A category's 0-100 sub-score: the points its signals earned, as a share of the
        points those signals could earn. Signals without a value are left out of both sides;
        a category none of whose signals has a value is null (no data). -#}
    {%- set signals = health_signals()[category] %}
    100.0 * (
        {%- for signal in signals %}
        coalesce({{ points_alias }}.{{ signal }}_points, 0){{ ' +' if not loop.last }}
        {%- endfor %}
    ) / nullif(
        {%- for signal in signals %}
        case when {{ points_alias }}.{{ signal }}_points is null then 0 else {{ rules_alias }}.{{ signal }}__max_points end{{ ' +' if not loop.last }}
        {%- endfor %}
        , 0
    )
{% endmacro %}
