{% macro drop_superseded_last_active_days() %}
    {#- Post-hook of int_decision_tree_signals after a windowed run: deletes each account's
        rows that are neither a month-end nor its latest day (a last active day the account
        has since moved past). -#}
    {%- if not execute or target.type == 'spark' -%}
        {{ return('') }}
    {%- endif -%}
    {%- if latest_build_window(this.identifier) is none -%}
        {{ return('') }}
    {%- endif -%}
    {{ return('delete from ' ~ this ~ ' as signals using (select account_id, max(as_of_date) as latest_day from '
        ~ this ~ ' group by account_id) as latest where signals.account_id = latest.account_id'
        ~ ' and signals.as_of_date < latest.latest_day and signals.as_of_date != '
        ~ dbt.last_day('signals.as_of_date', 'month')) }}
{% endmacro %}

{% macro decision_tree_rows_replaced() %}
    {#- For replace_window's also_delete in fct_account_health_decision_tree: the rows whose
        account and day int_decision_tree_signals no longer has (a last active day that
        moved on); the model then evaluates every signal row it has no row for. -#}
    {{ return('not exists (select 1 from ' ~ ref('int_decision_tree_signals')
        ~ ' as signals where signals.account_id = ' ~ this ~ '.account_id'
        ~ ' and signals.as_of_date = ' ~ this ~ '.as_of_date)') }}
{% endmacro %}
