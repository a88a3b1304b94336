-- One row per reminder (message_id). A repeated send line is the same reminder: the first one
-- loaded is kept, so a later copy never changes a reminder already built.
with source as (

    select * from {{ source('raw', 'sends') }}

),

ranked as (

    select
        *,
        row_number() over (
            partition by message_id
            order by _batch_id, _file, _line_number
        ) as copy_number
    from source

)

select
    message_id,
    campaign_id,
    user_id,
    {{ normalize_order_form_id('order_form_id') }} as order_form_id,
    template as template_name,
    language,
    sent_at,
    checkout_items,
    _batch_id
from ranked
where copy_number = 1
