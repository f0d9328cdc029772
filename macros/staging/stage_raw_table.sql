{% macro stage_raw_table(source_name, table_name, parents={}) %}
    {#- Reads one raw table and returns every row exactly once with its typed columns,
        the raw text of rejected rows (`raw_<column>`) and `rejection_reason` (null when the row is staged).
        Rules come from the table's contract in the sources YAML, checked in this order:
        missing required value, value that is not exactly of its type (`unparseable_`),
        value outside the accepted list, negative amount or count, value outside the
        column's range (meta `min`/`max`; integers at most 2147483647), date before
        `min_plausible_date`, event time after the row's `_loaded_at`, a `_loaded_at` more
        than `load_time_tolerance_hours` after the build's clock, table rules, then each
        parent in `parents` (column -> base model of the parent table, keyed by that
        column): `unknown_<column>` when the parent row does not exist, `orphaned_<column>`
        when it was quarantined, and for the account parent `before_account_created` when
        an event time is before the account's creation day; then duplicates of the primary
        key among the remaining rows: the newest load wins; the others are
        `exact_duplicate` (same text), `near_duplicate` (same typed values, other
        formatting), `superseded_version` (older load) or `conflicting_duplicate`.
        `raw_<column>` is filled for rejected rows only. In a model materialized
        `incremental` (an append-only table, unique_key = its primary key) each row also
        gets `source_file`, and an incremental run stages only what `_incremental_raw_rows`
        selects. -#}
    {%- set source_relation = source(source_name, table_name) -%}
    {%- if not execute -%}
        select * from {{ source_relation }}
        {%- for column_name, relation in parents.items() %} cross join {{ relation }}{% endfor %}
    {%- else -%}
    {%- set contract = raw_table_contract(source_name, table_name) -%}
    {%- set columns = contract.columns -%}
    {%- set payload_columns = columns | rejectattr('name', 'equalto', 'loaded_at') | list -%}
    {%- set checks = [] -%}
    {%- for column in columns if column.required -%}
        {%- do checks.append(("nullif(trim(raw_" ~ column.name ~ "), '') is null", 'missing_' ~ column.name)) -%}
    {%- endfor -%}
    {%- for column in columns if column.type not in ('id', 'text', 'enum') -%}
        {%- do checks.append(("nullif(trim(raw_" ~ column.name ~ "), '') is not null and " ~ column.name ~ " is null", 'unparseable_' ~ column.name)) -%}
    {%- endfor -%}
    {%- for column in columns if column.type == 'enum' -%}
        {%- do checks.append(("nullif(trim(raw_" ~ column.name ~ "), '') is not null and " ~ column.name ~ " is null", 'invalid_' ~ column.name)) -%}
    {%- endfor -%}
    {%- for column in columns if column.non_negative -%}
        {%- do checks.append((column.name ~ " < 0", 'negative_' ~ column.name)) -%}
    {%- endfor -%}
    {%- for column in columns if column.type in ('integer', 'decimal') -%}
        {%- set maximum = column.max if column.max is not none else (2147483647 if column.type == 'integer' else none) -%}
        {%- if maximum is not none -%}
            {%- do checks.append((column.name ~ " > " ~ maximum, 'out_of_range_' ~ column.name)) -%}
        {%- endif -%}
        {%- if column.min is not none -%}
            {%- do checks.append((column.name ~ " < " ~ column.min, 'out_of_range_' ~ column.name)) -%}
        {%- endif -%}
    {%- endfor -%}
    {%- set plausible_floor = health_date_var('min_plausible_date') -%}
    {%- for column in columns if column.type in ('date', 'timestamp') -%}
        {%- do checks.append((column.name ~ " < " ~ plausible_floor, 'too_early_' ~ column.name)) -%}
    {%- endfor -%}
    {%- do checks.append(("loaded_at > " ~ dbt.dateadd('hour', health_number_var('load_time_tolerance_hours'), 'cast(' ~ dbt.current_timestamp() ~ ' as timestamp)'), 'future_loaded_at')) -%}
    {%- for column in columns if column.event_time -%}
        {%- if column.type == 'date' -%}
            {%- do checks.append((column.name ~ " > cast(loaded_at as date)", 'future_' ~ column.name)) -%}
        {%- else -%}
            {%- do checks.append((column.name ~ " > loaded_at", 'future_' ~ column.name)) -%}
        {%- endif -%}
    {%- endfor -%}
    {%- for rule in contract.rules -%}
        {%- do checks.append((rule.condition, rule.reason)) -%}
    {%- endfor -%}

{%- set key_columns = columns | selectattr('name', 'in', contract.primary_key) | list -%}
{%- set key_values = [] -%}
{%- for column in key_columns -%}
    {%- do key_values.append(cast_raw_value(column)) -%}
{%- endfor -%}
{%- set key_hash = row_key_hash(key_values) | trim -%}

{#- Incrementally staged tables (materialized `incremental`: the append-only streamed
    tables) record each row's file, and a run re-stages only the keys it has new rows for. -#}
{%- set by_file = config.get('materialized') == 'incremental' -%}
{%- if by_file -%}
    {%- set unique_key = config.get('unique_key') -%}
    {%- if unique_key is string -%}{%- set unique_key = [unique_key] -%}{%- endif -%}
    {%- if (unique_key or []) | list != contract.primary_key | list -%}
        {{ exceptions.raise_compiler_error('stage_raw_table: an incremental base model of ' ~ source_name ~ '.' ~ table_name ~ ' needs unique_key = ' ~ contract.primary_key ~ ' (its primary key), got ' ~ unique_key) }}
    {%- endif -%}
{%- endif -%}
{%- set incremental_run = by_file and is_incremental() -%}
{#- insert_overwrite (Spark's Parquet tables) replaces whole partitions: the model must be
    partitioned by one key column, and a run re-stages whole partitions of it. -#}
{%- set partition_column = none -%}
{%- if by_file and config.get('incremental_strategy') == 'insert_overwrite' -%}
    {%- set partition_by = config.get('partition_by') -%}
    {%- if partition_by is not string -%}{%- set partition_by = (partition_by or [none]) | first -%}{%- endif -%}
    {%- set partition_columns = key_columns | selectattr('name', 'equalto', partition_by) | list -%}
    {%- if partition_columns | length != 1 -%}
        {{ exceptions.raise_compiler_error('stage_raw_table: with insert_overwrite, ' ~ source_name ~ '.' ~ table_name ~ ' must be partitioned by one column of its primary key ' ~ contract.primary_key ~ ', got ' ~ partition_by) }}
    {%- endif -%}
    {%- set partition_column = partition_columns[0] -%}
{%- endif -%}
{%- if incremental_run -%}
    {%- set plan = _incremental_plan(source_relation, columns, key_columns, parents, partition_column) -%}
    {%- set source_rows_sql = 'incremental_rows' -%}
{%- else -%}
    {%- set source_rows_sql = source_relation -%}
{%- endif -%}

{#- Ranking duplicates needs a sort, so only the rows of keys that occur more than once are
    ranked and every other row passes straight through: a hash aggregate over a 64-bit key
    hash instead of a sort of the whole table (a hash collision only sends a few more rows
    through the ranking, which keeps them). In a full build each branch reads the source
    itself, so no large intermediate result is materialized; an incremental run's few rows
    are selected once (`incremental_rows`). #}
with
{%- for column_name, relation in parents.items() %}

parent_{{ column_name }} as (

    {{ _parent_keys(column_name, relation) }}

),
{%- endfor %}
{%- if incremental_run %}

incremental_rows as (

    {{ _incremental_raw_rows(source_relation, columns, key_columns, key_hash, parents, plan, partition_column) }}

),
{%- endif %}

duplicated_keys as (

    select {{ key_hash }} as duplicated_key_hash
    from {{ source_rows_sql }} as source_rows
    group by {{ key_hash }}
    having count(*) > 1

),

single_key_rows as (

    {{ _checked_raw_rows(columns, checks, parents,
        'select source_rows.* from ' ~ source_rows_sql ~ ' as source_rows'
        ~ ' left join duplicated_keys on ' ~ key_hash ~ ' = duplicated_keys.duplicated_key_hash'
        ~ ' where duplicated_keys.duplicated_key_hash is null', by_file) }}

),

duplicated_key_rows as (

    {{ _checked_raw_rows(columns, checks, parents,
        'select source_rows.* from ' ~ source_rows_sql ~ ' as source_rows'
        ~ ' inner join duplicated_keys on ' ~ key_hash ~ ' = duplicated_keys.duplicated_key_hash', by_file) }}

),

ranked as (

    {%- set key_window -%}
        partition by row_rejection_reason is null, {{ contract.primary_key | join(', ') }}
        order by loaded_at desc, raw_payload
    {%- endset %}

    select
        payloads.*,
        row_number() over ({{ key_window }}) as key_rank,
        first_value(raw_payload) over ({{ key_window }}) as kept_raw_payload,
        first_value(typed_payload) over ({{ key_window }}) as kept_typed_payload,
        first_value(loaded_at) over ({{ key_window }}) as kept_loaded_at
    from (
        select
            duplicated_key_rows.*,
            {{ dbt.concat(payload_text(payload_columns, 'raw_')) }} as raw_payload,
            {{ dbt.concat(payload_text(payload_columns, '')) }} as typed_payload
        from duplicated_key_rows
    ) as payloads

),

{%- set typed_and_raw_columns -%}
    {%- for column in columns %}
        {{ column.name }},
    {%- endfor %}
    {%- if by_file %}
        _source_file,
        _source_file_version,
    {%- endif %}
    {%- for column in columns %}
        raw_{{ column.name }},
    {%- endfor %}
{%- endset %}

resolved as (

    select
        {{- typed_and_raw_columns }}
        case
            when row_rejection_reason is not null then row_rejection_reason
            when key_rank = 1 then null
            when raw_payload = kept_raw_payload then 'exact_duplicate'
            when typed_payload = kept_typed_payload then 'near_duplicate'
            when loaded_at < kept_loaded_at then 'superseded_version'
            else 'conflicting_duplicate'
        end as rejection_reason
    from ranked
    union all
    select
        {{- typed_and_raw_columns }}
        row_rejection_reason as rejection_reason
    from single_key_rows

),

final as (

    select
        {%- for column in columns %}
        {{ column.name }},
        {%- endfor %}
        {%- if by_file %}
        _source_file as source_file,
        _source_file_version as source_file_version,
        {%- endif %}
        {#- raw text only where quarantine needs it #}
        {%- for column in columns %}
        case when rejection_reason is not null then raw_{{ column.name }} end
            as raw_{{ column.name }},
        {%- endfor %}
        rejection_reason
    from resolved

)

select * from final
    {%- endif -%}
{% endmacro %}

{% macro _parent_keys(column_name, relation) %}
    {#- Every key of a parent table (`relation`, a base model keyed by `column_name`),
        whether one of its rows was accepted, and (accounts) the creation day. -#}
    select
        {{ column_name }} as parent_key,
        max(case when rejection_reason is null then 1 else 0 end) as parent_accepted
        {%- if column_name == 'account_id' %},
        min(case when rejection_reason is null then cast(created_at as date) end) as parent_created_date
        {%- endif %}
    from {{ relation }}
    where {{ column_name }} is not null
    group by {{ column_name }}
{% endmacro %}

{% macro _checked_raw_rows(columns, checks, parents, rows_sql, by_file=false) %}
    {#- Typed values, raw text and the first row-level rule broken, for the raw rows that
        `rows_sql` selects; the CTEs `parent_<column>` of `parents` must be in scope, and
        `rows_sql` must have `_source_file` and `_source_file_version` when `by_file`. -#}
    {%- set event_columns = columns | selectattr('event_time') | list -%}
    select
        typed.*,
        case
            {%- for condition, reason in checks %}
            when {{ condition }} then '{{ reason }}'
            {%- endfor %}
            {%- for column_name in parents %}
            when typed.{{ column_name }} is not null and parent_{{ column_name }}.parent_key is null
                then 'unknown_{{ column_name }}'
            when typed.{{ column_name }} is not null and parent_{{ column_name }}.parent_accepted = 0
                then 'orphaned_{{ column_name }}'
            {%- endfor %}
            {%- if 'account_id' in parents %}
            {%- for column in event_columns %}
            when cast(typed.{{ column.name }} as date) < parent_account_id.parent_created_date
                then 'before_account_created'
            {%- endfor %}
            {%- endif %}
        end as row_rejection_reason
    from (
        select
            {%- for column in columns %}
            {{ cast_raw_value(column) }} as {{ column.name }},
            {%- endfor %}
            {%- for column in columns %}
            cast({{ column.raw_name }} as {{ dbt.type_string() }}) as raw_{{ column.name }}{{ "," if not loop.last or by_file }}
            {%- endfor %}
            {%- if by_file %}
            _source_file,
            _source_file_version
            {%- endif %}
        from ({{ rows_sql }}) as raw_rows
    ) as typed
    {%- for column_name in parents %}
    left join parent_{{ column_name }}
        on typed.{{ column_name }} = parent_{{ column_name }}.parent_key
    {%- endfor %}
{% endmacro %}

{% macro _incremental_raw_rows(source_relation, columns, key_columns, key_hash, parents, plan, partition_column=none) %}
    {#- The raw rows an incremental run of an append-only table re-stages, with their file
        (`_source_file`, `_source_file_version`): every row of a file not staged before, and
        every row, from any file, of a key that has a row in such a file or a staged row
        whose parent (`parents`) changed: became known, unknown, accepted or quarantined, or
        (accounts) moved its creation day across the row's event time. Only the files that
        `plan` (from _incremental_plan) names are read: the new files, and the staged files
        holding a row of such a key. The CTEs `parent_<column>` of `parents` must be in scope.
        Rows of a key are always re-staged together, so duplicates are ranked across files.
        Keyed replacement (delete+insert, `partition_column` none): the run's rows replace
        the staged rows of their keys; rows with an empty key come only from new files.
        Partition replacement (insert_overwrite, `partition_column` a key column): the run
        re-stages every raw row of each affected value of that column, and every row where
        it is empty, so each partition it writes is whole. -#}
    {%- set typed_key = key_columns | map(attribute='name') | list -%}
    {%- set key_present = _key_present(key_columns) -%}
    {%- if partition_column is none -%}
        {%- set replaced = key_hash -%}
        {%- set staged_replaced = row_key_hash(typed_key) -%}
    {%- else -%}
        {%- set replaced = cast_raw_value(partition_column) -%}
        {%- set staged_replaced = 'staged.' ~ partition_column.name -%}
    {%- endif -%}
    {%- set new_files = _file_filter('source_rows._source_file', plan.new_files) -%}
    select source_rows.*
    from {{ source_relation }} as source_rows
    where
        {{ _file_filter('source_rows._source_file', plan.read_files) }}
        and (
            {%- if partition_column is none %}
            ({{ new_files }} and not ({{ key_present }}))
            {%- else %}
            {{ replaced }} is null
            {%- endif %}
            or {{ replaced }} in (
                select {{ replaced }}
                from {{ source_relation }} as source_rows
                where
                    {#- keyed: only whole keys; by partition: also rows with an empty key part #}
                    {{ '(' ~ key_present ~ ') and' if partition_column is none }}
                    {{ new_files }}
                {%- if plan.parents_changed %}
                union all
                {{ _parent_changed_keys(parents, columns, staged_replaced) }}
                {%- endif %}
            )
        )
{% endmacro %}

{% macro _key_present(key_columns) %}
    {#- True for a raw row whose every primary-key column has a typed value. -#}
    {%- set present = [] -%}
    {%- for column in key_columns -%}
        {%- do present.append(cast_raw_value(column) ~ ' is not null') -%}
    {%- endfor -%}
    {{ return(present | join(' and ')) }}
{% endmacro %}

{% macro _parent_changed_keys(parents, columns, key_expression) %}
    {#- `key_expression` of the staged rows (`staged`, the model's table) whose parent
        changed since they were staged: a rejected row whose parent is now known and
        accepted, an accepted row whose parent is now unknown or quarantined, and (accounts)
        a row on either side of its account's creation day that has moved. The CTEs
        `parent_<column>` of `parents` must be in scope. -#}
    {%- set event_columns = columns | selectattr('event_time') | list -%}
    {%- for column_name in parents %}
    {{ 'union all' if not loop.first }}
    select {{ key_expression }}
    from {{ this }} as staged
    left join parent_{{ column_name }}
        on staged.{{ column_name }} = parent_{{ column_name }}.parent_key
    where
        (staged.rejection_reason in ('unknown_{{ column_name }}', 'orphaned_{{ column_name }}')
            and parent_{{ column_name }}.parent_accepted = 1)
        or (
            staged.rejection_reason is null
            and staged.{{ column_name }} is not null
            and coalesce(parent_{{ column_name }}.parent_accepted, 0) = 0
        )
        {%- if column_name == 'account_id' %}
        or staged.rejection_reason = 'before_account_created'
        {%- for column in event_columns %}
        or (
            staged.rejection_reason is null
            and cast(staged.{{ column.name }} as date) < parent_account_id.parent_created_date
        )
        {%- endfor %}
        {%- endif %}
    {%- endfor %}
{% endmacro %}

{% macro _file_filter(file_expression, files) %}
    {#- A condition true for the rows of `files` (names), as a literal list the engine can
        prune files by; false when there are none. -#}
    {%- if files | length == 0 -%}
        {{ return('1 = 0') }}
    {%- endif -%}
    {%- set literals = [] -%}
    {%- for name in files | sort -%}
        {%- do literals.append(sql_string_literal(name)) -%}
    {%- endfor -%}
    {{ return(file_expression ~ ' in (' ~ literals | join(', ') ~ ')') }}
{% endmacro %}

{% macro _incremental_plan(source_relation, columns, key_columns, parents, partition_column=none) %}
    {#- Worked out before an incremental run of an append-only table: `new_files` (the
        files not staged before), `read_files` (those and every staged file holding a row of
        a key the run re-stages, or under insert_overwrite a row of an affected partition or
        with an empty partition value) and `parents_changed` (whether a staged row's parent
        changed). Fails, through _new_raw_files, when a staged file is gone or was
        rewritten. A day's delivery reads that day's files and the staged keys, never the
        whole raw history. -#}
    {%- set new_files = _new_raw_files(source_relation) -%}
    {%- set matched = partition_column.name if partition_column is not none else none -%}
    {%- set match_columns = [matched] if matched is not none else key_columns | map(attribute='name') | list -%}
    {%- set key_present = _key_present(key_columns) -%}
    {%- set staged_key = [] -%}
    {%- for name in match_columns -%}
        {%- do staged_key.append('staged.' ~ name ~ ' as ' ~ name) -%}
    {%- endfor -%}
    {%- set raw_key = [] -%}
    {%- for column in key_columns if column.name in match_columns -%}
        {%- do raw_key.append(cast_raw_value(column) ~ ' as ' ~ column.name) -%}
    {%- endfor -%}
    {%- set join_condition = [] -%}
    {%- for name in match_columns -%}
        {%- do join_condition.append('staged.' ~ name ~ ' = affected.' ~ name) -%}
    {%- endfor -%}
    {%- set string_type = dbt.type_string() -%}
    {%- set plan_sql -%}
        with
        {%- for column_name, relation in parents.items() %}
        parent_{{ column_name }} as (
            {{ _parent_keys(column_name, relation) }}
        ),
        {%- endfor %}
        changed_keys as (
            {%- if parents | length > 0 %}
            {{ _parent_changed_keys(parents, columns, staged_key | join(', ')) }}
            {%- else %}
            select {{ staged_key | join(', ') }} from {{ this }} as staged where 1 = 0
            {%- endif %}
        ),
        affected as (
            select distinct {{ raw_key | join(', ') }}
            from {{ source_relation }} as source_rows
            where {{ _file_filter('source_rows._source_file', new_files) }}
                and {{ key_present if matched is none else cast_raw_value(partition_column) ~ ' is not null' }}
            union all
            select * from changed_keys
        )
        select 'changed' as item, cast(count(*) as {{ string_type }}) as value from changed_keys
        union all
        select distinct 'file' as item, staged.source_file as value
        from {{ this }} as staged
        inner join affected on {{ join_condition | join(' and ') }}
        {%- if matched is not none %}
        union all
        select distinct 'file' as item, source_file as value
        from {{ this }}
        where {{ matched }} is null
        {%- endif %}
    {%- endset -%}
    {%- set read_files = new_files | list -%}
    {%- set parents_changed = [false] -%}
    {%- for row in run_query(plan_sql).rows -%}
        {%- if row[0] == 'changed' -%}
            {%- do parents_changed.append(row[1] | int > 0) -%}
        {%- elif row[1] not in read_files -%}
            {%- do read_files.append(row[1]) -%}
        {%- endif -%}
    {%- endfor -%}
    {{ return({'new_files': new_files, 'read_files': read_files | sort, 'parents_changed': parents_changed | last}) }}
{% endmacro %}

{% macro _new_raw_files(source_relation) %}
    {#- The names of the raw files an incremental run has not staged before. Fails when a
        file staged before is gone or was rewritten (its size or modification time changed):
        incrementally staged tables are append-only, and a rewritten history needs
        `--full-refresh`. -#}
    {%- set files_sql -%}
        with staged as (
            select distinct source_file, source_file_version from {{ this }}
        ),

        present as (
            select distinct _source_file as source_file, _source_file_version as source_file_version
            from {{ source_relation }}
        )

        select
            staged.source_file,
            case when present_names.source_file is null then 'gone' else 'rewritten' end as change
        from staged
        left join present
            on staged.source_file = present.source_file
            and staged.source_file_version = present.source_file_version
        left join (select distinct source_file from present) as present_names
            on staged.source_file = present_names.source_file
        where present.source_file is null
        union all
        select present.source_file, 'new' as change
        from present
        left join (select distinct source_file from staged) as staged_names
            on present.source_file = staged_names.source_file
        where staged_names.source_file is null
        order by 1
    {%- endset -%}
    {%- set new_files = [] -%}
    {%- set described = [] -%}
    {%- for row in run_query(files_sql).rows -%}
        {%- if row[1] == 'new' -%}
            {%- do new_files.append(row[0]) -%}
        {%- else -%}
            {%- do described.append(row[0] ~ ' (' ~ row[1] ~ ')') -%}
        {%- endif -%}
    {%- endfor -%}
    {%- if described | length > 0 -%}
        {{ exceptions.raise_compiler_error(this.identifier ~ ' is staged incrementally from append-only files, but ' ~ described | length ~ ' file(s) staged before are gone or were rewritten: ' ~ described[:5] | join(', ') ~ '. Rebuild it with `dbt build --full-refresh --select ' ~ this.identifier ~ '+`.') }}
    {%- endif -%}
    {{ return(new_files) }}
{% endmacro %}
