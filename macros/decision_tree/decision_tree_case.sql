{% macro decision_tree_case(dag, output, answer_columns, gap_columns) %}
    {#- A nested CASE that walks the tree from its entry for one output:
        `decision_path` (`Q1:yes>Q2:no`), `outcome_id`, `data_gaps` (the gaps met on the way,
        joined with '; ', null when none) or `data_gap_count`. `answer_columns` and
        `gap_columns` map a question id to the column holding its answer label and its gap
        text (null when the signal was present). An answer without an edge ends the walk:
        no outcome, and a gap naming the answer. -#}
    {%- set no_edge_note = sql_string_literal("'") -%}
    {%- for step in [{'question_id': dag.entry, 'steps': [], 'visited': []}] recursive -%}
        {%- set walk = loop -%}
        {%- set question_id = step.question_id -%}
        {%- set answer = answer_columns[question_id] -%}
        {%- set visited = step.visited + [question_id] -%}
        {%- set gaps = [] -%}
        {%- set flags = [] -%}
        {%- for visited_id in visited -%}
            {%- do gaps.append(gap_columns[visited_id]) -%}
            {%- do flags.append('case when ' ~ gap_columns[visited_id] ~ ' is null then 0 else 1 end') -%}
        {%- endfor %}
        case {{ answer }}
        {%- for edge in dag.questions[question_id].edges %}
            {%- set steps = step.steps + [question_id ~ ':' ~ edge.answer] %}
            when {{ sql_string_literal(edge.answer) }} then
            {%- if not edge.is_outcome %}
                {{ walk([{'question_id': edge.target, 'steps': steps, 'visited': visited}]) }}
            {%- elif output == 'decision_path' %} {{ sql_string_literal(steps | join('>')) }}
            {%- elif output == 'outcome_id' %} {{ sql_string_literal(edge.target) }}
            {%- elif output == 'data_gaps' %} nullif(concat_ws('; ', {{ gaps | join(', ') }}), '')
            {%- else %} {{ flags | join(' + ') }}
            {%- endif %}
        {%- endfor %}
            else
            {%- set prefix = (step.steps | join('>')) ~ ('>' if step.steps else '') ~ question_id ~ ':' %}
            {%- set note = sql_string_literal(question_id ~ ": no edge for answer '") ~ ' || ' ~ answer
                ~ ' || ' ~ no_edge_note %}
            {%- if output == 'decision_path' %} {{ sql_string_literal(prefix) }} || {{ answer }}
            {%- elif output == 'outcome_id' %} cast(null as {{ dbt.type_string() }})
            {%- elif output == 'data_gaps' %} nullif(concat_ws('; ', {{ (gaps + [note]) | join(', ') }}), '')
            {%- else %} {{ (flags + ['1']) | join(' + ') }}
            {%- endif %}
        end
    {%- endfor -%}
{% endmacro %}
