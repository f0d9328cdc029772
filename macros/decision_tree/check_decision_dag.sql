{% macro check_decision_dag(dag, source) %}
    {#- Fails the run listing every problem of a parsed tree (from parse_decision_dag) with
        its line number, in the words of scripts/check_decision_tree.py. -#}
    {%- if dag.errors -%}
        {%- set lines = [] -%}
        {%- for line, message in dag.errors -%}
            {%- do lines.append('  ' ~ source ~ ':line ' ~ line ~ ': ' ~ message) -%}
        {%- endfor -%}
        {{ exceptions.raise_compiler_error(dag.errors | length ~ ' problem(s) in decision tree '
            ~ source ~ ':\n' ~ lines | join('\n')) }}
    {%- endif -%}
{% endmacro %}
