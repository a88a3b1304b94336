-- One row per distinct status event (message, status, time). Webhooks are at-least-once: the
-- same status may arrive twice, in one body or another file; the first copy loaded is kept.
with source as (

    select * from {{ source('raw', 'whatsapp_statuses') }}

),

ranked as (

    select
        *,
        row_number() over (
            partition by message_id, status, status_at
            order by _batch_id, _file, _line_number
        ) as copy_number
    from source

)

select
    message_id,
    lower(status) as status,
    status_at,
    {{ dbt.safe_cast(json_text('errors', '$[0].code'), dbt.type_bigint()) }} as error_code,
    {{ json_text('errors', '$[0].title') }} as error_title,
    _batch_id
from ranked
where copy_number = 1
