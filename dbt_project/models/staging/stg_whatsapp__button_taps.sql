{{
    config(
        materialized='incremental',
        incremental_strategy='append',
        on_schema_change='fail'
    )
}}

-- Taps on a reminder's button: inbound messages of type `button`, or `interactive` with a
-- `button_reply`. `context.id` is the reminder tapped. Other inbound messages (text, image...)
-- are not clicks. One row per inbound message id: a re-sent webhook is the same tap, the first
-- copy loaded is kept. Incremental like the sends: new taps of the new raw batches.
{% set source_rows -%}
    (
        select
            inbound_message_id, context, message_at, message_type, button, interactive,
            _batch_id, _file, _line_number
        from {{ source('raw', 'whatsapp_messages') }}
        where (
                message_type = 'button'
                or (message_type = 'interactive' and {{ json_text('interactive', '$.type') }} = 'button_reply')
            )
            {%- if is_incremental() %} and {{ in_new_batches() }} {%- endif %}
    )
{%- endset %}

with taps as (

    {{ first_copies(source_rows, ['inbound_message_id']) }}

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
{% if is_incremental() -%}
where not exists (
    select 1 from {{ this }} as absorbed
    where absorbed.tap_id is not distinct from taps.inbound_message_id
)
{%- endif %}
