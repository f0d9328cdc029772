{% macro check_decision_tree_bindings(dag, bindings, columns) %}
    {#- Bindings by question id, as {signal_column, missing_answer, gap_text, is_boolean}.
        Fails unless every question has exactly one binding to a boolean or text column of
        the signal table whose missing answer is one of the question's answers (the checks
        of customer_health.decision_tree.evaluate.check_bindings). `bindings` is the agate table of the seed
        decision_tree_bindings, `columns` the signal table's columns. -#}
    {%- set column_types = {} -%}
    {%- for column in columns -%}
        {%- do column_types.update({column.name | lower: column}) -%}
    {%- endfor -%}
    {%- set by_question = {} -%}
    {%- set problems = [] -%}
    {%- for row in bindings.rows -%}
        {%- set question_id = row['question_id'] -%}
        {%- set column_name = row['signal_column'] -%}
        {%- set column = column_types.get(column_name | lower) -%}
        {%- set question = dag.questions.get(question_id) -%}
        {%- if question_id in by_question -%}
            {%- do problems.append("question '" ~ question_id ~ "' is bound twice") -%}
        {%- elif question is none -%}
            {%- do by_question.update({question_id: none}) -%}
            {%- do problems.append("binding for unknown question '" ~ question_id ~ "'") -%}
        {%- else -%}
            {%- set is_boolean = column is not none and column.dtype | lower in ['boolean', 'bool'] -%}
            {%- if column is none -%}
                {%- do problems.append("question '" ~ question_id ~ "' is bound to '" ~ column_name
                    ~ "', which is not a column of the signal table") -%}
            {%- elif not (is_boolean or column.is_string()) -%}
                {%- do problems.append("question '" ~ question_id ~ "' is bound to '" ~ column_name
                    ~ "' of type " ~ column.dtype ~ '; bind a boolean or text column') -%}
            {%- endif -%}
            {%- set answers = question.edges | map(attribute='answer') | list -%}
            {%- if row['missing_answer'] not in answers -%}
                {%- do problems.append("missing answer '" ~ row['missing_answer'] ~ "' of '"
                    ~ question_id ~ "' is not one of its answers ('" ~ answers | join("', '")
                    ~ "')") -%}
            {%- endif -%}
            {%- do by_question.update({question_id: {
                'signal_column': column_name,
                'missing_answer': row['missing_answer'],
                'gap_text': question_id ~ ': ' ~ row['missing_reason'],
                'is_boolean': is_boolean,
            }}) -%}
        {%- endif -%}
    {%- endfor -%}
    {%- for question_id in dag.question_ids if question_id not in by_question -%}
        {%- do problems.append("question '" ~ question_id ~ "' has no binding") -%}
    {%- endfor -%}
    {%- if problems -%}
        {{ exceptions.raise_compiler_error(problems | length
            ~ ' problem(s) in the decision tree bindings:\n  ' ~ problems | join('\n  ')) }}
    {%- endif -%}
    {{ return(by_question) }}
{% endmacro %}
