{{
    config(
        materialized='incremental',
        incremental_strategy='delete+insert',
        unique_key='message_id',
        on_schema_change='fail',
        pre_hook="{{ delete_rows_to_rebuild(date_expr='sent_date') }}"
    )
}}

-- The lifecycle of each reminder (SPEC 2): delivered, read, failed, clicked.
with reminders as (

    select *
    from {{ ref('stg_campaign_engine__sends') }}
    where {{ rebuild_filter('message_id', touched_message_ids, to_local_date('sent_at')) }}

),

statuses as (

    select message_id, status, status_at
    from {{ ref('stg_whatsapp__statuses') }}
    where message_id in (select message_id from reminders)

),

clicks as (

    select message_id, clicked_at
    from {{ ref('int_reminder_clicks_unioned') }}
    where message_id in (select message_id from reminders)

),

-- A delivered or a read status, or a click, proves delivery: a read may come without a
-- delivered, or before it.
delivery_evidence as (

    select message_id, status_at as evidence_at
    from statuses
    where status in ('delivered', 'read')
    union all
    select message_id, clicked_at as evidence_at
    from clicks

),

deliveries as (

    select message_id, min(evidence_at) as delivered_at
    from delivery_evidence
    group by message_id

),

reads as (

    select message_id, min(status_at) as read_at
    from statuses
    where status = 'read'
    group by message_id

),

failures as (

    select message_id, min(status_at) as failed_status_at
    from statuses
    where status = 'failed'
    group by message_id

),

click_summaries as (

    select message_id, min(clicked_at) as first_clicked_at, count(*) as click_count
    from clicks
    group by message_id

),

tracked as (

    select
        reminders.message_id,
        reminders.campaign_id,
        reminders.user_id,
        reminders.order_form_id,
        reminders.template_name,
        reminders.language,
        reminders.sent_at,
        deliveries.delivered_at,
        reads.read_at,
        -- A failed status counts only when nothing proves the reminder was delivered.
        (failures.failed_status_at is not null and deliveries.delivered_at is null) as is_failed,
        case when deliveries.delivered_at is null then failures.failed_status_at end as failed_at,
        click_summaries.first_clicked_at,
        coalesce(click_summaries.click_count, 0) as click_count,
        {{ items_json_text(items_list('reminders.checkout_items'), 'price') }} as checkout_items
    from reminders
    left join deliveries on deliveries.message_id = reminders.message_id
    left join reads on reads.message_id = reminders.message_id
    left join failures on failures.message_id = reminders.message_id
    left join click_summaries on click_summaries.message_id = reminders.message_id

)

select
    *,
    {{ to_local_date('sent_at') }} as sent_date,
    {{ to_local_date('delivered_at') }} as delivered_date,
    {{ to_local_date('read_at') }} as read_date,
    {{ to_local_date('failed_at') }} as failed_date
from tracked
