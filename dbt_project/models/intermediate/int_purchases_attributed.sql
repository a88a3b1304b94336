-- An incremental run replaces the purchases whose attribution new batches may have changed.
{{
    config(
        materialized='incremental',
        incremental_strategy='replace_rows',
        on_schema_change='fail',
        replaced_rows={'key': 'purchase_id', 'touched_keys': 'touched_attributed_purchase_ids'}
    )
}}

-- Attribution of purchases to reminders (docs/spec.md section 2), one step per CTE. A purchase is attributed at
-- most once: click-through first, otherwise assisted, otherwise organic (left out).
with purchases as (

    select *
    from {{ ref('int_purchases_grouped') }}
    where user_id is not null
        and {{ rebuild_filter('purchase_id', touched_attributed_purchase_ids) }}

),

reminders as (

    select message_id, campaign_id, user_id, delivered_at
    from {{ ref('int_reminders_tracked') }}
    where user_id in (select user_id from purchases)

),

reminder_clicks as (

    select clicks.message_id, clicks.clicked_at, reminders.user_id, reminders.delivered_at
    from {{ ref('int_reminder_clicks_unioned') }} as clicks
    inner join reminders on reminders.message_id = clicks.message_id

),

-- 1. Click-through: a click on one of the buyer's reminders in the click window before the
--    purchase: clicked_at < created_at <= clicked_at + click_window_hours.
click_through_candidates as (

    select
        purchases.purchase_id,
        reminder_clicks.message_id,
        reminder_clicks.clicked_at,
        reminder_clicks.delivered_at
    from purchases
    inner join reminder_clicks
        on reminder_clicks.user_id = purchases.user_id
        and reminder_clicks.clicked_at < purchases.created_at
        and purchases.created_at <= {{ dbt.dateadd('hour', var('click_window_hours'), 'reminder_clicks.clicked_at') }}

),

-- The latest such click wins; ties: the later delivery, then the larger message_id.
click_through as (

    select purchase_id, message_id, clicked_at
    from (
        select
            *,
            row_number() over (
                partition by purchase_id
                order by clicked_at desc, delivered_at desc nulls last, message_id desc
            ) as preference
        from click_through_candidates
    ) as ranked
    where preference = 1

),

-- 2. Assisted, for purchases with no qualifying click: a delivery in the assisted window before
--    the purchase: delivered_at < created_at <= delivered_at + assisted_window_hours.
assisted_candidates as (

    select
        purchases.purchase_id,
        reminders.message_id,
        reminders.delivered_at
    from purchases
    inner join reminders
        on reminders.user_id = purchases.user_id
        and reminders.delivered_at < purchases.created_at
        and purchases.created_at <= {{ dbt.dateadd('hour', var('assisted_window_hours'), 'reminders.delivered_at') }}
    where not exists (
        select 1 from click_through where click_through.purchase_id = purchases.purchase_id
    )

),

-- The latest delivery wins; ties: the larger message_id.
assisted as (

    select purchase_id, message_id
    from (
        select
            *,
            row_number() over (
                partition by purchase_id
                order by delivered_at desc, message_id desc
            ) as preference
        from assisted_candidates
    ) as ranked
    where preference = 1

),

-- A purchase's currency is its store's; a real order document may lack it
-- (storePreferencesData), and then the attributed campaign's currency stands in (docs/spec.md section 2).
campaign_currencies as (

    select campaign_id, currency
    from (
        select
            campaign_id,
            currency,
            row_number() over (partition by campaign_id order by occurred_at desc, _batch_id desc) as recency
        from {{ ref('stg_campaign_admin__campaign_events') }}
        where currency is not null
    ) as ranked
    where recency = 1

),

-- 3. Any other purchase is organic: it appears in no conversion output.
attributions as (

    select purchase_id, message_id, 'click_through' as attribution_type, clicked_at
    from click_through
    union all
    select purchase_id, message_id, 'assisted' as attribution_type, cast(null as {{ dbt.type_timestamp() }}) as clicked_at
    from assisted

)

select
    attributions.purchase_id,
    purchases.user_id,
    purchases.order_form_id,
    purchases.created_at,
    purchases.created_date as order_date,
    purchases.total,
    coalesce(purchases.currency, campaign_currencies.currency) as currency,
    attributions.message_id,
    reminders.campaign_id,
    attributions.attribution_type,
    attributions.clicked_at
from attributions
inner join purchases on purchases.purchase_id = attributions.purchase_id
inner join reminders on reminders.message_id = attributions.message_id
left join campaign_currencies on campaign_currencies.campaign_id = reminders.campaign_id
