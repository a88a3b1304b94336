{#- Money arrives in cents (integers). DuckDB trap: dividing a DECIMAL gives a DOUBLE, so
    multiply by the exact decimal 0.01 and cast: the result is exact. -#}
{% macro money_type() -%}
    decimal(18,2)
{%- endmacro %}

{% macro cents_to_amount(cents) -%}
    cast(({{ cents }}) * 0.01 as {{ money_type() }})
{%- endmacro %}
