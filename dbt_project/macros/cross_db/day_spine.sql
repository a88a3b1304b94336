{#- One row per day from `start_date` to `end_date` (both included), as column `day`. -#}
{% macro day_spine(start_date, end_date) -%}
    {{ return(adapter.dispatch('day_spine', 'campaigns')(start_date, end_date)) }}
{%- endmacro %}

{% macro default__day_spine(start_date, end_date) -%}
    select cast(unnest(generate_series(
        cast({{ start_date }} as timestamp),
        cast({{ end_date }} as timestamp),
        interval 1 day
    )) as date) as day
{%- endmacro %}

{#- Spark's sequence() fails on an end before the start, where DuckDB gives no row. -#}
{% macro spark__day_spine(start_date, end_date) -%}
    select explode(case when cast({{ end_date }} as date) >= cast({{ start_date }} as date) then sequence(
        cast({{ start_date }} as date), cast({{ end_date }} as date), interval 1 day
    ) end) as day
{%- endmacro %}
