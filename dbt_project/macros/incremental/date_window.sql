{#- The optional window of local days a run (re)builds: vars min_date / max_date, half-open
    (>= min_date and < max_date), passed by `campaigns run --start --end`. Null is no bound. -#}

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

{% macro date_window_is_set() -%}
    {{ return(_date_var('min_date') is not none or _date_var('max_date') is not none) }}
{%- endmacro %}

{% macro in_date_window(date_expr) -%}
    {%- set conditions = [] -%}
    {%- if _date_var('min_date') is not none -%}
        {%- do conditions.append(date_expr ~ " >= cast('" ~ _date_var('min_date') ~ "' as date)") -%}
    {%- endif -%}
    {%- if _date_var('max_date') is not none -%}
        {%- do conditions.append(date_expr ~ " < cast('" ~ _date_var('max_date') ~ "' as date)") -%}
    {%- endif -%}
    {{ return('(' ~ (conditions | join(' and ') if conditions else 'true') ~ ')') }}
{%- endmacro %}
