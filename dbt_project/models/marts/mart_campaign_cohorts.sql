-- An incremental run replaces every row, or the rows of its window of days.
{{
    config(
        materialized='incremental',
        incremental_strategy='replace_rows',
        on_schema_change='fail',
        replaced_rows={'days': 'send_date'}
    )
}}

-- The campaign funnel per cohort: the reminders sent on a local day, and everything that
-- happened to them since, whatever the day it happened.
with calendar as (

    select metric_date as send_date, campaign_id
    from {{ ref('int_campaign_days_enumerated') }}

),

-- Every cohort of the calendar, or those of the window of days when one is given. An
-- incremental run rebuilds every cohort rather than those new batches touched: the rows are
-- few, and finding which of them a batch touched (the cohort of every touched reminder and of
-- every reminder of every buyer of a touched purchase) reads more than recounting them all
-- (docs/decisions.md).
cohorts_to_build as (

    select send_date, campaign_id
    from calendar
    where {{ in_date_window('send_date') }}

),

reminder_counts as (

    select
        sent_date as send_date,
        campaign_id,
        count(*) as messages_sent,
        count(delivered_at) as messages_delivered,
        count(case when is_failed then 1 end) as messages_failed,
        count(read_at) as messages_read,
        count(distinct case when click_count > 0 then user_id end) as unique_clicks,
        cast(sum(click_count) as {{ dbt.type_bigint() }}) as total_clicks
    from {{ ref('int_reminders_tracked') }}
    where {{ in_date_window('sent_date') }}
    group by sent_date, campaign_id

),

conversion_counts as (

    select
        reminders.sent_date as send_date,
        reminders.campaign_id,
        {{ conversion_aggregates() }}
    from {{ ref('int_purchases_attributed') }} as conversions
    inner join {{ ref('int_reminders_tracked') }} as reminders
        on reminders.message_id = conversions.message_id
    where {{ in_date_window('reminders.sent_date') }}
    group by reminders.sent_date, reminders.campaign_id

)

select
    cohorts_to_build.send_date,
    cohorts_to_build.campaign_id,
    {{ funnel_columns('reminder_counts') }}
from cohorts_to_build
left join reminder_counts
    on reminder_counts.send_date = cohorts_to_build.send_date
    and reminder_counts.campaign_id = cohorts_to_build.campaign_id
left join conversion_counts
    on conversion_counts.send_date = cohorts_to_build.send_date
    and conversion_counts.campaign_id = cohorts_to_build.campaign_id
