{#- The funnel both daily marts share (mart_daily_campaign_metrics by event day,
    mart_campaign_cohorts by send day): the conversion aggregates over int_purchases_attributed
    rows, and the output columns from the reminder counts and those aggregates. -#}

{% macro conversion_aggregates() -%}
        count(case when attribution_type = 'assisted' then 1 end) as assisted_conversions,
        count(case when attribution_type = 'click_through' then 1 end) as click_through_conversions,
        count(*) as total_conversions,
        sum(case when attribution_type = 'assisted' then total end) as assisted_conversion_value,
        sum(case when attribution_type = 'click_through' then total end) as click_through_conversion_value,
        sum(total) as total_conversion_value,
        -- Two currencies in one row is a data error, reported by a warning test.
        min(currency) as currency
{%- endmacro %}

{#- `counts`: the relation holding the reminder counts, or a mapping of each count column to
    the relation that holds it. -#}
{% macro funnel_columns(counts, conversions='conversion_counts') -%}
    {%- for column in ['messages_sent', 'messages_delivered', 'messages_failed', 'messages_read',
                       'unique_clicks', 'total_clicks'] %}
    coalesce({{ counts[column] if counts is mapping else counts }}.{{ column }}, 0) as {{ column }},
    {%- endfor %}
    {%- for column in ['assisted_conversions', 'click_through_conversions', 'total_conversions'] %}
    coalesce({{ conversions }}.{{ column }}, 0) as {{ column }},
    {%- endfor %}
    {%- for column in ['assisted_conversion_value', 'click_through_conversion_value', 'total_conversion_value'] %}
    cast(coalesce({{ conversions }}.{{ column }}, 0) as {{ money_type() }}) as {{ column }},
    {%- endfor %}
    {{ conversions }}.currency
{%- endmacro %}
