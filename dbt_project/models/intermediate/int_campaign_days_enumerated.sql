-- The (local day, campaign) rows of the daily marts: for each campaign, every day from the first
-- day of any of its events (a send, a status, a click or tap, an order) to the last day with any
-- data, zeros included. An event may be stamped before its reminder's send (clocks differ): it
-- still counts on its own day, so the calendar starts at the earliest of them.
-- A click proves delivery and an order comes after a delivery or a click, so the earliest event
-- of a reminder is the earliest of its send, its delivery (statuses and clicks) and its failure.
with first_events as (

    select
        campaign_id,
        {{ to_local_date(earliest(earliest('min(sent_at)', 'min(delivered_at)'), 'min(failed_at)')) }} as first_event_date
    from {{ ref('int_reminders_tracked') }}
    group by campaign_id

),

-- The latest instant of each feed, read from raw: a duplicate carries the same instants as the
-- row it repeats, so deduplicating (a sort of the whole history in staging) would change nothing.
latest_instants as (

    select max(sent_at) as latest_at from {{ source('raw', 'sends') }}
    union all
    select max(status_at) from {{ source('raw', 'whatsapp_statuses') }}
    union all
    select max(clicked_at) from {{ source('raw', 'clicks') }}
    union all
    select max(message_at) from {{ source('raw', 'whatsapp_messages') }}
    where message_type in ('button', 'interactive')
    union all
    select max(creation_date) from {{ source('raw', 'orders') }}

),

last_data_day as (

    select {{ to_local_date('max(latest_at)') }} as last_data_date
    from latest_instants

),

days as (

    {{ day_spine('(select min(first_event_date) from first_events)', '(select last_data_date from last_data_day)') }}

)

select
    days.day as metric_date,
    first_events.campaign_id
from first_events
inner join days on days.day >= first_events.first_event_date
