{#- VTEX orderFormId may arrive as a hyphenated upper-case UUID: lower case, no hyphens, everywhere
    (docs/spec.md section 1.4). An empty value is no id. -#}
{% macro normalize_order_form_id(column) -%}
    nullif(replace(lower(trim({{ column }})), '-', ''), '')
{%- endmacro %}
