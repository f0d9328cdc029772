{% macro decision_tree_check(paths) %}
    {#- Logs `decision_tree_check {"path": ..., "errors": [[line, message], ...]}` for each
        DSL file, parsed by parse_decision_dag. -#}
    {%- for path in paths -%}
        {%- set location = path if path.startswith('/') else project_root() ~ '/' ~ path -%}
        {%- set dag = parse_decision_dag(read_text_file(location)) -%}
        {%- do log('decision_tree_check ' ~ tojson({'path': path, 'errors': dag.errors}), info=true) -%}
    {%- endfor -%}
{% endmacro %}
