{{
    config(
        materialized='incremental',
        incremental_strategy='delete+insert',
        unique_key=['metric_date', 'campaign_id'],
        on_schema_change='fail',
        pre_hook="{{ delete_rows_to_rebuild(date_expr='metric_date') }}"
    )
}}

-- The campaign funnel per local day (SPEC 2): each event counted on its own day.
with calendar as (

    select metric_date, campaign_id
    from {{ ref('int_campaign_days_enumerated') }}

),

{% if is_incremental() and not date_window_is_set() -%}
touched_days as (

    {{ touched_campaign_days() }}

),

-- Rows whose events changed, and calendar rows not built yet (a new day, an earlier first send).
days_to_build as (

    select calendar.metric_date, calendar.campaign_id
    from calendar
    where exists (
            select 1 from touched_days
            where touched_days.metric_date = calendar.metric_date
                and touched_days.campaign_id = calendar.campaign_id
        )
        or not exists (
            select 1 from {{ this }} as built
            where built.metric_date = calendar.metric_date
                and built.campaign_id = calendar.campaign_id
        )

),
{%- else -%}
days_to_build as (

    select metric_date, campaign_id
    from calendar
    where {{ in_date_window('metric_date') }}

),
{%- endif %}

reminders as (

    select *
    from {{ ref('int_reminders_tracked') }}
    where campaign_id in (select campaign_id from days_to_build)

),

reminder_events as (

    select sent_date as metric_date, campaign_id, 'sent' as event_type, user_id
    from reminders
    union all
    select delivered_date, campaign_id, 'delivered', user_id
    from reminders
    where delivered_at is not null
    union all
    select failed_date, campaign_id, 'failed', user_id
    from reminders
    where is_failed
    union all
    select read_date, campaign_id, 'read', user_id
    from reminders
    where read_at is not null
    union all
    select {{ to_local_date('clicks.clicked_at') }}, reminders.campaign_id, 'click', reminders.user_id
    from {{ ref('int_reminder_clicks_unioned') }} as clicks
    inner join reminders on reminders.message_id = clicks.message_id

),

reminder_counts as (

    select
        reminder_events.metric_date,
        reminder_events.campaign_id,
        count(case when event_type = 'sent' then 1 end) as messages_sent,
        count(case when event_type = 'delivered' then 1 end) as messages_delivered,
        count(case when event_type = 'failed' then 1 end) as messages_failed,
        count(case when event_type = 'read' then 1 end) as messages_read,
        count(distinct case when event_type = 'click' then user_id end) as unique_clicks,
        count(case when event_type = 'click' then 1 end) as total_clicks
    from reminder_events
    inner join days_to_build
        on days_to_build.metric_date = reminder_events.metric_date
        and days_to_build.campaign_id = reminder_events.campaign_id
    group by reminder_events.metric_date, reminder_events.campaign_id

),

conversion_counts as (

    select
        conversions.order_date as metric_date,
        conversions.campaign_id,
        count(case when attribution_type = 'assisted' then 1 end) as assisted_conversions,
        count(case when attribution_type = 'click_through' then 1 end) as click_through_conversions,
        count(*) as total_conversions,
        sum(case when attribution_type = 'assisted' then total end) as assisted_conversion_value,
        sum(case when attribution_type = 'click_through' then total end) as click_through_conversion_value,
        sum(total) as total_conversion_value,
        -- Two currencies in one row is a data error, reported by a warning test.
        min(currency) as currency
    from {{ ref('int_purchases_attributed') }} as conversions
    inner join days_to_build
        on days_to_build.metric_date = conversions.order_date
        and days_to_build.campaign_id = conversions.campaign_id
    group by conversions.order_date, conversions.campaign_id

)

select
    days_to_build.metric_date,
    days_to_build.campaign_id,
    coalesce(reminder_counts.messages_sent, 0) as messages_sent,
    coalesce(reminder_counts.messages_delivered, 0) as messages_delivered,
    coalesce(reminder_counts.messages_failed, 0) as messages_failed,
    coalesce(reminder_counts.messages_read, 0) as messages_read,
    coalesce(reminder_counts.unique_clicks, 0) as unique_clicks,
    coalesce(reminder_counts.total_clicks, 0) as total_clicks,
    coalesce(conversion_counts.assisted_conversions, 0) as assisted_conversions,
    coalesce(conversion_counts.click_through_conversions, 0) as click_through_conversions,
    coalesce(conversion_counts.total_conversions, 0) as total_conversions,
    cast(coalesce(conversion_counts.assisted_conversion_value, 0) as {{ money_type() }}) as assisted_conversion_value,
    cast(coalesce(conversion_counts.click_through_conversion_value, 0) as {{ money_type() }}) as click_through_conversion_value,
    cast(coalesce(conversion_counts.total_conversion_value, 0) as {{ money_type() }}) as total_conversion_value,
    conversion_counts.currency
from days_to_build
left join reminder_counts
    on reminder_counts.metric_date = days_to_build.metric_date
    and reminder_counts.campaign_id = days_to_build.campaign_id
left join conversion_counts
    on conversion_counts.metric_date = days_to_build.metric_date
    and conversion_counts.campaign_id = days_to_build.campaign_id
