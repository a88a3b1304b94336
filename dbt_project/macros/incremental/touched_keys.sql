{#- The keys a run must recompute: those the batches in (since_batch, until_batch] touched
    (macros/incremental/batch_watermarks.sql). Each macro returns a SELECT of key columns.

    Every set errs on the large side: recomputing a key is idempotent, missing one is not. So the
    new rows are read from the raw tables themselves, duplicates included (a duplicate changes
    nothing, touching its key costs little), where the filter on `_batch_id` is cheap; going
    through the deduplicating staging views would sort the whole history at every look. The few
    expressions repeated from staging (JSON paths, the purchase key) say which key a raw row
    belongs to, nothing more. -#}

{#- Reminders with a new send, status, link click or inbound message about them. -#}
{% macro touched_message_ids() -%}
    select message_id from {{ ancestor_source('raw', 'sends') }} where {{ in_new_batches() }}
    union
    select message_id from {{ ancestor_source('raw', 'whatsapp_statuses') }} where {{ in_new_batches() }}
    union
    select message_id from {{ ancestor_source('raw', 'clicks') }} where {{ in_new_batches() }}
    union
    select {{ json_text('context', '$.id') }} as message_id
    from {{ ancestor_source('raw', 'whatsapp_messages') }}
    where {{ in_new_batches() }}
{%- endmacro %}

{#- Users whose reminders changed: their purchases' attribution may change. -#}
{% macro touched_reminder_users() -%}
    select user_id
    from {{ ancestor_source('raw', 'sends') }}
    where message_id in ({{ touched_message_ids() }})
{%- endmacro %}

{#- Every version of every order with a new version, with the purchase key, creation and buyer
    of that version. -#}
{% macro _touched_order_versions() -%}
    select
        order_id,
        coalesce(nullif(order_group, ''), order_id) as purchase_id,
        creation_date as created_at,
        {{ json_text('client_profile_data', '$.userProfileId') }} as user_id
    from {{ ancestor_source('raw', 'orders') }}
    where order_id in (
        select order_id from {{ ancestor_source('raw', 'orders') }} where {{ in_new_batches() }}
    )
{%- endmacro %}

{#- Purchases of orders with a new version, under every key any version of those orders had
    (an order may change group, and a purchase may lose its last live order). -#}
{% macro touched_order_purchase_ids() -%}
    select purchase_id from ({{ _touched_order_versions() }}) as touched_versions
{%- endmacro %}

{#- Purchases whose attribution may have changed: their orders changed, or the reminders of
    their buyer did. -#}
{% macro touched_attributed_purchase_ids() -%}
    {{ touched_order_purchase_ids() }}
    union
    select purchase_id
    from {{ ancestor('int_purchases_grouped') }}
    where user_id in ({{ touched_reminder_users() }})
{%- endmacro %}

{#- Every version of every order of the touched purchases, with its purchase: the old and the
    new state of those purchases (creation days, buyers) are among these rows. -#}
{% macro touched_purchase_order_versions() -%}
    select
        purchase_links.purchase_id,
        versions.creation_date as created_at,
        {{ json_text('versions.client_profile_data', '$.userProfileId') }} as user_id
    from (
        select distinct coalesce(nullif(order_group, ''), order_id) as purchase_id, order_id
        from {{ ancestor_source('raw', 'orders') }}
        where coalesce(nullif(order_group, ''), order_id) in ({{ touched_attributed_purchase_ids() }})
    ) as purchase_links
    inner join {{ ancestor_source('raw', 'orders') }} as versions
        on versions.order_id = purchase_links.order_id
{%- endmacro %}

{#- (metric_date, campaign_id) rows of the daily mart whose counts may have changed:
    - every local day with an event (send, status, click, tap) of a touched reminder, for its
      campaign: its delivered/read/failed day can only move among those days;
    - for a touched purchase, every day one of its order versions was created, for every
      campaign of a reminder of any buyer it had: where it was counted before, and now. -#}
{% macro touched_campaign_days() -%}
    with touched_reminders as (
        {{ touched_message_ids() }}
    ),

    touched_sends as (
        select message_id, campaign_id, sent_at
        from {{ ancestor_source('raw', 'sends') }}
        where message_id in (select message_id from touched_reminders)
    ),

    reminder_events as (
        select message_id, sent_at as event_at
        from touched_sends
        union all
        select message_id, status_at
        from {{ ancestor_source('raw', 'whatsapp_statuses') }}
        where message_id in (select message_id from touched_reminders)
        union all
        select message_id, clicked_at
        from {{ ancestor_source('raw', 'clicks') }}
        where message_id in (select message_id from touched_reminders)
        union all
        select {{ json_text('context', '$.id') }}, message_at
        from {{ ancestor_source('raw', 'whatsapp_messages') }}
        where {{ json_text('context', '$.id') }} in (select message_id from touched_reminders)
    ),

    purchase_versions as (
        {{ touched_purchase_order_versions() }}
    ),

    purchase_campaigns as (
        select distinct purchase_versions.purchase_id, sends.campaign_id
        from purchase_versions
        inner join {{ ancestor_source('raw', 'sends') }} as sends
            on sends.user_id = purchase_versions.user_id
    )

    select distinct {{ to_local_date('reminder_events.event_at') }} as metric_date, touched_sends.campaign_id
    from reminder_events
    inner join touched_sends
        on touched_sends.message_id = reminder_events.message_id
    union
    select distinct {{ to_local_date('purchase_versions.created_at') }} as metric_date, purchase_campaigns.campaign_id
    from purchase_versions
    inner join purchase_campaigns
        on purchase_campaigns.purchase_id = purchase_versions.purchase_id
{%- endmacro %}

{#- (send_date, campaign_id) cohorts whose counts may have changed: the cohort of a touched
    reminder, and the cohorts of every reminder of any buyer a touched purchase had (the reminder
    it was attributed to before, and now, is one of them). -#}
{% macro touched_campaign_cohorts() -%}
    select sent_date as send_date, campaign_id
    from {{ ancestor('int_reminders_tracked') }}
    where message_id in ({{ touched_message_ids() }})
    union
    select sent_date as send_date, campaign_id
    from {{ ancestor('int_reminders_tracked') }}
    where user_id in (select user_id from ({{ touched_purchase_order_versions() }}) as purchase_versions)
{%- endmacro %}
