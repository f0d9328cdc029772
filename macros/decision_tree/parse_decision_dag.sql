{% macro parse_decision_dag(text) %}
    {#- Parses Decision DAG DSL text (grammar in src/customer_health/decision_tree/dsl.py, which this
        mirrors line for line and message for message). Returns a dict: header (field ->
        value), header_lines, entry, questions (id -> {id, text, line, properties, edges}),
        question_ids and outcome_ids in file order, outcomes (id -> {id, label, line,
        properties}) and errors, a list of [line, message] sorted by line. An edge is
        {answer, target, is_outcome, line}. -#}
    {%- set re = modules.re -%}
    {%- set header_fields = [
        'dag', 'version', 'image', 'description', 'tags', 'entry', 'mode', 'locale', 'author'
    ] -%}
    {%- set node_properties = ['hint', 'color', 'description', 'code'] -%}
    {%- set id_pattern = '[A-Za-z0-9_][-A-Za-z0-9_.]*' -%}
    {#- An outcome line or target starts with '['; the patterns match what follows it. -#}
    {%- set outcome_line = '^(' ~ id_pattern ~ ')][ \t]*:[ \t]*(.*)$' -%}
    {%- set key_line = '^(' ~ id_pattern ~ ')[ \t]*:[ \t]*(.*)$' -%}
    {%- set property_line = '^([A-Za-z_][-A-Za-z0-9_]*)[ \t]*:[ \t]*(.*)$' -%}
    {%- set edge_line = '^(.*?)[ \t]*->[ \t]*(.*)$' -%}
    {%- set outcome_ref = '^(' ~ id_pattern ~ ')]$' -%}
    {%- set question_ref = '^(' ~ id_pattern ~ ')$' -%}

    {%- set dag = {
        'header': {}, 'header_lines': {}, 'questions': {}, 'outcomes': {},
        'question_ids': [], 'outcome_ids': [], 'errors': []
    } -%}
    {%- set node_lines = {} -%}
    {%- set errors = [] -%}
    {%- set state = namespace(current=none, current_is_outcome=false) -%}

    {%- for raw in text.splitlines() -%}
        {%- set number = loop.index -%}
        {%- set line = raw.rstrip() -%}
        {%- set stripped = line.strip() -%}
        {%- if not stripped or stripped.startswith('#') or stripped.startswith('//') -%}
            {#- blank or comment -#}
        {%- elif line[:1] not in [' ', '\t'] -%}
            {%- set state.current = none -%}
            {%- set outcome_match = re.match(outcome_line, line[1:]) if line[:1] == '[' else none -%}
            {%- set key_match = re.match(key_line, line) -%}
            {%- if outcome_match -%}
                {%- set node = {
                    'id': outcome_match.group(1), 'label': outcome_match.group(2).strip(),
                    'line': number, 'properties': {}
                } -%}
                {%- set state.current = node -%}
                {%- set state.current_is_outcome = true -%}
            {%- elif key_match and key_match.group(1) in header_fields and not node_lines -%}
                {%- set key = key_match.group(1) -%}
                {%- if key in dag.header -%}
                    {%- do errors.append([number, "duplicate header field '" ~ key
                        ~ "' (first on line " ~ dag.header_lines[key] ~ ")"]) -%}
                {%- else -%}
                    {%- do dag.header.update({key: key_match.group(2).strip()}) -%}
                    {%- do dag.header_lines.update({key: number}) -%}
                {%- endif -%}
            {%- elif key_match and key_match.group(1) in header_fields -%}
                {%- do errors.append([number, "header field '" ~ key_match.group(1)
                    ~ "' after the first question or outcome"]) -%}
            {%- elif key_match -%}
                {%- set node = {
                    'id': key_match.group(1), 'text': key_match.group(2).strip(),
                    'line': number, 'properties': {}, 'edges': []
                } -%}
                {%- if not node.text -%}
                    {%- do errors.append([number, "question '" ~ node.id ~ "' has no text"]) -%}
                {%- endif -%}
                {%- set state.current = node -%}
                {%- set state.current_is_outcome = false -%}
            {%- else -%}
                {%- do errors.append([number, 'cannot read line: ' ~ stripped]) -%}
            {%- endif -%}
            {#- a new question or outcome: register its id unless already taken -#}
            {%- if state.current is not none -%}
                {%- set node = state.current -%}
                {%- set kind = 'outcome' if state.current_is_outcome else 'question' -%}
                {%- if node.id in node_lines -%}
                    {%- do errors.append([number, "duplicate id '" ~ node.id
                        ~ "' (first defined on line " ~ node_lines[node.id] ~ ")"]) -%}
                {%- else -%}
                    {%- do node_lines.update({node.id: number}) -%}
                    {%- do dag[kind ~ 's'].update({node.id: node}) -%}
                    {%- do dag[kind ~ '_ids'].append(node.id) -%}
                {%- endif -%}
            {%- endif -%}
        {%- elif state.current is none -%}
            {%- do errors.append([number, 'indented line outside a question or outcome: '
                ~ stripped]) -%}
        {%- else -%}
            {%- set node = state.current -%}
            {%- set property_match = re.match(property_line, stripped) -%}
            {%- set edge_match = re.match(edge_line, stripped) -%}
            {%- if property_match
                and (property_match.group(1) in node_properties or not edge_match) -%}
                {%- set key = property_match.group(1) -%}
                {%- if key in node.properties -%}
                    {%- do errors.append([number, "duplicate property '" ~ key ~ "' of '"
                        ~ node.id ~ "'"]) -%}
                {%- else -%}
                    {%- do node.properties.update({key: property_match.group(2).strip()}) -%}
                {%- endif -%}
            {%- elif edge_match -%}
                {%- set answer = edge_match.group(1) -%}
                {%- set target = edge_match.group(2).strip() -%}
                {%- set outcome_target = re.match(outcome_ref, target[1:]) if target[:1] == '[' else none -%}
                {%- set question_target = re.match(question_ref, target) -%}
                {%- if state.current_is_outcome -%}
                    {%- do errors.append([number, "outcome '" ~ node.id
                        ~ "' cannot have answers"]) -%}
                {%- elif not answer -%}
                    {%- do errors.append([number, "answer of '" ~ node.id ~ "' has no label"]) -%}
                {%- elif not (outcome_target or question_target) -%}
                    {%- do errors.append([number, "cannot read edge target '" ~ target ~ "'"]) -%}
                {%- elif node.edges | selectattr('answer', 'equalto', answer) | list -%}
                    {%- do errors.append([number, "duplicate answer '" ~ answer ~ "' of '"
                        ~ node.id ~ "'"]) -%}
                {%- elif outcome_target -%}
                    {%- do node.edges.append({'answer': answer,
                        'target': outcome_target.group(1), 'is_outcome': true, 'line': number}) -%}
                {%- else -%}
                    {%- do node.edges.append({'answer': answer, 'target': target,
                        'is_outcome': false, 'line': number}) -%}
                {%- endif -%}
            {%- else -%}
                {%- do errors.append([number, 'cannot read line: ' ~ stripped]) -%}
            {%- endif -%}
        {%- endif -%}
    {%- endfor -%}

    {#- Graph checks: answer edges and their targets, the entry, cycles, reachability. -#}
    {%- for question_id in dag.question_ids -%}
        {%- set question = dag.questions[question_id] -%}
        {%- if not question.edges -%}
            {%- do errors.append([question.line, "question '" ~ question_id
                ~ "' has no answer edge"]) -%}
        {%- endif -%}
        {%- for edge in question.edges -%}
            {%- set known = dag.outcomes if edge.is_outcome else dag.questions -%}
            {%- if edge.target not in known -%}
                {%- set written = '[' ~ edge.target ~ ']' if edge.is_outcome else edge.target -%}
                {%- do errors.append([edge.line, "unknown edge target '" ~ written ~ "': no "
                    ~ ('outcome' if edge.is_outcome else 'question') ~ " '" ~ edge.target
                    ~ "' (answer '" ~ edge.answer ~ "' of '" ~ question_id ~ "')"]) -%}
            {%- endif -%}
        {%- endfor -%}
    {%- endfor -%}

    {%- set entry = dag.header.get('entry') -%}
    {%- do dag.update({'entry': entry}) -%}
    {%- if not entry -%}
        {%- do errors.append([1, "missing header field 'entry'"]) -%}
    {%- elif entry not in dag.questions -%}
        {%- do errors.append([dag.header_lines.entry, "entry '" ~ entry
            ~ "' is not a question"]) -%}
    {%- else -%}
        {#- Depth-first from each question in file order; an edge to a question still open
            on the stack closes a cycle. -#}
        {%- set visit_state = {} -%}
        {%- set stack = [] -%}
        {%- set roots = [] -%}
        {%- for question_id in dag.question_ids -%}
            {%- do roots.append({'target': question_id, 'is_outcome': false, 'line': 0}) -%}
        {%- endfor -%}
        {%- for edge in roots recursive -%}
            {%- if not edge.is_outcome and edge.target in dag.questions -%}
                {%- if visit_state.get(edge.target) == 'open' -%}
                    {%- set cycle = stack[stack.index(edge.target):] + [edge.target] -%}
                    {%- do errors.append([edge.line, 'cycle: ' ~ cycle | join(' -> ')]) -%}
                {%- elif edge.target not in visit_state -%}
                    {%- do visit_state.update({edge.target: 'open'}) -%}
                    {%- do stack.append(edge.target) -%}
                    {%- do loop(dag.questions[edge.target].edges) -%}
                    {%- do stack.pop() -%}
                    {%- do visit_state.update({edge.target: 'done'}) -%}
                {%- endif -%}
            {%- endif -%}
        {%- endfor -%}

        {#- Reachable nodes: a breadth-first pass per question count is enough. -#}
        {%- set reachable = [entry] -%}
        {%- for _ in dag.question_ids -%}
            {%- for question_id in reachable if question_id in dag.questions -%}
                {%- for edge in dag.questions[question_id].edges
                    if edge.target not in reachable -%}
                    {%- do reachable.append(edge.target) -%}
                {%- endfor -%}
            {%- endfor -%}
        {%- endfor -%}
        {%- for node_id in dag.question_ids + dag.outcome_ids if node_id not in reachable -%}
            {%- set node = dag.questions.get(node_id) or dag.outcomes.get(node_id) -%}
            {%- do errors.append([node.line, "'" ~ node_id ~ "' cannot be reached from entry '"
                ~ entry ~ "'"]) -%}
        {%- endfor -%}
    {%- endif -%}

    {%- do dag.errors.extend(errors | sort) -%}
    {{ return(dag) }}
{% endmacro %}
