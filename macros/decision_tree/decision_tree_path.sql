{% macro decision_tree_path(path=none) %}
    {#- Where a decision tree DSL file is: `path`, or var `decision_tree_path` when not given,
        relative to the project directory unless absolute or a URL (s3://, dbfs:/ ...). -#}
    {%- set path = path or var('decision_tree_path') -%}
    {%- if path.startswith('/') or ':/' in path -%}
        {{ return(path) }}
    {%- endif -%}
    {{ return(project_root() ~ '/' ~ path) }}
{% endmacro %}
