-- An incremental run replaces the reminders with a new send, status, click or tap.
{{
    config(
        materialized='incremental',
        incremental_strategy='replace_rows',
        on_schema_change='fail',
        replaced_rows={'key': 'message_id', 'touched_keys': 'touched_message_ids'}
    )
}}

-- The lifecycle of each reminder (docs/spec.md section 2): delivered, read, failed, clicked.
-- Built from the whole history of the reminders it (re)builds: all of them in a full build, the
-- touched ones in an incremental run.
{%- set restricted = is_incremental() %}
with reminders as (

    select *
    from {{ ref('stg_campaign_engine__sends') }}
    where {{ rebuild_filter('message_id', touched_message_ids) }}

),

-- The statuses that tell delivery, reading or failure (not `sent`), one summary per reminder.
status_summaries as (

    select
        message_id,
        min(case when status in ('delivered', 'read') then status_at end) as delivered_status_at,
        min(case when status = 'read' then status_at end) as read_at,
        min(case when status = 'failed' then status_at end) as failed_status_at
    from {{ ref('stg_whatsapp__statuses') }}
    where status in ('delivered', 'read', 'failed')
    {%- if restricted %}
        and message_id in (select message_id from reminders)
    {%- endif %}
    group by message_id

),

click_summaries as (

    select message_id, min(clicked_at) as first_clicked_at, count(*) as click_count
    from {{ ref('int_reminder_clicks_unioned') }}
    {%- if restricted %}
    where message_id in (select message_id from reminders)
    {%- endif %}
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
        -- A delivered or a read status, or a click, proves delivery: a read may come without a
        -- delivered, or before it.
        {{ earliest('status_summaries.delivered_status_at', 'click_summaries.first_clicked_at') }} as delivered_at,
        status_summaries.read_at,
        status_summaries.failed_status_at,
        click_summaries.first_clicked_at,
        coalesce(click_summaries.click_count, 0) as click_count,
        {{ items_json_text(items_list('reminders.checkout_items'), 'price') }} as checkout_items
    from reminders
    left join status_summaries on status_summaries.message_id = reminders.message_id
    left join click_summaries on click_summaries.message_id = reminders.message_id

),

lifecycles as (

    select
        message_id,
        campaign_id,
        user_id,
        order_form_id,
        template_name,
        language,
        sent_at,
        delivered_at,
        read_at,
        -- A failed status counts only when nothing proves the reminder was delivered.
        (failed_status_at is not null and delivered_at is null) as is_failed,
        case when delivered_at is null then failed_status_at end as failed_at,
        first_clicked_at,
        click_count,
        checkout_items
    from tracked

)

select
    *,
    {{ to_local_date('sent_at') }} as sent_date,
    {{ to_local_date('delivered_at') }} as delivered_date,
    {{ to_local_date('read_at') }} as read_date,
    {{ to_local_date('failed_at') }} as failed_date
from lifecycles
