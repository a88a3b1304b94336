{{
    config(
        materialized='incremental',
        incremental_strategy='delete+insert',
        unique_key='purchase_id',
        on_schema_change='fail',
        pre_hook="{{ delete_rows_to_rebuild('purchase_id', touched_order_purchase_ids, 'created_date') }}"
    )
}}

-- Purchases (SPEC 2): one per orderGroup (the orderId when it has none), from the latest version
-- of each of its orders, canceled orders left out. A group with no order left is no purchase.
with order_versions as (

    select
        *,
        coalesce(order_group, order_id) as purchase_id
    from {{ ref('stg_vtex__order_versions') }}
    {% if is_incremental() and not date_window_is_set() -%}
    where order_id in (
        select order_id
        from {{ ref('stg_vtex__order_versions') }}
        where coalesce(order_group, order_id) in ({{ touched_order_purchase_ids() }})
    )
    {%- endif %}

),

-- The version with the greatest lastChange wins (staging keeps one copy per lastChange).
latest_versions as (

    select *
    from (
        select
            *,
            row_number() over (
                partition by order_id
                order by last_changed_at desc nulls last, _batch_id desc
            ) as recency
        from order_versions
    ) as ranked
    where recency = 1

),

live_orders as (

    select
        *,
        {{ items_list('items') }} as item_list,
        row_number() over (partition by purchase_id order by created_at, order_id) as order_position
    from latest_versions
    where status is null or status != 'canceled'

),

purchases as (

    select
        purchase_id,
        min(created_at) as created_at,
        count(*) as order_count,
        sum({{ items_cents('item_list', 'selling_price') }}) as total_cents,
        {{ concat_lists_agg('item_list', 'created_at, order_id') }} as item_list
    from live_orders
    group by purchase_id

),

-- The buyer, the orderForm and the currency are the first order's (split orders share them).
first_orders as (

    select purchase_id, user_id, order_form_id, currency
    from live_orders
    where order_position = 1

),

final as (

    select
        purchases.purchase_id,
        first_orders.user_id,
        first_orders.order_form_id,
        first_orders.currency,
        purchases.created_at,
        {{ to_local_date('purchases.created_at') }} as created_date,
        purchases.order_count,
        {{ cents_to_amount('purchases.total_cents') }} as total,
        {{ items_json_text('purchases.item_list', 'selling_price') }} as order_items
    from purchases
    inner join first_orders on first_orders.purchase_id = purchases.purchase_id

)

select *
from final
where {{ rebuild_filter('purchase_id', touched_order_purchase_ids, 'created_date') }}
