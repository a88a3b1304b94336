{#- Incremental models process raw batches, not days.

    Every raw row carries `_batch_id`, one per load and increasing: the raw batch clock.
    `intermediate.batch_watermarks` holds, per incremental model, the last batch whose changes the
    model has absorbed (and the settings it was computed with: time zone and windows). A run of
    the model recomputes the keys touched by the batches in (since_batch, until_batch]:
      - since_batch(): its own watermark; -1 when it has none or the settings changed, which
        makes every key touched, i.e. a full recompute;
      - until_batch(): what its inputs have absorbed: the raw clock for views over raw, the
        watermark of an incremental parent. A model never claims more than its parents, so a
        partial run (a Dagster subset, a failure) is caught up by the next one.
    The post-hook records until_batch() in the same transaction as the model's rows.

    The staging tables (meta `watermark: raw_batches`) only absorb raw batches: their content
    depends on neither the settings nor a window of days, so their watermark ignores both. -#}

{% macro batch_watermarks_table() -%}
    intermediate.batch_watermarks
{%- endmacro %}

{% macro create_batch_watermarks_table() -%}
    create schema if not exists intermediate;
    create table if not exists {{ batch_watermarks_table() }} (
        model_name varchar primary key,
        batch_id bigint not null,
        settings varchar not null,
        recorded_at timestamp not null
    )
{%- endmacro %}

{#- What a watermark was computed with: changing any of these recomputes everything. -#}
{% macro watermark_settings() -%}
    {%- set settings = 'timezone=' ~ local_timezone()
                      ~ ';assisted_window_hours=' ~ var('assisted_window_hours')
                      ~ ';click_window_hours=' ~ var('click_window_hours') -%}
    {{ return(settings | replace("'", "''")) }}
{%- endmacro %}

{#- True for a model whose watermark counts raw batches only (the staging tables). -#}
{% macro _watermark_is_raw_batches(node) -%}
    {%- set meta = ((node or {}).get('config') or {}).get('meta') or {} -%}
    {{ return(meta.get('watermark') == 'raw_batches') }}
{%- endmacro %}

{#- The settings a node's watermark is valid for: none for the staging tables. -#}
{% macro _watermark_settings_of(node) -%}
    {{ return('' if _watermark_is_raw_batches(node) else watermark_settings()) }}
{%- endmacro %}

{% macro _watermark_of(schema, identifier, settings) -%}
    {{ return("(select coalesce(max(batch_id), -1) from " ~ batch_watermarks_table()
              ~ " where model_name = '" ~ schema ~ "." ~ identifier ~ "'"
              ~ " and settings = '" ~ settings ~ "')") }}
{%- endmacro %}

{#- The newest batch loaded into any raw table (tables whose meta names a batch_column). -#}
{% macro raw_batch_clock() -%}
    {%- set maxima = [] -%}
    {%- if execute -%}
        {%- for source in graph.sources.values() if source.source_name == 'raw' -%}
            {%- set batch_column = (source.config.meta or {}).get('batch_column') or (source.meta or {}).get('batch_column') -%}
            {%- if batch_column -%}
                {%- do maxima.append('select max(' ~ batch_column ~ ') as batch_id from '
                                     ~ source.schema ~ '.' ~ source.identifier) -%}
            {%- endif -%}
        {%- endfor -%}
    {%- endif -%}
    {%- if not maxima -%}{{ return('0') }}{%- endif -%}
    {{ return('(select coalesce(max(batch_id), 0) from (' ~ maxima | join(' union all ') ~ ') as raw_batches)') }}
{%- endmacro %}

{#- The batch up to which a node's content is up to date, as a SQL expression. -#}
{% macro _node_watermark(unique_id) -%}
    {%- if unique_id.startswith('source.') -%}
        {{ return(raw_batch_clock()) }}
    {%- endif -%}
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
    {{ return(_watermark_of(this.schema, this.identifier, _watermark_settings_of(model))) }}
{%- endmacro %}

{#- The newest batch this model can absorb now: the least of what its inputs have absorbed. -#}
{% macro until_batch() -%}
    {%- if not execute -%}{{ return('0') }}{%- endif -%}
    {{ return(_least_watermark(((model or {}).get('depends_on') or {}).get('nodes') or [])) }}
{%- endmacro %}

{#- Rows of a staging model that arrived in the batches this run absorbs. -#}
{% macro in_new_batches(batch_column='_batch_id') -%}
    (coalesce({{ batch_column }}, 0) > {{ since_batch() }} and coalesce({{ batch_column }}, 0) <= {{ until_batch() }})
{%- endmacro %}

{#- Post-hook of every model (a no-op but for incremental ones): record what the model absorbed,
    in the same transaction as its rows. Only the daily marts (meta `window_of_days`) heed a
    window of days: restricted to one, they have not recounted the days outside it, so they never
    raise their watermark, and a restricted first build drops it (the next unrestricted run
    recounts everything). Every other model absorbs whole batches whatever the window. -#}
{% macro record_batch_watermark() -%}
    {%- if model.config.materialized != 'incremental' -%}{{ return('') }}{%- endif -%}
    {%- set name = this.schema ~ '.' ~ this.identifier -%}
    {%- if not window_restricts_this_model() -%}
        insert or replace into {{ batch_watermarks_table() }} (model_name, batch_id, settings, recorded_at)
        select '{{ name }}', {{ until_batch() }}, '{{ _watermark_settings_of(model) }}', cast(now() as timestamp)
    {%- elif is_incremental() -%}
        update {{ batch_watermarks_table() }}
        set batch_id = least(batch_id, {{ until_batch() }})
        where model_name = '{{ name }}'
    {%- else -%}
        delete from {{ batch_watermarks_table() }} where model_name = '{{ name }}'
    {%- endif -%}
{%- endmacro %}

{#- Pre-hook of incremental models: delete the rows this run rebuilds, including keys that may
    have stopped existing (a canceled purchase, a conversion that lost its attribution), which a
    delete+insert on the new rows alone would leave behind. `touched_keys` is the macro that
    selects the touched keys (called only when needed); `date_expr` the day column of a daily
    mart, whose rows in the window of days are rebuilt when one is given. -#}
{% macro delete_rows_to_rebuild(key_expr=none, touched_keys=none, date_expr=none) -%}
    {%- if is_incremental() -%}
        delete from {{ this }} where
        {%- if window_restricts_this_model() %} {{ in_date_window(date_expr) }}
        {%- else %} {{ since_batch() }} = -1
            {%- if touched_keys %} or {{ key_expr }} in ({{ touched_keys() }}){%- endif -%}
        {%- endif -%}
    {%- endif -%}
{%- endmacro %}

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
