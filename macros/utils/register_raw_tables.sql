{% macro register_raw_tables() %}
    {#- Run before every dbt command that reads raw data (on-run-start). Checks each raw
        table the selected nodes read against what is there (the pre-flight: one error listing every
        missing required table or column, with its files) and (re)creates one view per table
        in `intake_schema`, in the contract's shape: every contract column as text (typed
        columns rendered as text, a missing optional column null), `_source_file` (the file's
        name) and `_source_file_version` (its size and modification time). An optional table
        without data is an empty view. The sources read these views. -#}
    {%- if not execute or flags.WHICH in ('seed', 'deps', 'clean', 'debug', 'parse', 'list', 'ls', 'run-operation') -%}
        {{ return('') }}
    {%- endif -%}
    {%- set shapes = raw_table_shapes() -%}
    {#- Only the tables the selected nodes read: a selection that reads no raw data (the
        decision tree on its own, a seed) needs none. -#}
    {%- set in_scope = raw_tables_upstream(selected_resources) -%}
    {%- set problems = [] -%}
    {%- for source_name, table_name in in_scope -%}
        {%- set contract = raw_table_contract(source_name, table_name) -%}
        {%- set shape = shapes[table_name] -%}
        {%- do problems.extend(shape.problems) -%}
        {%- if shape.branches | length == 0 and contract.required -%}
            {%- do problems.append(source_name ~ '.' ~ table_name ~ ': required table missing (' ~ shape.location ~ ')') -%}
        {%- endif -%}
        {%- for branch in shape.branches -%}
            {%- for column in contract.columns if column.required and column.raw_name | lower not in branch.columns -%}
                {%- do problems.append(source_name ~ '.' ~ table_name ~ ': required column ' ~ column.raw_name
                    ~ ' missing in ' ~ _name_list(branch.files_missing.get(column.raw_name | lower, branch.files))) -%}
            {%- endfor -%}
        {%- endfor -%}
    {%- endfor -%}
    {%- if problems | length > 0 -%}
        {{ exceptions.raise_compiler_error('The raw data does not meet its contract (docs/raw-data-contract.md):\n  - ' ~ problems | join('\n  - ')) }}
    {%- endif -%}
    {%- set statements = [
        create_schema_statement(var('intake_schema')),
        create_incremental_inputs_statement(),
    ] + ([] if target.type == 'spark' else [create_monthly_keys_statement()]) + recompute_window_statements() -%}
    {%- for source_name, table_name in in_scope -%}
        {%- set contract = raw_table_contract(source_name, table_name) -%}
        {%- do statements.append('create or replace view ' ~ var('intake_schema') ~ '.' ~ table_name ~ ' as\n'
            ~ _intake_view_sql(contract, shapes[table_name].branches)) -%}
    {%- endfor -%}
    {%- for statement in statements -%}
        {%- do run_query(statement) -%}
    {%- endfor -%}
    {{ return('') }}
{% endmacro %}

{% macro _name_list(names) %}
    {%- set names = names | sort | list -%}
    {{ return(names[:5] | join(', ') ~ (' and ' ~ (names | length - 5) ~ ' more' if names | length > 5 else '')) }}
{% endmacro %}

{% macro _intake_view_sql(contract, branches) %}
    {#- The select of one intake view: the union of its branches (a Parquet read, a CSV
        read, or a warehouse table), each giving every contract column as text. -#}
    {%- if branches | length == 0 -%}
        {%- set nulls = [] -%}
        {%- for column in contract.columns -%}
            {%- do nulls.append('cast(null as ' ~ dbt.type_string() ~ ') as ' ~ column.raw_name) -%}
        {%- endfor -%}
        {{ return('select ' ~ nulls | join(', ')
            ~ ', cast(null as ' ~ dbt.type_string() ~ ') as _source_file'
            ~ ', cast(null as ' ~ dbt.type_string() ~ ') as _source_file_version where 1 = 0') }}
    {%- endif -%}
    {%- set selects = [] -%}
    {%- for branch in branches -%}
        {%- set expressions = [] -%}
        {%- for column in contract.columns -%}
            {%- set present = column.raw_name | lower in branch.columns -%}
            {%- if present -%}
                {%- do expressions.append(raw_value_text(column.raw_name, branch.columns[column.raw_name | lower]) ~ ' as ' ~ column.raw_name) -%}
            {%- else -%}
                {%- do expressions.append('cast(null as ' ~ dbt.type_string() ~ ') as ' ~ column.raw_name) -%}
            {%- endif -%}
        {%- endfor -%}
        {%- do expressions.append(branch.file_expression ~ ' as _source_file') -%}
        {%- do expressions.append(branch.version_expression ~ ' as _source_file_version') -%}
        {%- do selects.append('select ' ~ expressions | join(',\n    ') ~ '\nfrom ' ~ branch.relation) -%}
    {%- endfor -%}
    {{ return(selects | join('\nunion all\n')) }}
{% endmacro %}

