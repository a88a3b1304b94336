-- The (local day, campaign) rows of the daily marts: for each campaign, every day from its first
-- send to the last day with any data (a send, a status, a click or tap, an order), zeros included.
with first_sends as (

    select campaign_id, {{ to_local_date('min(sent_at)') }} as first_send_date
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

    {{ day_spine('(select min(first_send_date) from first_sends)', '(select last_data_date from last_data_day)') }}

)

select
    days.day as metric_date,
    first_sends.campaign_id
from first_sends
inner join days on days.day >= first_sends.first_send_date
