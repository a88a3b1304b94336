{#- Within each group of `group_by` columns, `column_name` takes at most one distinct value.
    On fct_conversions.currency by (order_date, campaign_id): a (day, campaign) row of the daily
    mart whose conversions are in two currencies, whose values cannot be summed. -#}
{% test at_most_one_value_per_group(model, column_name, group_by) %}

select
    {{ group_by | join(', ') }},
    count(distinct {{ column_name }}) as distinct_values,
    min({{ column_name }}) as first_value,
    max({{ column_name }}) as last_value
from {{ model }}
group by {{ group_by | join(', ') }}
having count(distinct {{ column_name }}) > 1

{% endtest %}