{% macro raw_value_text(column_name, data_type) %}
    {#- A raw column as text, whatever its type: text as it is; an integral float as its
        digits (a typed 12.0 seat count is 12, as exact as the text `12`); any other float in
        plain decimal notation (no exponent); every other type by the engine's cast to
        text (dates `YYYY-MM-DD`, timestamps `YYYY-MM-DD hh:mm:ss[.f][+hh]`, booleans
        `true`/`false`). -#}
    {%- set type_name = (data_type or '') | lower -%}
    {%- if type_name in ('float', 'double', 'real', 'float4', 'float8', 'double precision') -%}
        {{ return(
            'case when ' ~ column_name ~ ' = floor(' ~ column_name ~ ') and abs(' ~ column_name ~ ') < 1e15'
            ~ ' then cast(cast(' ~ column_name ~ ' as ' ~ dbt.type_bigint() ~ ') as ' ~ dbt.type_string() ~ ')'
            ~ ' else cast(try_cast(' ~ column_name ~ ' as decimal(38, 9)) as ' ~ dbt.type_string() ~ ') end') }}
    {%- elif type_name in ('varchar', 'string', 'text') -%}
        {{ return(column_name) }}
    {%- else -%}
        {{ return('cast(' ~ column_name ~ ' as ' ~ dbt.type_string() ~ ')') }}
    {%- endif -%}
{% endmacro %}

{% macro create_schema_statement(schema_name) %}
    {{ return(adapter.dispatch('create_schema_statement', 'customer_health')(schema_name)) }}
{% endmacro %}

{% macro default__create_schema_statement(schema_name) %}
    {{ return('create schema if not exists ' ~ schema_name) }}
{% endmacro %}

{% macro spark__create_schema_statement(schema_name) %}
    {{ return('create database if not exists ' ~ schema_name) }}
{% endmacro %}

{% macro raw_table_shapes() %}
    {{ return(adapter.dispatch('raw_table_shapes', 'customer_health')()) }}
{% endmacro %}

{% macro duckdb__raw_table_shapes() %}
    {#- DuckDB reads the files under HEALTH_RAW_DIR/<table>/ directly: `*.parquet` (columns
        by name across files) and `*.csv` (with a header; every value text). Any other file
        in a table folder is a problem (never silently skipped); names starting with `.` or
        `_` are the loaders' own and are left alone. -#}
    {%- set raw_dir = env_var('HEALTH_RAW_DIR', 'data/raw').rstrip('/') -%}
    {%- set listing = run_query('select file from glob(' ~ sql_string_literal(raw_dir ~ '/*/*') ~ ') order by file') -%}
    {%- set files_by_table = {} -%}
    {%- for row in listing.rows -%}
        {%- set parts = row[0].split('/') -%}
        {%- set folder = parts[-2] -%}
        {%- do files_by_table.setdefault(folder, []).append(row[0]) -%}
    {%- endfor -%}
    {%- set shapes = {} -%}
    {%- set parquet_files = [] -%}
    {%- for source_name, table_name in raw_tables() -%}
        {%- set shape = {'location': raw_dir ~ '/' ~ table_name ~ '/ has no .parquet or .csv file', 'problems': [], 'branches': [], 'parquet': [], 'csv': []} -%}
        {%- for path in files_by_table.get(table_name, []) -%}
            {%- set name = path.split('/')[-1] -%}
            {%- if name.startswith('.') or name.startswith('_') -%}
            {%- elif (name | lower).endswith('.parquet') -%}
                {%- do shape.parquet.append(path) -%}
                {%- do parquet_files.append(path) -%}
            {%- elif (name | lower).endswith('.csv') -%}
                {%- do shape.csv.append(path) -%}
            {%- else -%}
                {%- do shape.problems.append(source_name ~ '.' ~ table_name ~ ': cannot read ' ~ path ~ ' (a table folder holds .parquet or .csv files)') -%}
            {%- endif -%}
        {%- endfor -%}
        {%- do shapes.update({table_name: shape}) -%}
    {%- endfor -%}
    {#- Column names and types of every Parquet file, in one read of their footers. -#}
    {%- set columns_by_file = {} -%}
    {%- set types_by_file = {} -%}
    {%- if parquet_files | length > 0 -%}
        {%- set schema_rows = run_query('select file_name, lower(name), duckdb_type from parquet_schema(' ~ _sql_list(parquet_files) ~ ') where num_children is null order by file_name, column_id') -%}
        {%- for row in schema_rows.rows -%}
            {%- do columns_by_file.setdefault(row[0], []).append(row[1]) -%}
            {%- do types_by_file.setdefault(row[0], []).append(row[1] ~ ' ' ~ row[2]) -%}
        {%- endfor -%}
    {%- endif -%}
    {%- for source_name, table_name in raw_tables() -%}
        {%- set shape = shapes[table_name] -%}
        {%- set contract = raw_table_contract(source_name, table_name) -%}
        {#- One branch per set of Parquet files with the same column types (each typed value
            is rendered as text by its own type, before files of other types are unioned), and
            one for the CSV files. -#}
        {%- set groups = {} -%}
        {%- for path in shape.parquet -%}
            {%- do groups.setdefault(types_by_file.get(path, []) | sort | join(','), []).append(path) -%}
        {%- endfor -%}
        {%- set readers = [] -%}
        {%- for signature in groups | sort -%}
            {%- set files = groups[signature] -%}
            {%- set columns = {} -%}
            {%- for column_type in types_by_file.get(files[0], []) -%}
                {%- set name_and_type = column_type.split(' ', 1) -%}
                {%- do columns.update({name_and_type[0]: name_and_type[1]}) -%}
            {%- endfor -%}
            {%- do readers.append((files, 'read_parquet(' ~ _sql_list(files) ~ ', union_by_name = true, filename = true)', columns)) -%}
        {%- endfor -%}
        {%- if shape.csv | length > 0 -%}
            {%- set columns = {} -%}
            {%- for path in shape.csv -%}
                {%- set header = run_query('describe select * from read_csv(' ~ sql_string_literal(path) ~ ', header = true, all_varchar = true)') -%}
                {%- for row in header.rows -%}
                    {%- do columns_by_file.setdefault(path, []).append(row[0] | lower) -%}
                    {%- do columns.update({row[0] | lower: 'VARCHAR'}) -%}
                {%- endfor -%}
            {%- endfor -%}
            {%- do readers.append((shape.csv, 'read_csv(' ~ _sql_list(shape.csv) ~ ', header = true, all_varchar = true, union_by_name = true, filename = true)', columns)) -%}
        {%- endif -%}
        {%- for files, reader, columns in readers -%}
            {%- set files_missing = {} -%}
            {%- for column in contract.columns if column.required -%}
                {%- for path in files if column.raw_name | lower not in columns_by_file.get(path, []) -%}
                    {%- do files_missing.setdefault(column.raw_name | lower, []).append(path) -%}
                {%- endfor -%}
                {%- if column.raw_name | lower in files_missing -%}
                    {#- Reported by register_raw_tables with the files that lack it. -#}
                    {%- do columns.pop(column.raw_name | lower, none) -%}
                {%- endif -%}
            {%- endfor -%}
            {#- a file's name and version are worked out once per file, then joined to its rows #}
            {%- do shape.branches.append({
                'relation': '(select rows.*, files._file_name, files._file_version from ' ~ reader ~ ' as rows'
                    ~ ' left join (select filename, regexp_replace(filename, \'^.*/\', \'\') as _file_name,'
                    ~ ' cast(size as varchar) || \'@\' || cast(last_modified as varchar) as _file_version'
                    ~ ' from read_blob(' ~ _sql_list(files) ~ ')) as files on rows.filename = files.filename) as raw_rows',
                'columns': columns,
                'files': files,
                'files_missing': files_missing,
                'file_expression': "raw_rows._file_name",
                'version_expression': "raw_rows._file_version",
            }) -%}
        {%- endfor -%}
    {%- endfor -%}
    {{ return(shapes) }}
{% endmacro %}

{% macro _sql_list(values) %}
    {%- set literals = [] -%}
    {%- for value in values -%}
        {%- do literals.append(sql_string_literal(value)) -%}
    {%- endfor -%}
    {{ return('[' ~ literals | join(', ') ~ ']') }}
{% endmacro %}

{% macro spark__raw_table_shapes() %}
    {#- Spark reads warehouse tables of `raw_schema`. With HEALTH_REGISTER_RAW_TABLES=true
        (the default) each table folder under HEALTH_RAW_DIR is registered first: its file
        list (a binaryFile table, which never reads the contents), `<table>` over its
        `*.parquet` files and `<table>__csv` over its `*.csv` files (header, every value
        text). External tables: dropping one never deletes its files. -#}
    {%- set raw_schema = var('raw_schema') -%}
    {%- set register = env_var('HEALTH_REGISTER_RAW_TABLES', 'true') == 'true' -%}
    {%- set raw_dir = env_var('HEALTH_RAW_DIR', 'data/raw').rstrip('/') -%}
    {%- if not (raw_dir.startswith('/') or '://' in raw_dir) -%}
        {%- set raw_dir = project_root() ~ '/' ~ raw_dir -%}
    {%- endif -%}
    {%- do run_query('create database if not exists ' ~ raw_schema) -%}
    {%- set shapes = {} -%}
    {%- for source_name, table_name in raw_tables() -%}
        {%- set contract = raw_table_contract(source_name, table_name) -%}
        {%- set shape = {'problems': [], 'branches': []} -%}
        {%- set relations = [] -%}
        {%- if register -%}
            {%- set folder = raw_dir ~ '/' ~ table_name -%}
            {%- do shape.update({'location': folder ~ '/ has no .parquet or .csv file'}) -%}
            {%- set listing_table = raw_schema ~ '.' ~ table_name ~ '__files' -%}
            {%- for statement in [
                'drop table if exists ' ~ listing_table,
                'create table ' ~ listing_table ~ ' (path string, modificationTime timestamp, length bigint, content binary)'
                    ~ ' using binaryFile options (path ' ~ sql_string_literal(folder) ~ ')',
            ] -%}
                {%- do run_query(statement) -%}
            {%- endfor -%}
            {%- set listing = run_query('select path from ' ~ listing_table ~ ' order by path') -%}
            {%- set kinds = {'parquet': 0, 'csv': 0} -%}
            {%- for row in listing.rows -%}
                {%- set name = row[0].split('/')[-1] -%}
                {%- if name.startswith('.') or name.startswith('_') -%}
                {%- elif (name | lower).endswith('.parquet') -%}
                    {%- do kinds.update({'parquet': kinds.parquet + 1}) -%}
                {%- elif (name | lower).endswith('.csv') -%}
                    {%- do kinds.update({'csv': kinds.csv + 1}) -%}
                {%- else -%}
                    {%- do shape.problems.append(source_name ~ '.' ~ table_name ~ ': cannot read ' ~ row[0] ~ ' (a table folder holds .parquet or .csv files)') -%}
                {%- endif -%}
            {%- endfor -%}
            {%- for kind, suffix, options in [
                ('parquet', '', "mergeSchema 'true', pathGlobFilter '*.parquet'"),
                ('csv', '__csv', "header 'true', pathGlobFilter '*.csv'"),
            ] -%}
                {%- set relation = raw_schema ~ '.' ~ table_name ~ suffix -%}
                {%- do run_query('drop table if exists ' ~ relation) -%}
                {%- if kinds[kind] > 0 -%}
                    {%- do run_query('create table ' ~ relation ~ ' using ' ~ kind ~ ' options (path '
                        ~ sql_string_literal(folder) ~ ', ' ~ options ~ ')') -%}
                    {%- do relations.append(relation) -%}
                {%- endif -%}
            {%- endfor -%}
        {%- else -%}
            {%- do shape.update({'location': 'no table ' ~ raw_schema ~ '.' ~ table_name}) -%}
            {%- if adapter.get_relation(database=none, schema=raw_schema, identifier=table_name) is not none -%}
                {%- do relations.append(raw_schema ~ '.' ~ table_name) -%}
            {%- endif -%}
        {%- endif -%}
        {%- for relation in relations -%}
            {%- set parts = relation.split('.') -%}
            {%- set columns = {} -%}
            {%- for column in adapter.get_columns_in_relation(api.Relation.create(schema=parts[0], identifier=parts[1])) -%}
                {%- do columns.update({column.name | lower: column.dtype}) -%}
            {%- endfor -%}
            {%- do shape.branches.append({
                'relation': relation,
                'columns': columns,
                'files': [relation],
                'files_missing': {},
                'file_expression': "regexp_replace(input_file_name(), '^.*/', '')",
                'version_expression': "concat(cast(_metadata.file_size as string), '@', cast(_metadata.file_modification_time as string))",
            }) -%}
        {%- endfor -%}
        {%- do shapes.update({table_name: shape}) -%}
    {%- endfor -%}
    {{ return(shapes) }}
{% endmacro %}
