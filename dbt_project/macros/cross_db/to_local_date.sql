{#- The local day (in var('timezone'), IANA, DST-correct) of a naive UTC instant.

    DuckDB: timezone('UTC', ts) reads the naive value as UTC and gives a TIMESTAMPTZ;
    timezone(zone, tstz) gives its wall-clock time in `zone`. Casting a string with an offset to
    TIMESTAMP would drop the offset instead, and the session TimeZone plays no part here. -#}
{% macro to_local_date(instant) -%}
    {{ return(adapter.dispatch('to_local_date', 'campaigns')(instant)) }}
{%- endmacro %}

{% macro default__to_local_date(instant) -%}
    {#- In UTC the wall clock is the instant itself: the same date without the zone lookups. -#}
    {%- if local_timezone() == 'UTC' -%}
        cast({{ instant }} as date)
    {%- else -%}
        cast(timezone({{ local_timezone_literal() }}, timezone('UTC', {{ instant }})) as date)
    {%- endif -%}
{%- endmacro %}

{#- Spark: instants are naive UTC `timestamp`s read in the session time zone, which the engine
    sets to UTC (orchestration/spark/session.py); from_utc_timestamp gives the wall clock. -#}
{% macro spark__to_local_date(instant) -%}
    {%- if local_timezone() == 'UTC' -%}
        cast({{ instant }} as date)
    {%- else -%}
        to_date(from_utc_timestamp({{ instant }}, {{ local_timezone_literal() }}))
    {%- endif -%}
{%- endmacro %}

{#- An untested sketch for an engine we may move to. -#}
{% macro trino__to_local_date(instant) -%}
    date(at_timezone(with_timezone({{ instant }}, 'UTC'), {{ local_timezone_literal() }}))
{%- endmacro %}

{% macro local_timezone() -%}
    {{ return((var('timezone', 'UTC') or 'UTC') | string | trim or 'UTC') }}
{%- endmacro %}

{% macro local_timezone_literal() -%}
    '{{ local_timezone() | replace("'", "''") }}'
{%- endmacro %}
