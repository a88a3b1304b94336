{#- The earlier of two instants, ignoring a null one (null when both are). Not least(): on Trino
    it returns null as soon as one argument is. -#}
{% macro earliest(first, second) -%}
    case
        when {{ first }} is null then {{ second }}
        when {{ second }} is null or {{ first }} <= {{ second }} then {{ first }}
        else {{ second }}
    end
{%- endmacro %}
