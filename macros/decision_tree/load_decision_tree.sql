{% macro load_decision_tree(definition) %}
    {#- The parsed tree held by the relation `definition` (int_decision_tree_definition):
        {dag, source, version}. Fails with line-numbered errors when the DSL is invalid. -#}
    {%- set result = run_query('select dsl_path, dsl_text, decision_tree_version from ' ~ definition) -%}
    {%- if result.rows | length != 1 -%}
        {{ exceptions.raise_compiler_error(definition ~ ' must hold exactly one decision tree') }}
    {%- endif -%}
    {%- set source, text, version = result.rows[0] -%}
    {%- set dag = parse_decision_dag(text) -%}
    {%- do check_decision_dag(dag, source) -%}
    {{ return({'dag': dag, 'source': source, 'version': version}) }}
{% endmacro %}
