-- Taps on a reminder's button: inbound messages of type `button`, or `interactive` with a
-- `button_reply`. `context.id` is the reminder tapped. Other inbound messages (text, image...)
-- are not clicks. One row per inbound message id: a re-sent webhook is the same tap.
with source as (

    select * from {{ source('raw', 'whatsapp_messages') }}

),

taps as (

    select
        *,
        row_number() over (
            partition by inbound_message_id
            order by _batch_id, _file, _line_number
        ) as copy_number
    from source
    where message_type = 'button'
        or (message_type = 'interactive' and {{ json_text('interactive', '$.type') }} = 'button_reply')

)

select
    inbound_message_id as tap_id,
    {{ json_text('context', '$.id') }} as message_id,
    message_at as tapped_at,
    message_type as tap_type,
    coalesce({{ json_text('button', '$.payload') }}, {{ json_text('interactive', '$.button_reply.id') }}) as button_id,
    coalesce({{ json_text('button', '$.text') }}, {{ json_text('interactive', '$.button_reply.title') }}) as button_text,
    _batch_id
from taps
where copy_number = 1
