{#- The incremental strategy of the project: `incremental_strategy='replace_rows'`.

    A model names in its config the rows of the existing table an incremental run replaces
    (`replaced_rows`), and its body selects the rebuilt rows. Replacing, not upserting: some rows
    must disappear (a canceled purchase, a conversion that lost its window), so the replaced rows
    are those of every touched key, whether the body still gives them or not. `replaced_rows` is
      - {'key': <column or list of columns>, 'touched_keys': <macro name>}: the rows whose key
        the macro selects (touched_keys.sql), every row when since_batch() is -1;
      - {'days': <date column>}: the rows of the run's window of days (every row without one).
    DuckDB deletes them and inserts the new rows in the model's transaction; Spark (plain Parquet
    tables: no DELETE) writes the next version of the table beside it and renames it into place. -#}

{#- The replaced rows of the existing table, as a predicate over its columns. -#}
{% macro replaced_rows() -%}
    {%- set rule = config.get('replaced_rows') or {} -%}
    {%- if 'days' in rule -%}
        {{ return(in_date_window(rule['days'])) }}
    {%- endif -%}
    {%- if not rule.get('key') or not rule.get('touched_keys') -%}
        {{ exceptions.raise_compiler_error(this ~ ": replaced_rows needs `days`, or `key` and `touched_keys`") }}
    {%- endif -%}
    {%- set keys = [rule['key']] if rule['key'] is string else rule['key'] -%}
    {%- set touched = context[rule['touched_keys']]() -%}
    {%- if keys | length == 1 -%}
        {%- set touched_rows = keys[0] ~ ' in (' ~ touched ~ ')' -%}
    {%- else -%}
        {#- Null-safe: a version without a lastChange is a key too. -#}
        {%- set names, matches = [], [] -%}
        {%- for key in keys -%}
            {%- do names.append('key_' ~ loop.index) -%}
            {%- do matches.append('touched.key_' ~ loop.index ~ ' is not distinct from ' ~ key) -%}
        {%- endfor -%}
        {%- set touched_rows = 'exists (select 1 from (' ~ touched ~ ') as touched(' ~ names | join(', ')
                               ~ ') where ' ~ matches | join(' and ') ~ ')' -%}
    {%- endif -%}
    {{ return('(' ~ since_batch() ~ ' = -1 or ' ~ touched_rows ~ ')') }}
{%- endmacro %}

{#- DuckDB (dbt-duckdb finds a custom strategy by this name): in the model's transaction, with
    the watermark post-hook. -#}
{% macro get_incremental_replace_rows_sql(arg_dict) -%}
    {%- set columns = arg_dict['dest_columns'] | map(attribute='quoted') | join(', ') -%}
    delete from {{ arg_dict['target_relation'] }} where {{ replaced_rows() }};
    insert into {{ arg_dict['target_relation'] }} ({{ columns }})
    select {{ columns }} from {{ arg_dict['temp_relation'] }}
{%- endmacro %}

{#- Spark: the root project's versions of dbt-spark's two strategy macros (they win over the
    adapter's), so its incremental materialization takes `replace_rows` beside `append`. -#}
{% macro dbt_spark_validate_get_incremental_strategy(raw_strategy, file_format) -%}
    {%- if raw_strategy not in ['append', 'replace_rows'] -%}
        {{ exceptions.raise_compiler_error("Incremental strategy " ~ raw_strategy
                                           ~ " on Spark: this project uses append or replace_rows") }}
    {%- endif -%}
    {{ return(raw_strategy) }}
{%- endmacro %}

{#- Returns the last statement of the strategy, which the materialization runs as `main`; the
    session cursor runs one statement per call, so the others run here, in order. The new rows
    (`source`, a temporary view over the model's body, which may read the table) are computed
    once, into the next version of the table: Spark cannot overwrite a table it reads from. A
    crash after the drop leaves no table: the next run builds it whole, which is correct. The
    whole table is rewritten each run (docs/decisions.md, "Incremental design on Spark"). -#}
{% macro dbt_spark_get_incremental_sql(strategy, source, target, existing, unique_key, incremental_predicates) -%}
    {%- if strategy == 'append' -%}
        {{ return(get_insert_into_sql(source, target)) }}
    {%- endif -%}
    {%- set next = target.incorporate(path={'identifier': target.identifier ~ '__dbt_next'}) -%}
    {%- set columns = adapter.get_columns_in_relation(target) | map(attribute='quoted') | join(', ') -%}
    {%- do run_query('drop table if exists ' ~ next) -%}
    {%- do run_query('create table ' ~ next ~ ' ' ~ table_format() ~ ' as '
                     ~ 'select ' ~ columns ~ ' from ' ~ target ~ ' where (' ~ replaced_rows() ~ ') is not true'
                     ~ ' union all select ' ~ columns ~ ' from ' ~ source) -%}
    {%- do run_query('drop table ' ~ target) -%}
    {{ return('alter table ' ~ next ~ ' rename to ' ~ target) }}
{%- endmacro %}

{#- The storage clause of a table the project creates itself: plain Parquet on Spark. -#}
{% macro table_format() -%}
    {{ return(adapter.dispatch('table_format', 'campaigns')()) }}
{%- endmacro %}

{% macro default__table_format() -%}{%- endmacro %}

{% macro spark__table_format() -%}using parquet{%- endmacro %}

{#- The body's filter on the keys to (re)build: touched keys in an incremental run, everything
    otherwise. A window of days plays no part: new batches are absorbed whole, wherever their
    days fall, so the days of a window come out as a full build gives them. -#}
{% macro rebuild_filter(key_expr, touched_keys) -%}
    {%- if is_incremental() -%}
        ({{ key_expr }} in ({{ touched_keys() }}))
    {%- else -%}
        (1 = 1)
    {%- endif -%}
{%- endmacro %}
