{#- Data tests on the rows a run touched (docs/decisions.md, "Data tests on the rows a run touched").

    A test over a whole fact reads every row, so its cost grows with the history: `unique` on
    fct_reminders.message_id is the slowest node of a daily run. A test may opt in with
    `config: {meta: {touched_keys: <macro of touched_keys.sql>}}`. When the pipeline runs it on
    DuckDB (the var `tests_on_touched_rows`), it reads `pipeline.build_state`'s `tests_after` row:
    the raw batch after which every row has not been tested yet (orchestration/build_state.py).
    The test then looks only at the rows whose key that macro returns for the batches after it:
    every row with such a key, old or new, so a key this run made duplicate is found. A bound of
    -1 (a first or full build, one after a failure, a subset or a window, and once a week), no
    row, a dbt run by hand or the spark engine: every row, as dbt's own macro does. -#}
{% macro default__get_where_subquery(relation) -%}
    {%- set filters = [] -%}
    {%- set where = config.get('where', '') -%}
    {%- if where -%}
        {%- do filters.append(where) -%}
    {%- endif -%}
    {%- set touched_keys = (config.get('meta') or {}).get('touched_keys') -%}
    {%- set after = tests_after_batch() if touched_keys else none -%}
    {%- if after is not none -%}
        {%- do filters.append(model.test_metadata.kwargs.column_name ~ ' in (' ~ context[touched_keys](since=after) ~ ')') -%}
    {%- endif -%}
    {%- if filters -%}
        {%- set filtered -%}
            (select * from {{ relation }} where {{ filters | join(' and ') }}) dbt_subquery
        {%- endset -%}
        {% do return(filtered) %}
    {%- endif -%}
    {% do return(relation) %}
{%- endmacro %}

{#- The raw batch after which this run tests touched rows only; none: every row. -#}
{% macro tests_after_batch() -%}
    {%- if not execute or not var('tests_on_touched_rows', false) -%}
        {{ return(none) }}
    {%- endif -%}
    {%- set found = run_query("select max(raw_batch) from pipeline.build_state where stage = 'tests_after'") -%}
    {%- set after = found.columns[0].values()[0] if found is not none and found.rows | length > 0 else none -%}
    {{ return(after | int if after is not none and after >= 0 else none) }}
{%- endmacro %}
