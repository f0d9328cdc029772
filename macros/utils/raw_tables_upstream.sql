{% macro raw_tables_upstream(unique_ids) %}
    {#- The raw tables, as (source, table), that the given nodes read directly or through
        other nodes. A source id stands for its own table; a unit test for the model it
        tests. Walks the manifest's dependencies breadth-first. -#}
    {%- set seen = {} -%}
    {%- set frontier = [] -%}
    {%- set found = {} -%}
    {%- for unique_id in unique_ids -%}
        {%- if unique_id.startswith('unit_test.') -%}
            {%- set parts = unique_id.split('.') -%}
            {%- do frontier.append('model.' ~ parts[1] ~ '.' ~ parts[2]) -%}
        {%- else -%}
            {%- do frontier.append(unique_id) -%}
        {%- endif -%}
    {%- endfor -%}
    {%- for _ in range(1000) if frontier | length > 0 -%}
        {%- set next_ids = [] -%}
        {%- for unique_id in frontier if unique_id not in seen -%}
            {%- do seen.update({unique_id: true}) -%}
            {%- if unique_id in graph.sources -%}
                {%- set node = graph.sources[unique_id] -%}
                {%- do found.update({(node.source_name, node.name): true}) -%}
            {%- elif unique_id in graph.nodes -%}
                {%- do next_ids.extend(graph.nodes[unique_id].depends_on.nodes) -%}
            {%- endif -%}
        {%- endfor -%}
        {%- do frontier.clear() -%}
        {%- do frontier.extend(next_ids) -%}
    {%- endfor -%}
    {{ return(raw_tables() | select('in', found) | list) }}
{% endmacro %}
