{#- The optional window of local days a run (re)builds: vars min_date / max_date, half-open
    (>= min_date and < max_date), passed by `campaigns run --start --end`. Null is no bound.

    Only the daily marts heed it (replaced_rows `days`): they recount the rows of those
    days from the intermediate models, which absorb every new batch whatever its days, so the
    window's rows are exactly what a full build gives (docs/decisions.md, "A window of days"). -#}

{% macro _date_var(name) -%}
    {#- A unit test pins a model's logic on its own fixtures, whatever window the run is for. -#}
    {%- if (model or {}).get('resource_type') == 'unit_test' -%}
        {{ return(none) }}
    {%- endif -%}
    {%- set value = var(name, none) -%}
    {%- if value is none or (value | string | trim) in ('', 'None', 'null') -%}
        {{ return(none) }}
    {%- endif -%}
    {%- set text = value | string | trim -%}
    {%- set parsed = modules.datetime.date.fromisoformat(text) -%}
    {{ return(text) }}
{%- endmacro %}

{#- True when this model is a daily mart and the run is restricted to a window of days. -#}
{% macro window_restricts_this_model() -%}
    {%- set rule = ((model or {}).get('config') or {}).get('replaced_rows') or {} -%}
    {{ return('days' in rule and (_date_var('min_date') is not none or _date_var('max_date') is not none)) }}
{%- endmacro %}

{% macro in_date_window(date_expr) -%}
    {%- set conditions = [] -%}
    {%- if _date_var('min_date') is not none -%}
        {%- do conditions.append(date_expr ~ " >= cast('" ~ _date_var('min_date') ~ "' as date)") -%}
    {%- endif -%}
    {%- if _date_var('max_date') is not none -%}
        {%- do conditions.append(date_expr ~ " < cast('" ~ _date_var('max_date') ~ "' as date)") -%}
    {%- endif -%}
    {{ return('(' ~ (conditions | join(' and ') if conditions else '1 = 1') ~ ')') }}
{%- endmacro %}
