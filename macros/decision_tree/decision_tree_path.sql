{% macro decision_tree_path() %}
    {#- Where the decision tree DSL file is: var `decision_tree_path`, relative to the
        project directory unless absolute or a URL (s3://, dbfs:/ ...). -#}
    {%- set path = var('decision_tree_path') -%}
    {%- if path.startswith('/') or ':/' in path -%}
        {{ return(path) }}
    {%- endif -%}
    {{ return(project_root() ~ '/' ~ path) }}
{% endmacro %}
