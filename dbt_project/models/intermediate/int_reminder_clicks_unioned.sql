-- Every click on a reminder, each counted once: hits on its tracked link (by click_id) and taps
-- on its WhatsApp button (by inbound message id) whose context is the reminder.
with link_clicks as (

    select
        'link' as click_source,
        click_id,
        message_id,
        clicked_at,
        _batch_id
    from {{ ref('stg_link_tracker__clicks') }}

),

button_taps as (

    select
        'button' as click_source,
        tap_id as click_id,
        message_id,
        tapped_at as clicked_at,
        _batch_id
    from {{ ref('stg_whatsapp__button_taps') }}
    where message_id is not null

),

clicks as (

    select * from link_clicks
    union all
    select * from button_taps

)

select
    {{ dbt.concat(["click_source", "':'", "click_id"]) }} as click_key,
    click_source,
    click_id,
    message_id,
    clicked_at,
    _batch_id
from clicks
