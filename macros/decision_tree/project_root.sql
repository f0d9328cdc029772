{% macro project_root() %}
    {#- The absolute directory of this dbt project, read from the manifest (seed nodes record
        it), so project files are found wherever dbt was started from. Only known at run
        time; at parse time it is '.'. -#}
    {%- if execute -%}
        {%- for node in graph.nodes.values()
            if node.resource_type == 'seed' and node.package_name == project_name
            and node.root_path -%}
            {{ return(node.root_path) }}
        {%- endfor -%}
    {%- endif -%}
    {{ return('.') }}
{% endmacro %}
