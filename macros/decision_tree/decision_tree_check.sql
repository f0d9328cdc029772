{% macro decision_tree_check(paths) %}
    {#- Logs `decision_tree_check {"path": ..., "errors": [[line, message], ...]}` for each
        DSL file, parsed by parse_decision_dag. -#}
    {%- for path in paths -%}
        {%- set dag = parse_decision_dag(read_text_file(decision_tree_path(path))) -%}
        {%- do log('decision_tree_check ' ~ tojson({'path': path, 'errors': dag.errors}), info=true) -%}
    {%- endfor -%}
{% endmacro %}
