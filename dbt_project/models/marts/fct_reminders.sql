{{ config(materialized='view') }}

-- One row per reminder sent, with what happened to it (docs/spec.md section 3). No phone number.
-- A view: it is int_reminders_tracked's columns under the contract's names, and a table would be
-- a second copy of every reminder, rewritten at every build (docs/decisions.md, "Cost").
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
