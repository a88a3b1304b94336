{{ config(materialized='view') }}

-- One row per campaign admin event (created, edited, paused, resumed); an event delivered twice
-- is kept once. A view, unlike the other staging models: a handful of rows, read by one model.
with source as (

    select * from {{ source('raw', 'campaign_events') }}

),

ranked as (

    select
        *,
        row_number() over (
            partition by campaign_id, event, occurred_at, name, language, message_type, currency
            order by _batch_id, _file, _line_number
        ) as copy_number
    from source

)

select
    campaign_id,
    lower(event) as event_type,
    occurred_at,
    name,
    language,
    message_type,
    currency,
    _batch_id,
    _file,
    _line_number
from ranked
where copy_number = 1
