{#- The decision tree as read from its DSL file (var decision_tree_path) on this run: the
    text, its header fields and a version stamp. Parsing here makes an invalid file fail the
    build early, with line-numbered errors. -#}
{%- set tree_vars = [
    'decision_tree_adoption_min_rate', 'decision_tree_engagement_days',
    'decision_tree_survey_days', 'decision_tree_max_open_tickets',
    'decision_tree_max_ticket_age_days', 'decision_tree_renewal_days', 'nps_satisfied_min',
    'csat_satisfied_min',
] -%}
{%- set bindings = ref('decision_tree_bindings') -%}
{%- set tree = {'path': var('decision_tree_path'), 'text': '', 'header': {}, 'stamp': ''} -%}
{%- if relations_are_built([bindings]) -%}
    {%- set text = read_text_file(decision_tree_path()) -%}
    {%- set dag = parse_decision_dag(text) -%}
    {%- do check_decision_dag(dag, var('decision_tree_path')) -%}
    {#- The stamp changes with the file, the bindings or any threshold. -#}
    {%- set binding_rows = run_query(
        'select question_id, signal_column, missing_answer, missing_reason from ' ~ bindings
        ~ ' order by question_id'
    ) -%}
    {%- set settings = [] -%}
    {%- for name in tree_vars -%}
        {%- do settings.append(name ~ '=' ~ var(name)) -%}
    {%- endfor -%}
    {%- for row in binding_rows.rows -%}
        {%- do settings.append(row.values() | join('|')) -%}
    {%- endfor -%}
    {%- do tree.update({
        'text': text,
        'header': dag.header,
        'questions': dag.question_ids | length,
        'outcomes': dag.outcome_ids | length,
        'stamp': (dag.header.get('version') or 'unversioned') ~ '+'
            ~ local_md5(text ~ '\n' ~ settings | join('\n'))[:10],
    }) -%}
{%- endif %}

with final as (

    select
        {{ sql_string_literal(tree.path) }} as dsl_path,
        {{ sql_string_literal(tree.text) }} as dsl_text,
        {{ sql_string_literal(tree.header.get('dag', '')) }} as tree_name,
        {{ sql_string_literal(tree.header.get('version', '')) }} as tree_version,
        {{ sql_string_literal(tree.header.get('entry', '')) }} as entry_question_id,
        {{ sql_string_literal(tree.stamp) }} as decision_tree_version,
        {{ tree.get('questions', 0) }} as question_count,
        {{ tree.get('outcomes', 0) }} as outcome_count

)

select * from final
