{#- The keys a run must recompute: those the batches in (since_batch, until_batch] touched
    (macros/incremental/batch_watermarks.sql). Each macro returns a SELECT of key columns.

    Every set errs on the large side: recomputing a key is idempotent, missing one is not.
    The new rows of sends, statuses, clicks and taps are read from the staging tables, which
    absorb raw batches in order (the filter on `_batch_id` skips the old row groups) and hold
    every copy ever used: the first copy wins there and is never replaced, so a later duplicate
    changes nothing and touches nothing. Orders are read from raw, duplicates included: there
    the last copy of a version wins, so a copy that staging has since replaced may have been
    the one an earlier run used, and the purchase it belonged to must be touched too. The
    purchase key repeated from staging says which purchase a raw order row belongs to, nothing
    more. -#}

{#- Reminders with a new send, status, link click or button tap about them (with `since`: in any
    batch after it). -#}
{% macro touched_message_ids(since=none) -%}
    select message_id from {{ ancestor('stg_campaign_engine__sends') }} where {{ in_new_batches(since=since) }}
    union
    select message_id from {{ ancestor('stg_whatsapp__statuses') }} where {{ in_new_batches(since=since) }}
    union
    select message_id from {{ ancestor('stg_link_tracker__clicks') }} where {{ in_new_batches(since=since) }}
    union
    select message_id from {{ ancestor('stg_whatsapp__button_taps') }} where {{ in_new_batches(since=since) }}
{%- endmacro %}

{#- Purchases of orders with a new version, under every key any version of those orders had
    (an order may change group, and a purchase may lose its last live order). -#}
{% macro touched_order_purchase_ids() -%}
    select coalesce(nullif(order_group, ''), order_id) as purchase_id
    from {{ ancestor_source('raw', 'orders') }}
    where order_id in (
        select order_id from {{ ancestor_source('raw', 'orders') }} where {{ in_new_batches() }}
    )
{%- endmacro %}

{#- Users whose reminders changed: their purchases' attribution may change. -#}
{% macro touched_reminder_users() -%}
    select user_id
    from {{ ancestor('stg_campaign_engine__sends') }}
    where message_id in ({{ touched_message_ids() }})
{%- endmacro %}

{#- Users with a reminder of a campaign that has a new admin event: a campaign's currency
    stands in for a purchase that has none. Rare and small: campaigns change by hand. -#}
{% macro touched_campaign_users() -%}
    select user_id
    from {{ ancestor('stg_campaign_engine__sends') }}
    where campaign_id in (
        select campaign_id from {{ ancestor('stg_campaign_admin__campaign_events') }}
        where {{ in_new_batches() }}
    )
{%- endmacro %}

{#- Purchases whose attribution may have changed: their orders changed, or the reminders of
    their buyer did, or the campaigns of their buyer's reminders did. -#}
{% macro touched_attributed_purchase_ids() -%}
    {{ touched_order_purchase_ids() }}
    union
    select purchase_id
    from {{ ancestor('int_purchases_grouped') }}
    where user_id in ({{ touched_reminder_users() }})
        or user_id in ({{ touched_campaign_users() }})
{%- endmacro %}

{#- Versions of orders (order_id, lastChange) in the new raw batches: their copies already in
    staging give way to the last copy loaded. -#}
{% macro order_versions_in_new_batches() -%}
    select order_id, last_change from {{ ancestor_source('raw', 'orders') }} where {{ in_new_batches() }}
{%- endmacro %}
