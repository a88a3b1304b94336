-- An incremental run replaces the conversions of the purchases whose attribution may have changed.
{{
    config(
        materialized='incremental',
        incremental_strategy='replace_rows',
        on_schema_change='fail',
        replaced_rows={'key': 'conversion_id', 'touched_keys': 'touched_attributed_purchase_ids'}
    )
}}

-- One row per purchase attributed to a reminder (docs/spec.md sections 2 and 3): the source of the report.
with conversions as (

    select *
    from {{ ref('int_purchases_attributed') }}
    where {{ rebuild_filter('purchase_id', touched_attributed_purchase_ids) }}

)

select
    conversions.purchase_id as conversion_id,
    conversions.order_form_id,
    conversions.user_id,
    conversions.message_id,
    conversions.campaign_id,
    conversions.attribution_type,
    reminders.delivered_at,
    reminders.read_at,
    conversions.clicked_at,
    conversions.created_at as order_created_at,
    conversions.order_date,
    conversions.total as order_total,
    conversions.currency,
    reminders.checkout_items,
    purchases.order_items
from conversions
inner join {{ ref('int_reminders_tracked') }} as reminders
    on reminders.message_id = conversions.message_id
inner join {{ ref('int_purchases_grouped') }} as purchases
    on purchases.purchase_id = conversions.purchase_id
