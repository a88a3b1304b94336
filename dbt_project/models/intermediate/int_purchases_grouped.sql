-- An incremental run replaces the purchases of the orders with a new version.
{{
    config(
        materialized='incremental',
        incremental_strategy='replace_rows',
        on_schema_change='fail',
        replaced_rows={'key': 'purchase_id', 'touched_keys': 'touched_order_purchase_ids'}
    )
}}

-- Purchases (docs/spec.md section 2): one per orderGroup (the orderId when it has none), from the latest version
-- of each of its orders, canceled orders left out. A group with no order left is no purchase.
with order_versions as (

    select
        *,
        coalesce(order_group, order_id) as purchase_id
    from {{ ref('stg_vtex__order_versions') }}
    {% if is_incremental() -%}
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

-- Each live order with its total and its items as the marts' JSON text.
live_orders as (

    select
        purchase_id,
        order_id,
        created_at,
        user_id,
        order_form_id,
        currency,
        {{ items_cents('item_list', 'selling_price') }} as total_cents,
        {{ items_json_text('item_list', 'selling_price') }} as order_items
    from (
        select *, {{ items_list('items') }} as item_list
        from latest_versions
        where status is null or status != 'canceled'
    ) as live_versions

),

-- Purchases split between sellers (several live orders); nearly all have one.
split_purchase_ids as (

    select purchase_id
    from live_orders
    group by purchase_id
    having count(*) > 1

),

-- A purchase of one order is that order.
single_order_purchases as (

    select
        live_orders.purchase_id,
        live_orders.user_id,
        live_orders.order_form_id,
        live_orders.currency,
        live_orders.created_at,
        1 as order_count,
        live_orders.total_cents,
        live_orders.order_items
    from live_orders
    left join split_purchase_ids on split_purchase_ids.purchase_id = live_orders.purchase_id
    where split_purchase_ids.purchase_id is null

),

split_orders as (

    select
        live_orders.*,
        row_number() over (
            partition by live_orders.purchase_id
            order by live_orders.created_at, live_orders.order_id
        ) as order_position
    from live_orders
    inner join split_purchase_ids on split_purchase_ids.purchase_id = live_orders.purchase_id

),

-- A split purchase: created at its first order, totals and items over its orders in order of
-- creation; the buyer, the orderForm and the currency are the first order's (split orders
-- share them).
split_purchases as (

    select
        totals.purchase_id,
        first_orders.user_id,
        first_orders.order_form_id,
        first_orders.currency,
        totals.created_at,
        totals.order_count,
        totals.total_cents,
        totals.order_items
    from (
        select
            purchase_id,
            min(created_at) as created_at,
            count(*) as order_count,
            sum(total_cents) as total_cents,
            {{ concat_json_arrays_agg('order_items', 'order_position') }} as order_items
        from split_orders
        group by purchase_id
    ) as totals
    inner join split_orders as first_orders
        on first_orders.purchase_id = totals.purchase_id
        and first_orders.order_position = 1

),

purchases as (

    select * from single_order_purchases
    union all
    select * from split_purchases

),

final as (

    select
        purchase_id,
        user_id,
        order_form_id,
        currency,
        created_at,
        {{ to_local_date('created_at') }} as created_date,
        order_count,
        {{ cents_to_amount('total_cents') }} as total,
        order_items
    from purchases

)

select *
from final
where {{ rebuild_filter('purchase_id', touched_order_purchase_ids) }}
