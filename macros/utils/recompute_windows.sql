{#- What each build of an incremental model rewrote, so that tests check those rows only:
    recompute_windows records, per build, the first day (or load time) it recomputed (null:
    the whole table); day_totals records each rewritten day's row count and checksum; the
    view test_windows, made at every run start, gives each model's window for this run's
    tests (none in a full check). -#}

{% macro recompute_windows_relation() %}
    {{ return(var('intake_schema') ~ '.recompute_windows') }}
{% endmacro %}

{% macro day_totals_relation() %}
    {{ return(var('intake_schema') ~ '.day_totals') }}
{% endmacro %}

{% macro test_windows_relation() %}
    {{ return(var('intake_schema') ~ '.test_windows') }}
{% endmacro %}

{% macro is_full_check() %}
    {#- Whether this invocation checks every row: the full_check selector, --full-refresh or
        the var data_test_scope 'all'. -#}
    {%- set scope = var('data_test_scope', 'window') -%}
    {%- if scope not in ('window', 'all') -%}
        {{ exceptions.raise_compiler_error("var data_test_scope must be 'window' or 'all', got '" ~ scope ~ "'") }}
    {%- endif -%}
    {{ return(scope == 'all'
        or flags.FULL_REFRESH
        or invocation_args_dict.get('selector') == 'full_check') }}
{% endmacro %}

{% macro recompute_window_statements() %}
    {#- On-run-start: the two record tables (if missing) and the test_windows view. None on
        Spark: its window marts are tables rebuilt whole, and concurrent inserts into one
        Parquet table collide there, so no window is recorded and every test reads every
        row. -#}
    {%- if target.type == 'spark' -%}
        {{ return([]) }}
    {%- endif -%}
    {%- set text = dbt.type_string() -%}
    {%- set statements = [
        'create table if not exists ' ~ recompute_windows_relation() ~ ' (model_name ' ~ text
            ~ ', window_column ' ~ text ~ ', window_start ' ~ dbt.type_timestamp()
            ~ ', recorded_at ' ~ dbt.type_timestamp() ~ ')',
        'create table if not exists ' ~ day_totals_relation() ~ ' (model_name ' ~ text
            ~ ', day date, row_count ' ~ dbt.type_bigint() ~ ', row_checksum ' ~ dbt.type_bigint()
            ~ ', recorded_at ' ~ dbt.type_timestamp() ~ ')',
    ] -%}
    {#- the latest build's window of each model; no row (every row is checked) in a full check -#}
    {%- do statements.append('create or replace view ' ~ test_windows_relation() ~ ' as
select model_name, window_start
from (
    select
        model_name,
        window_start,
        row_number() over (partition by model_name order by recorded_at desc) as build_rank
    from ' ~ recompute_windows_relation() ~ '
) as builds
where build_rank = 1 and window_start is not null and ' ~ ('1 = 0' if is_full_check() else '1 = 1')) -%}
    {{ return(statements) }}
{% endmacro %}

{% macro record_recompute_window(column, extra_days=0, follows_inputs=true) %}
    {#- Pre-hook of an incremental model: records the first `column` value this build
        recomputes, or null when it builds the whole table. With follows_inputs (the
        account-day models) that is incremental_recompute_date with `extra_days`; else (the
        streamed staging tables, keyed by load time) incremental_lookback_days before the
        newest value the table holds. -#}
    {%- if not execute or target.type == 'spark' -%}
        {{ return('') }}
    {%- endif -%}
    {%- set timestamp = dbt.type_timestamp() -%}
    {%- if not is_incremental() -%}
        {%- set start = 'cast(null as ' ~ timestamp ~ ')' -%}
    {%- elif follows_inputs -%}
        {%- set start = 'cast(' ~ incremental_recompute_date(extra_days, column, announce=false) ~ ' as ' ~ timestamp ~ ')' -%}
    {%- else -%}
        {%- set start = '(select cast(' ~ add_days(-(var('incremental_lookback_days') + extra_days), 'max(' ~ column ~ ')')
            ~ ' as ' ~ timestamp ~ ') from ' ~ this ~ ')' -%}
    {%- endif -%}
    {{ return('insert into ' ~ recompute_windows_relation() ~ " select '" ~ this.identifier ~ "', '"
        ~ column ~ "', " ~ start ~ ', ' ~ dbt.current_timestamp()) }}
{% endmacro %}

{% macro test_window(model_name, column, is_timestamp=false) %}
    {#- The `where` of a data test on a large incremental table: the rows whose `column` is
        in the model's latest recompute window (test_windows), as a literal so the engine
        skips the older row groups; '' (every row) when the model was built whole or the run
        is a full check. -#}
    {%- set start = test_window_start(model_name) -%}
    {%- if start is none -%}
        {{ return('') }}
    {%- endif -%}
    {{ return(column ~ ' >= cast(' ~ sql_string_literal(start.strftime('%Y-%m-%d %H:%M:%S' if is_timestamp else '%Y-%m-%d'))
        ~ ' as ' ~ (dbt.type_timestamp() if is_timestamp else 'date') ~ ')') }}
{% endmacro %}

{% macro test_window_start(model_name) %}
    {#- A model's latest recompute window start (a datetime) from test_windows, or none. -#}
    {%- if not execute -%}
        {{ return(none) }}
    {%- endif -%}
    {%- set found = run_query('select window_start from ' ~ test_windows_relation()
        ~ " where model_name = '" ~ model_name ~ "'") -%}
    {%- if found.rows | length == 0 or found.rows[0][0] is none -%}
        {{ return(none) }}
    {%- endif -%}
    {{ return(as_datetime(found.rows[0][0])) }}
{% endmacro %}

{% macro latest_build_window(model_name) %}
    {#- The window start (a datetime) the model's latest build recorded in
        recompute_windows, or none (a whole build, or no record). -#}
    {%- set found = run_query('select window_start from ' ~ recompute_windows_relation()
        ~ " where model_name = '" ~ model_name ~ "' order by recorded_at desc limit 1") -%}
    {{ return(as_datetime(found.rows[0][0]) if found.rows | length > 0 else none) }}
{% endmacro %}

{% macro as_datetime(value) %}
    {#- A timestamp as the engine's driver returns it (a datetime, or text on some), as a
        datetime; none stays none. -#}
    {%- if value is string -%}
        {{ return(modules.datetime.datetime.fromisoformat(value[:19])) }}
    {%- endif -%}
    {{ return(value) }}
{% endmacro %}

{% macro date_literal(value) %}
    {#- A date (or datetime) as a SQL date literal; none stays none. -#}
    {{ return(("cast('" ~ value.strftime('%Y-%m-%d') ~ "' as date)") if value else none) }}
{% endmacro %}

{% macro row_checksum(columns) %}
    {{ return(adapter.dispatch('row_checksum', 'customer_health')(columns)) }}
{% endmacro %}

{% macro default__row_checksum(columns) %}
    {#- A sum over rows of each row's hash (reduced, so a day's sum fits a bigint). -#}
    {{ return('sum(cast(hash(' ~ columns | join(', ') ~ ') % 1000000007 as ' ~ dbt.type_bigint() ~ '))') }}
{% endmacro %}

{% macro day_checksum_columns(model_name) %}
    {#- The columns of a model's day checksum: its meta `day_checksum_columns`. -#}
    {%- for node in graph.nodes.values() if node.resource_type == 'model' and node.name == model_name -%}
        {%- set columns = node.config.meta.get('day_checksum_columns') -%}
        {%- if not columns -%}
            {{ exceptions.raise_compiler_error(model_name ~ ' has no meta day_checksum_columns (the columns of its day checksum)') }}
        {%- endif -%}
        {{ return(columns) }}
    {%- endfor -%}
    {{ exceptions.raise_compiler_error('day_checksum_columns: no model ' ~ model_name) }}
{% endmacro %}

{% macro record_day_totals(column) %}
    {#- Post-hook of a large incremental model: the row count and checksum (of its meta
        day_checksum_columns) of each day of its latest recompute window (every day after a
        whole build), days left empty included. -#}
    {%- if not execute or target.type == 'spark' -%}
        {{ return('') }}
    {%- endif -%}
    {%- set checksum_columns = day_checksum_columns(this.identifier) -%}
    {#- this build's window (its pre-hook recorded it), as a literal -#}
    {%- set start = latest_build_window(this.identifier) -%}
    {%- set window_start = date_literal(start) -%}
    {%- set rewritten = window_filter(column, window_start) -%}
    {{ return('insert into ' ~ day_totals_relation() ~ '
select
    ' ~ "'" ~ this.identifier ~ "'" ~ ',
    days.day,
    coalesce(totals.row_count, 0),
    coalesce(totals.row_checksum, 0),
    ' ~ dbt.current_timestamp() ~ '
from (
    select ' ~ column ~ ' as day from ' ~ this ~ ' where ' ~ rewritten ~ '
    union
    select day from ' ~ day_totals_relation() ~ " where model_name = '" ~ this.identifier ~ "'"
        ~ (' and day >= ' ~ window_start if start else '') ~ '
) as days
left join (
    select
        ' ~ column ~ ' as day,
        count(*) as row_count,
        ' ~ row_checksum(checksum_columns) ~ ' as row_checksum
    from ' ~ this ~ '
    where ' ~ rewritten ~ '
    group by ' ~ column ~ '
) as totals
    on days.day = totals.day') }}
{% endmacro %}

{% macro default__get_where_subquery(relation) -%}
    {#- dbt's `where` of data tests, plus the recompute window of a large incremental table:
        a test of a model whose meta has `test_window` (the day column, or {column: ...,
        is_timestamp: true, window_of: <the model whose window it is, for a view>}) checks
        the rows of the model's latest recompute window (test_window) unless the test's meta
        says `whole_table: true`. -#}
    {%- set filters = [] -%}
    {%- set where = config.get('where', '') -%}
    {%- if where -%}
        {%- do filters.append('(' ~ where ~ ')') -%}
    {%- endif -%}
    {%- set window = tested_model_window(relation) -%}
    {%- if window -%}
        {%- do filters.append(window) -%}
    {%- endif -%}
    {%- if filters | length == 0 -%}
        {{ return(relation) }}
    {%- endif -%}
    {%- set filtered -%}
        (select * from {{ relation }} where {{ filters | join(' and ') }}) dbt_subquery
    {%- endset -%}
    {{ return(filtered) }}
{%- endmacro %}

{% macro tested_model_window(relation) %}
    {#- The window filter (test_window) of the model `relation` is, when its meta has
        `test_window` and the test's meta does not say `whole_table: true`; else ''. -#}
    {%- if not execute or target.type == 'spark' or (config.get('meta') or {}).get('whole_table') -%}
        {{ return('') }}
    {%- endif -%}
    {%- for node in graph.nodes.values()
        if node.resource_type == 'model'
        and (node.alias or node.name) | lower == (relation.identifier or '') | lower
        and node.schema | lower == (relation.schema or '') | lower -%}
        {%- set spec = node.config.meta.get('test_window') -%}
        {%- if spec is string -%}
            {{ return(test_window(node.name, spec)) }}
        {%- elif spec -%}
            {{ return(test_window(spec.get('window_of', node.name), spec.column, spec.get('is_timestamp', false))) }}
        {%- endif -%}
    {%- endfor -%}
    {{ return('') }}
{% endmacro %}

{% macro upstream_window_start(upstream, truncate_to_week=false) %}
    {#- In an incremental run of a mart replaced by window: the first day it recomputes, as a
        date literal, or none when it recomputes every row. That is the earliest first day
        `upstream` recomputed in its builds since this mart's last build (so a build of the
        mart that failed or was skipped is caught up); none when one of those builds was
        whole or the mart has no record of a build. When `upstream` was not rebuilt since,
        its latest window again. `truncate_to_week`: the Monday of that day's week. -#}
    {%- if not execute or model.resource_type == 'unit_test' or not is_incremental() -%}
        {{ return(none) }}
    {%- endif -%}
    {{ return(date_literal(recorded_upstream_window_start(upstream, truncate_to_week))) }}
{% endmacro %}

{% macro recorded_upstream_window_start(upstream, truncate_to_week=false) %}
    {#- upstream_window_start from the records alone, as a date (none: every row), for any
        model that recorded its builds in recompute_windows (an incremental mart, or a table
        reusing its last build). -#}
    {%- set windows = recompute_windows_relation() -%}
    {%- set found = run_query("
        with own_builds as (
            select max(recorded_at) as last_recorded_at
            from " ~ windows ~ " where model_name = '" ~ this.identifier ~ "'
        ),
        upstream_builds as (
            select window_start, recorded_at
            from " ~ windows ~ " where model_name = '" ~ upstream ~ "'
        ),
        latest_upstream as (
            select window_start
            from (
                select window_start, row_number() over (order by recorded_at desc) as build_rank
                from upstream_builds
            ) as ranked
            where build_rank = 1
        )
        select
            (select last_recorded_at from own_builds) is null as is_first_record,
            count(*) as builds_since,
            sum(case when upstream_builds.window_start is null then 1 else 0 end) as whole_builds,
            min(upstream_builds.window_start) as window_start,
            (select count(*) from latest_upstream) as upstream_records,
            (select count(window_start) from latest_upstream) as latest_windowed,
            (select min(window_start) from latest_upstream) as latest_window_start
        from upstream_builds
        where upstream_builds.recorded_at > coalesce(
            (select last_recorded_at from own_builds), cast('1900-01-01' as timestamp)
        )") -%}
    {%- set row = found.rows[0] -%}
    {%- if row[0] -%}
        {{ return(none) }}
    {%- endif -%}
    {%- if row[1] > 0 -%}
        {%- if row[2] > 0 -%}
            {{ return(none) }}
        {%- endif -%}
        {%- set start = row[3] -%}
    {%- elif row[4] > 0 and row[5] > 0 -%}
        {%- set start = row[6] -%}
    {%- else -%}
        {{ return(none) }}
    {%- endif -%}
    {%- set start = as_datetime(start) -%}
    {%- if truncate_to_week -%}
        {%- set start = start - modules.datetime.timedelta(days=start.weekday()) -%}
    {%- endif -%}
    {{ return(start) }}
{% endmacro %}

{% macro replace_window(upstream, column, truncate_to_week=false, also_delete=none) %}
    {#- Pre-hook of a mart replaced by window (incremental, strategy append, on engines with
        row deletes; a table elsewhere): deletes its rows from the first day it recomputes
        (upstream_window_start; every row when none), so that days left with no row are
        replaced too, and records that day as its recompute window. `also_delete`: a
        condition of the other rows the run recomputes (`{window_start}` stands for the
        day). -#}
    {%- if not execute or target.type == 'spark' -%}
        {{ return('') }}
    {%- endif -%}
    {%- set start = upstream_window_start(upstream, truncate_to_week) -%}
    {%- if is_incremental() -%}
        {%- set condition = '' -%}
        {%- if start -%}
            {%- set condition = ' where ' ~ column ~ ' >= ' ~ start -%}
            {%- if also_delete -%}
                {%- set condition = condition ~ ' or (' ~ also_delete | replace('{window_start}', start) ~ ')' -%}
            {%- endif -%}
        {%- endif -%}
        {{ return('delete from ' ~ this ~ condition ~ ';\n' ~ _window_record(column, start)) }}
    {%- endif -%}
    {{ return(_window_record(column, start)) }}
{% endmacro %}

{% macro record_upstream_window(upstream, column) %}
    {#- Pre-hook of an incremental mart that recomputes from upstream_window_start (not by
        window delete): records that day as its recompute window. -#}
    {%- if not execute or target.type == 'spark' -%}
        {{ return('') }}
    {%- endif -%}
    {{ return(_window_record(column, upstream_window_start(upstream))) }}
{% endmacro %}

{% macro _window_record(column, start) %}
    {%- set timestamp = dbt.type_timestamp() -%}
    {%- set recorded = ('cast(' ~ start ~ ' as ' ~ timestamp ~ ')') if start else ('cast(null as ' ~ timestamp ~ ')') -%}
    {{ return('insert into ' ~ recompute_windows_relation() ~ " select '" ~ this.identifier
        ~ "', '" ~ column ~ "', " ~ recorded ~ ', ' ~ dbt.current_timestamp()) }}
{% endmacro %}

{% macro window_filter(column, start) %}
    {#- `column >= start`, or true when start is none (every row). -#}
    {{ return((column ~ ' >= ' ~ start) if start else '1 = 1') }}
{% endmacro %}
