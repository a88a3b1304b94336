{#- dbt's own cross-database macros, where dbt-spark's differ from what the models need (the
    project's dispatch config searches this project first for the `dbt` namespace). DuckDB's
    are untouched. -#}

{#- dbt-spark's dateadd drops the microseconds of a timestamp. -#}
{% macro spark__dateadd(datepart, interval, from_date_or_timestamp) -%}
    timestampadd({{ datepart }}, {{ interval }}, {{ from_date_or_timestamp }})
{%- endmacro %}

{#- dbt-spark's safe_cast is a plain cast, which throws on bad input under Spark 4's ANSI mode. -#}
{% macro spark__safe_cast(field, type) -%}
    try_cast({{ field }} as {{ type }})
{%- endmacro %}
