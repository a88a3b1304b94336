{#- Schemas are named exactly as the folder says (raw, staging, intermediate, marts): BI tools and
    the report query `marts.*`, so no `<target>_` prefix. -#}
{% macro generate_schema_name(custom_schema_name, node) -%}
    {%- if custom_schema_name is none -%}
        {{ target.schema }}
    {%- else -%}
        {{ custom_schema_name | trim }}
    {%- endif -%}
{%- endmacro %}
