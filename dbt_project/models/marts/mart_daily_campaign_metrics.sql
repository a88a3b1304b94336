-- An incremental run replaces every row, or the rows of its window of days.
{{
    config(
        materialized='incremental',
        incremental_strategy='replace_rows',
        on_schema_change='fail',
        replaced_rows={'days': 'metric_date'}
    )
}}

-- The campaign funnel per local day (docs/spec.md section 2): each event counted on its own day.
with calendar as (

    select metric_date, campaign_id
    from {{ ref('int_campaign_days_enumerated') }}

),

-- Every row of the calendar, or those of the window of days when one is given. An incremental
-- run rebuilds every row rather than those new batches touched: the rows are few, and finding
-- which of them a batch touched (every event day of every touched reminder, every campaign of
-- every buyer of a touched purchase) reads more than recounting them all (docs/decisions.md).
days_to_build as (

    select metric_date, campaign_id
    from calendar
    where {{ in_date_window('metric_date') }}

),

-- Each kind of event counted on its own day, straight from the reminders (a group by day and
-- campaign per kind: no row per event).
sent_counts as (

    select sent_date as metric_date, campaign_id, count(*) as messages_sent
    from {{ ref('int_reminders_tracked') }}
    where {{ in_date_window('sent_date') }}
    group by sent_date, campaign_id

),

delivered_counts as (

    select delivered_date as metric_date, campaign_id, count(*) as messages_delivered
    from {{ ref('int_reminders_tracked') }}
    where delivered_at is not null
        and {{ in_date_window('delivered_date') }}
    group by delivered_date, campaign_id

),

failed_counts as (

    select failed_date as metric_date, campaign_id, count(*) as messages_failed
    from {{ ref('int_reminders_tracked') }}
    where is_failed
        and {{ in_date_window('failed_date') }}
    group by failed_date, campaign_id

),

read_counts as (

    select read_date as metric_date, campaign_id, count(*) as messages_read
    from {{ ref('int_reminders_tracked') }}
    where read_at is not null
        and {{ in_date_window('read_date') }}
    group by read_date, campaign_id

),

click_counts as (

    select
        click_date as metric_date,
        campaign_id,
        count(distinct user_id) as unique_clicks,
        count(*) as total_clicks
    from {{ ref('fct_clicks') }}
    where {{ in_date_window('click_date') }}
    group by click_date, campaign_id

),

conversion_counts as (

    select
        conversions.order_date as metric_date,
        conversions.campaign_id,
        {{ conversion_aggregates() }}
    from {{ ref('int_purchases_attributed') }} as conversions
    inner join days_to_build
        on days_to_build.metric_date = conversions.order_date
        and days_to_build.campaign_id = conversions.campaign_id
    group by conversions.order_date, conversions.campaign_id

)

select
    days_to_build.metric_date,
    days_to_build.campaign_id,
    {{ funnel_columns({'messages_sent': 'sent_counts', 'messages_delivered': 'delivered_counts',
                       'messages_failed': 'failed_counts', 'messages_read': 'read_counts',
                       'unique_clicks': 'click_counts', 'total_clicks': 'click_counts'}) }}
from days_to_build
left join sent_counts
    on sent_counts.metric_date = days_to_build.metric_date
    and sent_counts.campaign_id = days_to_build.campaign_id
left join delivered_counts
    on delivered_counts.metric_date = days_to_build.metric_date
    and delivered_counts.campaign_id = days_to_build.campaign_id
left join failed_counts
    on failed_counts.metric_date = days_to_build.metric_date
    and failed_counts.campaign_id = days_to_build.campaign_id
left join read_counts
    on read_counts.metric_date = days_to_build.metric_date
    and read_counts.campaign_id = days_to_build.campaign_id
left join click_counts
    on click_counts.metric_date = days_to_build.metric_date
    and click_counts.campaign_id = days_to_build.campaign_id
left join conversion_counts
    on conversion_counts.metric_date = days_to_build.metric_date
    and conversion_counts.campaign_id = days_to_build.campaign_id
