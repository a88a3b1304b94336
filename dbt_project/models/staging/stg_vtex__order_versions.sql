-- One row per version of a VTEX order (order_id, last_changed_at). An order is re-sent whenever
-- it changes; the same version delivered twice is kept once (the last copy loaded).
with source as (

    select * from {{ source('raw', 'orders') }}

),

ranked as (

    select
        *,
        row_number() over (
            partition by order_id, last_change
            order by _batch_id desc, _file desc, _line_number desc
        ) as copy_number
    from source

)

select
    order_id,
    nullif(order_group, '') as order_group,
    sequence as order_sequence,
    {{ normalize_order_form_id('order_form_id') }} as order_form_id,
    lower(status) as status,
    creation_date as created_at,
    last_change as last_changed_at,
    value as value_cents,
    {{ json_text('client_profile_data', '$.userProfileId') }} as user_id,
    {{ json_text('store_preferences_data', '$.currencyCode') }} as currency,
    items,
    _batch_id
from ranked
where copy_number = 1
