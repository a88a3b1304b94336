{{
    config(
        materialized='incremental',
        incremental_strategy='delete+insert',
        unique_key='message_id',
        on_schema_change='fail',
        pre_hook="{{ delete_rows_to_rebuild(date_expr=to_local_date('sent_at')) }}"
    )
}}

-- One row per reminder sent, with what happened to it (SPEC 3). No phone number.
select
    message_id,
    campaign_id,
    user_id,
    order_form_id,
    sent_at,
    delivered_at,
    read_at,
    is_failed as failed,
    first_clicked_at,
    click_count,
    checkout_items
from {{ ref('int_reminders_tracked') }}
where {{ rebuild_filter('message_id', touched_message_ids, 'sent_date') }}
