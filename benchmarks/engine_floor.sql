-- The engine floor: docs/spec.md section 2 written once, by hand, as plain DuckDB SQL over the raw tables.
-- No dbt, no Dagster, no incremental bookkeeping, no tests: what DuckDB itself needs to turn
-- raw.* into the conversions and the daily metrics. The benchmark times this script against
-- `dbt build`, and asserts that both give the same answers.
--
--   duckdb data/warehouse.duckdb < benchmarks/engine_floor.sql
--
-- Results land in the schema engine_floor (conversions, daily_metrics). Local days are UTC days
-- here (`::DATE` of a naive UTC instant): the benchmark runs with CAMPAIGNS_TIMEZONE=UTC.

SET TimeZone = 'UTC';
CREATE SCHEMA IF NOT EXISTS engine_floor;

-- Reminders: one per message_id, the first copy loaded.
CREATE OR REPLACE TEMP TABLE floor_sends AS
SELECT message_id, campaign_id, user_id, sent_at
FROM raw.sends
QUALIFY row_number() OVER (PARTITION BY message_id ORDER BY _batch_id, _file, _line_number) = 1;

-- Clicks: link-tracker hits by click_id, button taps by inbound message id, each once.
CREATE OR REPLACE TEMP TABLE floor_clicks AS
SELECT message_id, clicked_at
FROM (
    SELECT message_id, clicked_at
    FROM raw.clicks
    QUALIFY row_number() OVER (PARTITION BY click_id ORDER BY _batch_id, _file, _line_number) = 1
)
UNION ALL
SELECT message_id, clicked_at
FROM (
    SELECT context ->> '$.id' AS message_id, message_at AS clicked_at
    FROM raw.whatsapp_messages
    WHERE message_type = 'button'
       OR (message_type = 'interactive' AND interactive ->> '$.type' = 'button_reply')
    QUALIFY row_number() OVER (PARTITION BY inbound_message_id ORDER BY _batch_id, _file, _line_number) = 1
)
WHERE message_id IS NOT NULL;

-- The lifecycle of each reminder: a delivered or read status, or a click, proves delivery.
CREATE OR REPLACE TEMP TABLE floor_reminders AS
WITH statuses AS (
    SELECT message_id,
           min(status_at) FILTER (WHERE status IN ('delivered', 'read')) AS delivered_status_at,
           min(status_at) FILTER (WHERE status = 'read') AS read_at,
           min(status_at) FILTER (WHERE status = 'failed') AS failed_status_at
    FROM raw.whatsapp_statuses
    GROUP BY message_id
),
first_clicks AS (
    SELECT message_id, min(clicked_at) AS first_clicked_at
    FROM floor_clicks
    GROUP BY message_id
)
SELECT s.message_id, s.campaign_id, s.user_id, s.sent_at,
       least(st.delivered_status_at, c.first_clicked_at) AS delivered_at,  -- least() skips NULLs
       st.read_at,
       CASE WHEN least(st.delivered_status_at, c.first_clicked_at) IS NULL THEN st.failed_status_at END AS failed_at
FROM floor_sends AS s
LEFT JOIN statuses AS st USING (message_id)
LEFT JOIN first_clicks AS c USING (message_id);

-- Purchases: the latest version of each order, canceled ones left out, grouped by orderGroup.
CREATE OR REPLACE TEMP TABLE floor_purchases AS
WITH latest_orders AS (
    SELECT *
    FROM raw.orders
    QUALIFY row_number() OVER (PARTITION BY order_id
                               ORDER BY last_change DESC NULLS LAST, _batch_id DESC, _file DESC, _line_number DESC) = 1
),
live_orders AS (
    SELECT coalesce(nullif(order_group, ''), order_id) AS purchase_id,
           order_id,
           creation_date,
           client_profile_data ->> '$.userProfileId' AS user_id,
           store_preferences_data ->> '$.currencyCode' AS currency,
           coalesce(list_sum(list_transform(
               from_json(items, '[{"quantity": "BIGINT", "sellingPrice": "BIGINT"}]'),
               lambda item: item.sellingPrice * item.quantity)), 0) AS total_cents
    FROM latest_orders
    WHERE status IS NULL OR lower(status) <> 'canceled'
)
SELECT purchase_id,
       min(creation_date) AS created_at,
       -- split orders share buyer and currency: take the first order's
       first(user_id ORDER BY creation_date, order_id) AS user_id,
       first(currency ORDER BY creation_date, order_id) AS currency,
       CAST(sum(total_cents) * 0.01 AS DECIMAL(18, 2)) AS total
FROM live_orders
GROUP BY purchase_id;

