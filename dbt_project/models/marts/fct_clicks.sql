{{ config(materialized='view') }}

-- One row per click on a reminder (docs/spec.md section 3): link hits and button taps, each once, with the
-- reminder's campaign and shopper, so a range's unique clickers are distinct users here, not a
-- sum of the daily counts. A view: the clicks are already a model, and a table would be a copy
-- rewritten at every build (docs/decisions.md, "Cost").
select
    clicks.click_id,
    clicks.click_source as click_kind,
    clicks.message_id,
    reminders.campaign_id,
    reminders.user_id,
    clicks.clicked_at,
    {{ to_local_date('clicks.clicked_at') }} as click_date
from {{ ref('int_reminder_clicks_unioned') }} as clicks
inner join {{ ref('int_reminders_tracked') }} as reminders
    on reminders.message_id = clicks.message_id
