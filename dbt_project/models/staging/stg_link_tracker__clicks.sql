-- One row per click_id of the link tracker: a repeated click_id is the same click.
with source as (

    select * from {{ source('raw', 'clicks') }}

),

ranked as (

    select
        *,
        row_number() over (
            partition by click_id
            order by _batch_id, _file, _line_number
        ) as copy_number
    from source

)

select
    click_id,
    message_id,
    clicked_at,
    url,
    _batch_id
from ranked
where copy_number = 1