-- Attribution: click-through (latest click within 360 h before), else assisted (latest
-- delivery within 72 h before), else organic.
CREATE OR REPLACE TABLE engine_floor.conversions AS
WITH buyers_reminders AS (
    SELECT r.*
    FROM floor_reminders AS r
    SEMI JOIN floor_purchases AS p ON p.user_id = r.user_id
),
click_through AS (
    SELECT p.purchase_id, r.message_id, c.clicked_at
    FROM floor_purchases AS p
    JOIN buyers_reminders AS r ON r.user_id = p.user_id
    JOIN floor_clicks AS c ON c.message_id = r.message_id
    WHERE c.clicked_at < p.created_at
      AND p.created_at <= c.clicked_at + INTERVAL 360 HOUR
    QUALIFY row_number() OVER (PARTITION BY p.purchase_id
                               ORDER BY c.clicked_at DESC, r.delivered_at DESC NULLS LAST, r.message_id DESC) = 1
),
assisted AS (
    SELECT p.purchase_id, r.message_id, NULL::TIMESTAMP AS clicked_at
    FROM floor_purchases AS p
    JOIN buyers_reminders AS r ON r.user_id = p.user_id
    WHERE r.delivered_at < p.created_at
      AND p.created_at <= r.delivered_at + INTERVAL 72 HOUR
      AND p.purchase_id NOT IN (SELECT purchase_id FROM click_through)
    QUALIFY row_number() OVER (PARTITION BY p.purchase_id ORDER BY r.delivered_at DESC, r.message_id DESC) = 1
),
attributed AS (
    SELECT *, 'click_through' AS attribution_type FROM click_through
    UNION ALL
    SELECT *, 'assisted' AS attribution_type FROM assisted
)
SELECT a.purchase_id AS conversion_id,
       r.message_id,
       r.campaign_id,
       a.attribution_type,
       p.user_id,
       r.delivered_at,
       r.read_at,
       a.clicked_at,
       p.created_at AS order_created_at,
       p.created_at::DATE AS order_date,
       p.total AS order_total,
       p.currency
FROM attributed AS a
JOIN floor_purchases AS p USING (purchase_id)
JOIN floor_reminders AS r USING (message_id);

-- Daily metrics: one row per campaign and day from its first send to the last day with any
-- data, each event counted on its own day.
CREATE OR REPLACE TABLE engine_floor.daily_metrics AS
WITH last_day AS (
    SELECT max(latest_at)::DATE AS last_date
    FROM (SELECT max(sent_at) AS latest_at FROM floor_sends
          UNION ALL SELECT max(status_at) FROM raw.whatsapp_statuses
          UNION ALL SELECT max(clicked_at) FROM floor_clicks
          UNION ALL SELECT max(creation_date) FROM raw.orders)
),
calendar AS (
    SELECT campaign_id, unnest(generate_series(min(sent_at)::DATE, (SELECT last_date FROM last_day), INTERVAL 1 DAY))::DATE AS metric_date
    FROM floor_sends
    GROUP BY campaign_id
),
reminder_events AS (
    SELECT campaign_id, sent_at::DATE AS metric_date, 1 AS sent, 0 AS delivered, 0 AS failed, 0 AS is_read
    FROM floor_reminders
    UNION ALL
    SELECT campaign_id, delivered_at::DATE, 0, 1, 0, 0 FROM floor_reminders WHERE delivered_at IS NOT NULL
    UNION ALL
    SELECT campaign_id, failed_at::DATE, 0, 0, 1, 0 FROM floor_reminders WHERE failed_at IS NOT NULL
    UNION ALL
    SELECT campaign_id, read_at::DATE, 0, 0, 0, 1 FROM floor_reminders WHERE read_at IS NOT NULL
),
reminder_counts AS (
    SELECT campaign_id, metric_date,
           sum(sent) AS messages_sent, sum(delivered) AS messages_delivered,
           sum(failed) AS messages_failed, sum(is_read) AS messages_read
    FROM reminder_events
    GROUP BY ALL
),
click_counts AS (
    SELECT r.campaign_id, c.clicked_at::DATE AS metric_date,
           count(DISTINCT r.user_id) AS unique_clicks, count(*) AS total_clicks
    FROM floor_clicks AS c
    JOIN floor_reminders AS r USING (message_id)
    GROUP BY ALL
),
conversion_counts AS (
    SELECT campaign_id, order_date AS metric_date,
           count(*) FILTER (WHERE attribution_type = 'assisted') AS assisted_conversions,
           count(*) FILTER (WHERE attribution_type = 'click_through') AS click_through_conversions,
           count(*) AS total_conversions,
           coalesce(sum(order_total) FILTER (WHERE attribution_type = 'assisted'), 0) AS assisted_conversion_value,
           coalesce(sum(order_total) FILTER (WHERE attribution_type = 'click_through'), 0) AS click_through_conversion_value,
           sum(order_total) AS total_conversion_value,
           min(currency) AS currency
    FROM engine_floor.conversions
    GROUP BY ALL
)
SELECT metric_date, campaign_id,
       coalesce(messages_sent, 0)::BIGINT AS messages_sent,
       coalesce(messages_delivered, 0)::BIGINT AS messages_delivered,
       coalesce(messages_failed, 0)::BIGINT AS messages_failed,
       coalesce(messages_read, 0)::BIGINT AS messages_read,
       coalesce(unique_clicks, 0)::BIGINT AS unique_clicks,
       coalesce(total_clicks, 0)::BIGINT AS total_clicks,
       coalesce(assisted_conversions, 0)::BIGINT AS assisted_conversions,
       coalesce(click_through_conversions, 0)::BIGINT AS click_through_conversions,
       coalesce(total_conversions, 0)::BIGINT AS total_conversions,
       coalesce(assisted_conversion_value, 0)::DECIMAL(18, 2) AS assisted_conversion_value,
       coalesce(click_through_conversion_value, 0)::DECIMAL(18, 2) AS click_through_conversion_value,
       coalesce(total_conversion_value, 0)::DECIMAL(18, 2) AS total_conversion_value,
       currency
FROM calendar
LEFT JOIN reminder_counts USING (campaign_id, metric_date)
LEFT JOIN click_counts USING (campaign_id, metric_date)
LEFT JOIN conversion_counts USING (campaign_id, metric_date);
