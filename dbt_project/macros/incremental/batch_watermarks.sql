{#- Incremental models process raw batches, not days (docs/decisions.md, "Incremental design").

    Every raw row carries `_batch_id`, one per load and increasing: the raw batch clock.
    `intermediate.batch_watermark_log` is an append-only log (Spark's Parquet tables have no
    UPDATE or DELETE): each run of an incremental model appends (model_name, batch_id, settings,
    recorded_at), the last batch it has absorbed and the settings (time zone, windows) it was
    computed with. A run recomputes the keys touched by the batches in (since_batch, until_batch]:
      - since_batch(): the batch of the model's latest row; -1 when it has none or its settings
        differ, which makes every key touched, i.e. a full recompute;
      - until_batch(): what its inputs have absorbed: the raw clock for views over raw, the
        watermark of an incremental parent. A model never claims more than its parents, so a
        partial run (a Dagster subset, a failure) is caught up by the next one.
    The post-hook appends until_batch() after the model's rows (on DuckDB in their transaction).
    The staging tables (meta `watermark: raw_batches`) depend on neither the settings nor a
    window of days: their watermark ignores both. -#}

{% macro batch_watermark_log() -%}
    intermediate.batch_watermark_log
{%- endmacro %}

{#- on-run-start (one statement per hook). -#}
{% macro create_batch_watermark_log() -%}
    create table if not exists {{ batch_watermark_log() }} (
        model_name string, batch_id bigint, settings string, recorded_at timestamp
    ) {{ table_format() }}
{%- endmacro %}

{#- What a watermark was computed with: changing any of these recomputes everything. -#}
{% macro watermark_settings() -%}
    {%- set settings = 'timezone=' ~ local_timezone()
                      ~ ';assisted_window_hours=' ~ var('assisted_window_hours')
                      ~ ';click_window_hours=' ~ var('click_window_hours') -%}
    {{ return(settings | replace("'", "''")) }}
{%- endmacro %}

{#- The settings a node's watermark is valid for: none for the staging tables. -#}
{% macro _watermark_settings_of(node) -%}
    {%- set meta = ((node or {}).get('config') or {}).get('meta') or {} -%}
    {{ return('' if meta.get('watermark') == 'raw_batches' else watermark_settings()) }}
{%- endmacro %}

{#- The latest row of a model's log, as a subquery (no row: never built). -#}
{% macro _latest_watermark_row(model_name) -%}
    (select batch_id, settings from {{ batch_watermark_log() }} where model_name = '{{ model_name }}'
     order by recorded_at desc limit 1)
{%- endmacro %}

{% macro _watermark_of(schema, identifier, settings) -%}
    {{ return("(select coalesce(max(case when settings = '" ~ settings ~ "' then batch_id end), -1) from "
              ~ _latest_watermark_row(schema ~ '.' ~ identifier) ~ " as latest)") }}
{%- endmacro %}

{#- The newest batch loaded into any raw table (tables whose meta names a batch_column). -#}
{% macro raw_batch_clock() -%}
    {%- set maxima = [] -%}
    {%- for source in (graph.sources.values() if execute else []) if source.source_name == 'raw' -%}
        {%- set batch_column = (source.config.meta or {}).get('batch_column') or (source.meta or {}).get('batch_column') -%}
        {%- if batch_column -%}
            {%- do maxima.append('select max(' ~ batch_column ~ ') as batch_id from ' ~ source.schema ~ '.' ~ source.identifier) -%}
        {%- endif -%}
    {%- endfor -%}
    {%- if not maxima -%}{{ return('0') }}{%- endif -%}
    {{ return('(select coalesce(max(batch_id), 0) from (' ~ maxima | join(' union all ') ~ ') as raw_batches)') }}
{%- endmacro %}

{#- The batch up to which a node's content is up to date, as a SQL expression. -#}
{% macro _node_watermark(unique_id) -%}
    {%- set node = graph.nodes.get(unique_id) -%}
    {%- if node is none -%}
        {{ return(raw_batch_clock()) }}
    {%- endif -%}
    {%- if node.config.materialized == 'incremental' -%}
        {{ return(_watermark_of(node.schema, node.alias or node.name, _watermark_settings_of(node))) }}
    {%- endif -%}
    {#- Views and ephemerals are as fresh as their inputs. -#}
    {{ return(_least_watermark(node.depends_on.nodes)) }}
{%- endmacro %}

{% macro _least_watermark(unique_ids) -%}
    {%- set parts = [] -%}
    {%- for unique_id in unique_ids | unique -%}
        {%- set part = _node_watermark(unique_id) -%}
        {%- if part not in parts -%}{%- do parts.append(part) -%}{%- endif -%}
    {%- endfor -%}
    {%- if not parts -%}{{ return(raw_batch_clock()) }}{%- endif -%}
    {%- if parts | length == 1 -%}{{ return(parts[0]) }}{%- endif -%}
    {{ return('least(' ~ parts | join(', ') ~ ')') }}
{%- endmacro %}

{#- The last batch this model has absorbed; -1: none (recompute every key). -#}
{% macro since_batch() -%}
    {{ return(batch_number(_watermark_of(this.schema, this.identifier, _watermark_settings_of(model)))) }}
{%- endmacro %}

{#- The newest batch this model can absorb now: the least of what its inputs have absorbed. -#}
{% macro until_batch() -%}
    {%- if not execute -%}{{ return('0') }}{%- endif -%}
    {{ return(batch_number(_least_watermark(((model or {}).get('depends_on') or {}).get('nodes') or []))) }}
{%- endmacro %}

{#- A batch expression as the model's SQL uses it: as is on DuckDB; on Spark (every scalar
    subquery a job of its own) its value, read once per model: no watermark moves while a model
    runs, its own is appended last. -#}
{% macro batch_number(expression) -%}
    {{ return(adapter.dispatch('batch_number', 'campaigns')(expression)) }}
{%- endmacro %}

{% macro default__batch_number(expression) -%}{{ return(expression) }}{%- endmacro %}

{% macro spark__batch_number(expression) -%}
    {%- if not execute -%}{{ return(expression) }}{%- endif -%}
    {%- set known = model.setdefault('batch_numbers', {}) -%}
    {%- if expression not in known -%}
        {%- do known.update({expression: run_query('select ' ~ expression).columns[0].values()[0] | string}) -%}
    {%- endif -%}
    {{ return(known[expression]) }}
{%- endmacro %}

{#- Rows of a staging model that arrived in the batches this run absorbs; with `since` (a batch
    expression), in every batch after it (a data test's touched rows: macros/tests/touched_rows.sql). -#}
{% macro in_new_batches(batch_column='_batch_id', since=none) -%}
    {%- if since is not none -%}
    (coalesce({{ batch_column }}, 0) > {{ since }})
    {%- else -%}
    (coalesce({{ batch_column }}, 0) > {{ since_batch() }} and coalesce({{ batch_column }}, 0) <= {{ until_batch() }})
    {%- endif -%}
{%- endmacro %}

{#- Post-hook of every model (a no-op but for incremental ones): append what the model absorbed,
    unless its latest row says so already (a run with nothing new writes nothing). Only the daily
    marts (replaced_rows `days`) heed a window of days: restricted to one, they have not recounted
    the days outside it, so they lower their watermark (the least of theirs and until_batch()),
    or drop it in a first build (-1: the next unrestricted run recounts everything). -#}
{% macro record_batch_watermark() -%}
    {%- if model.config.materialized != 'incremental' -%}{{ return('') }}{%- endif -%}
    {%- set name = this.schema ~ '.' ~ this.identifier -%}
    {%- set settings = _watermark_settings_of(model) -%}
    {%- if not window_restricts_this_model() -%}
        {%- set batch_id = until_batch() -%}
    {%- elif is_incremental() -%}
        {%- set batch_id = 'least(' ~ since_batch() ~ ', ' ~ until_batch() ~ ')' -%}
    {%- else -%}
        {%- set batch_id = '-1' -%}
    {%- endif -%}
    insert into {{ batch_watermark_log() }}
    select '{{ name }}', absorbed.batch_id, '{{ settings }}', cast(current_timestamp as timestamp)
    from (select cast({{ batch_id }} as bigint) as batch_id) as absorbed
    left join {{ _latest_watermark_row(name) }} as latest
        on latest.batch_id = absorbed.batch_id and latest.settings = '{{ settings }}'
    where latest.batch_id is null
{%- endmacro %}
