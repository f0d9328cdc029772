{% macro relations_are_built(relations) %}
    {#- Whether every relation exists, for macros that read tables while compiling. In a
        `run` or `build` a missing one is an error (it should have been built first); in
        `compile`, `docs generate` or a linter on an empty warehouse the caller falls back
        to placeholder SQL. False at parse time. -#}
    {%- if not execute -%}
        {{ return(false) }}
    {%- endif -%}
    {%- set missing = [] -%}
    {%- for relation in relations if load_relation(relation) is none -%}
        {%- do missing.append(relation | string) -%}
    {%- endfor -%}
    {%- if missing and flags.WHICH in ['run', 'build'] -%}
        {{ exceptions.raise_compiler_error('not built yet: ' ~ missing | join(', ')
            ~ ' (build the upstream models and seeds first)') }}
    {%- endif -%}
    {{ return(not missing) }}
{% endmacro %}
