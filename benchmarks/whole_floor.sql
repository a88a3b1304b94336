-- The whole floor: from the landing JSON to the conversions and the daily metrics in one DuckDB
-- script, storing nothing else. The least any implementation of these rules can cost here: no
-- raw layer, no rejects, no ledger, no dbt, no Dagster, no tests.
--
--   duckdb floor.duckdb -cmd "SET VARIABLE landing = 'data/landing'" < benchmarks/whole_floor.sql
--
-- (from the repository's root). The landing files are read by read_json where they lie; views
-- named as the raw tables (in an in-memory catalog `raw`, so nothing of them is stored) keep
-- the lines the loader would load (docs/spec.md section 1.6, the JSON Schemas in models/); then
-- benchmarks/engine_floor.sql, read at the end, applies the rules (docs/spec.md section 2) and
-- leaves engine_floor.conversions and engine_floor.daily_metrics in this database.
--
-- A line read_json cannot parse, or that is no JSON object, comes out as a row of NULLs: its
-- required fields are missing, so it is left out as the loader rejects it. Repeated lines (the
-- same reminder, click or order version sent twice) are the same event: the views keep any
-- copy within a file, where the loader keeps the first (read_json gives no line number).

SET TimeZone = 'UTC';
ATTACH IF NOT EXISTS ':memory:' AS raw;

-- What each rule asks of a JSON value. An optional one may be absent or JSON null (NULL, or
-- 'NULL' inside a webhook item); a required one may not.
CREATE OR REPLACE TEMP MACRO is_text(j) AS j IS NULL OR json_type(j) IN ('NULL', 'VARCHAR');
CREATE OR REPLACE TEMP MACRO is_key(j) AS json_type(j) = 'VARCHAR' AND j ->> '$' <> '';
CREATE OR REPLACE TEMP MACRO is_object(j) AS j IS NULL OR json_type(j) IN ('NULL', 'OBJECT');
CREATE OR REPLACE TEMP MACRO instant(j) AS timezone('UTC', TRY_CAST(j ->> '$' AS TIMESTAMPTZ));
CREATE OR REPLACE TEMP MACRO unix_instant(j) AS
    CASE WHEN regexp_full_match(j ->> '$', '[0-9]{1,12}') THEN timezone('UTC', to_timestamp((j ->> '$')::BIGINT)) END;
-- An instant before 2000, or after the day its file was received (plus 2 days), is a producer bug.
CREATE OR REPLACE TEMP MACRO plausible(t, received) AS t >= TIMESTAMP '2000-01-01' AND t < received + INTERVAL 2 DAY;
CREATE OR REPLACE TEMP MACRO is_instant(j, received) AS json_type(j) = 'VARCHAR' AND plausible(instant(j), received);
CREATE OR REPLACE TEMP MACRO is_unix_instant(j, received) AS json_type(j) = 'VARCHAR' AND plausible(unix_instant(j), received);
CREATE OR REPLACE TEMP MACRO is_integer(j, low, high) AS
    j IS NULL OR json_type(j) = 'NULL'
    OR (json_type(j) IN ('BIGINT', 'UBIGINT') AND TRY_CAST(j ->> '$' AS BIGINT) BETWEEN low AND high);
-- A list of objects, read once per property through a wildcard path: every element an object,
-- a required property in each, every property present (JSON null too) of its type and range.
CREATE OR REPLACE TEMP MACRO all_in(types, allowed) AS len(list_filter(types, lambda t: NOT list_contains(allowed, t))) = 0;
CREATE OR REPLACE TEMP MACRO no_list(j) AS j IS NULL OR json_type(j) = 'NULL';
CREATE OR REPLACE TEMP MACRO is_list(j) AS no_list(j) OR (json_type(j) = 'ARRAY' AND all_in(json_type(j, '$[*]'), ['OBJECT']));
CREATE OR REPLACE TEMP MACRO items_have(j, path, allowed) AS
    no_list(j) OR (len(json_type(j, path)) = json_array_length(j) AND all_in(json_type(j, path), allowed));
CREATE OR REPLACE TEMP MACRO items_are(j, path, allowed) AS no_list(j) OR all_in(json_type(j, path), allowed);
CREATE OR REPLACE TEMP MACRO items_within(j, path, low, high) AS
    no_list(j) OR len(list_filter(json_extract_string(j, path), lambda v: NOT coalesce(TRY_CAST(v AS DOUBLE) BETWEEN low AND high, false))) = 0;
-- The quick form, as the loader's: a list holding no null is parsed once into its objects'
-- properties (minified JSON: a string starts with a quote, an integer is digits alone); a
-- list with a null anywhere, or that is no array, takes the exact form above.
CREATE OR REPLACE TEMP MACRO quick_list(j) AS starts_with(j, '[') AND NOT contains(j, 'null');
CREATE OR REPLACE TEMP MACRO none_fail(checks) AS len(list_filter(checks, lambda ok: NOT coalesce(ok, false))) = 0;
CREATE OR REPLACE TEMP MACRO q_text(f) AS f IS NULL OR starts_with(f, '"');
CREATE OR REPLACE TEMP MACRO q_object(f) AS f IS NULL OR starts_with(f, '{');
CREATE OR REPLACE TEMP MACRO q_int(f, low, high) AS regexp_full_match(f, '-?[0-9]+') AND TRY_CAST(f AS DOUBLE) BETWEEN low AND high;
CREATE OR REPLACE TEMP MACRO landing(source) AS getvariable('landing') || '/' || source || '/dt=*/*.jsonl*';
CREATE OR REPLACE TEMP MACRO received_day(path) AS TRY_CAST(regexp_extract(path, '/dt=(\d{4}-\d{2}-\d{2})/[^/]+$', 1) AS DATE);

CREATE OR REPLACE TABLE raw.sends AS
SELECT message_id ->> '$' AS message_id, campaign_id ->> '$' AS campaign_id, user_id ->> '$' AS user_id,
       instant(sent_at) AS sent_at, 1 AS _batch_id, filename AS _file, 0 AS _line_number
FROM read_json(landing('sends'), format = 'newline_delimited', ignore_errors = true, filename = true,
               columns = {message_id: 'JSON', campaign_id: 'JSON', user_id: 'JSON', phone: 'JSON', order_form_id: 'JSON',
                          template: 'JSON', language: 'JSON', sent_at: 'JSON', checkout_items: 'JSON'})
WHERE is_key(message_id) AND is_key(campaign_id) AND is_key(user_id) AND is_instant(sent_at, received_day(filename))
  AND is_text(phone) AND is_text(order_form_id) AND is_text(template) AND is_text(language)
  AND CASE WHEN quick_list(checkout_items) THEN none_fail(list_transform(
               json_transform(checkout_items, '[{"id": "JSON", "name": "JSON", "quantity": "JSON", "price": "JSON"}]'),
               lambda e: starts_with(e.id, '"') AND q_text(e.name) AND q_int(e.quantity, 1, 100000)
                         AND q_int(e.price, 0, 100000000000)))
           ELSE is_list(checkout_items) AND items_have(checkout_items, '$[*].id', ['VARCHAR'])
                AND items_are(checkout_items, '$[*].name', ['VARCHAR'])
                AND items_have(checkout_items, '$[*].quantity', ['BIGINT', 'UBIGINT']) AND items_within(checkout_items, '$[*].quantity', 1, 100000)
                AND items_have(checkout_items, '$[*].price', ['BIGINT', 'UBIGINT']) AND items_within(checkout_items, '$[*].price', 0, 100000000000)
      END
  AND (filename LIKE '%.jsonl' OR filename LIKE '%.jsonl.gz');

CREATE OR REPLACE TABLE raw.clicks AS
SELECT click_id ->> '$' AS click_id, message_id ->> '$' AS message_id, instant(clicked_at) AS clicked_at,
       1 AS _batch_id, filename AS _file, 0 AS _line_number
FROM read_json(landing('clicks'), format = 'newline_delimited', ignore_errors = true, filename = true,
               columns = {click_id: 'JSON', message_id: 'JSON', clicked_at: 'JSON', url: 'JSON', user_agent: 'JSON'})
WHERE is_key(click_id) AND is_key(message_id) AND is_instant(clicked_at, received_day(filename))
  AND is_text(url) AND is_text(user_agent) AND (filename LIKE '%.jsonl' OR filename LIKE '%.jsonl.gz');

CREATE OR REPLACE TABLE raw.orders AS
SELECT order_id ->> '$' AS order_id, order_group ->> '$' AS order_group, status ->> '$' AS status,
       instant(creation_date) AS creation_date, instant(last_change) AS last_change,
       client_profile_data, store_preferences_data, items, 1 AS _batch_id, filename AS _file, 0 AS _line_number
FROM read_json(landing('orders'), format = 'newline_delimited', ignore_errors = true, filename = true,
               columns = {orderId: 'JSON', orderGroup: 'JSON', sequence: 'JSON', orderFormId: 'JSON', status: 'JSON',
                          creationDate: 'JSON', lastChange: 'JSON', value: 'JSON', totals: 'JSON', items: 'JSON',
                          clientProfileData: 'JSON', storePreferencesData: 'JSON'})
    AS o(order_id, order_group, sequence, order_form_id, status, creation_date, last_change, value, totals, items,
         client_profile_data, store_preferences_data, filename)
WHERE is_key(order_id) AND is_instant(creation_date, received_day(filename))
  AND (last_change IS NULL OR is_instant(last_change, received_day(filename)))
  AND is_text(order_group) AND is_text(sequence) AND is_text(order_form_id) AND is_text(status)
  AND is_integer(value, 0, 9223372036854775807)
  AND is_list(totals) AND items_are(totals, '$[*].id', ['VARCHAR']) AND items_are(totals, '$[*].value', ['BIGINT', 'UBIGINT'])
  AND CASE WHEN quick_list(items) THEN none_fail(list_transform(
               json_transform(items, '[{"id": "JSON", "productId": "JSON", "name": "JSON", "quantity": "JSON", "price": "JSON",
                                        "sellingPrice": "JSON"}]'),
               lambda e: starts_with(e.id, '"') AND q_text(e.productId) AND q_text(e.name) AND q_int(e.quantity, 1, 100000)
                         AND (e.price IS NULL OR q_int(e.price, 0, 100000000000)) AND q_int(e.sellingPrice, 0, 100000000000)))
           ELSE is_list(items) AND items_have(items, '$[*].id', ['VARCHAR']) AND items_are(items, '$[*].productId', ['VARCHAR'])
                AND items_are(items, '$[*].name', ['VARCHAR'])
                AND items_have(items, '$[*].quantity', ['BIGINT', 'UBIGINT']) AND items_within(items, '$[*].quantity', 1, 100000)
                AND items_are(items, '$[*].price', ['BIGINT', 'UBIGINT']) AND items_within(items, '$[*].price', 0, 100000000000)
                AND items_have(items, '$[*].sellingPrice', ['BIGINT', 'UBIGINT']) AND items_within(items, '$[*].sellingPrice', 0, 100000000000)
      END
  AND is_object(client_profile_data) AND is_object(store_preferences_data)
  AND (filename LIKE '%.jsonl' OR filename LIKE '%.jsonl.gz');

-- Webhook bodies with a sound envelope, their entries parsed once (an entry that is no object, or
-- whose id is no string or JSON null, or whose changes are no list, breaks the body); each
-- status and inbound message is then judged alone.
CREATE OR REPLACE VIEW raw.whatsapp_bodies AS
SELECT received, entries
FROM (SELECT received_day(filename) AS received, object, entry, filename,
             json_transform(entry, '[{"id": "JSON", "changes": [{"value": {"statuses": ["JSON"], "messages": ["JSON"]}}]}]') AS entries
      FROM read_json(landing('whatsapp'), format = 'newline_delimited', ignore_errors = true, filename = true,
                     columns = {object: 'JSON', entry: 'JSON'}))
WHERE json_type(object) = 'VARCHAR' AND object ->> '$' = 'whatsapp_business_account' AND starts_with(entry, '[')
  AND CASE WHEN NOT contains(entry, 'null')
           THEN none_fail(list_transform(entries, lambda e: starts_with(e.id, '"') AND e.changes IS NOT NULL))
           ELSE is_list(entry) AND items_have(entry, '$[*].id', ['VARCHAR']) AND items_have(entry, '$[*].changes', ['ARRAY'])
      END
  AND (filename LIKE '%.jsonl' OR filename LIKE '%.jsonl.gz');

-- A webhook item's properties, parsed once into minified fragments (JSON null is absent there,
-- as for the loader; an item that is no object has none, so its required ones are missing).
CREATE OR REPLACE TABLE raw.whatsapp_statuses AS
SELECT s.id ->> '$' AS message_id, s.status ->> '$' AS status, unix_instant(s.timestamp) AS status_at
FROM (SELECT received, json_transform(unnest(flatten(list_transform(entries, lambda e: flatten(list_transform(e.changes, lambda c: c.value.statuses))))),
                                      '{"id": "JSON", "status": "JSON", "timestamp": "JSON", "recipient_id": "JSON",
                                        "conversation": "JSON", "pricing": "JSON", "errors": "JSON"}') AS s
      FROM raw.whatsapp_bodies)
WHERE starts_with(s.id, '"') AND s.id <> '""' AND starts_with(s.status, '"') AND s.status ->> '$' IN ('sent', 'delivered', 'read', 'failed')
  AND is_unix_instant(s.timestamp, received) AND q_text(s.recipient_id) AND q_object(s.conversation)
  AND q_object(s.pricing) AND is_list(s.errors) AND items_are(s.errors, '$[*].code', ['BIGINT', 'UBIGINT'])
  AND items_are(s.errors, '$[*].title', ['VARCHAR']);

CREATE OR REPLACE TABLE raw.whatsapp_messages AS
SELECT m.id ->> '$' AS inbound_message_id, m.type ->> '$' AS message_type, unix_instant(m.timestamp) AS message_at,
       m.context AS context, m.interactive AS interactive, 1 AS _batch_id, '' AS _file, 0 AS _line_number
FROM (SELECT received, json_transform(unnest(flatten(list_transform(entries, lambda e: flatten(list_transform(e.changes, lambda c: c.value.messages))))),
                                      '{"from": "JSON", "id": "JSON", "timestamp": "JSON", "type": "JSON", "context": "JSON",
                                        "button": "JSON", "interactive": "JSON", "text": "JSON"}') AS m
      FROM raw.whatsapp_bodies)
WHERE starts_with(m.id, '"') AND m.id <> '""' AND starts_with(m.type, '"') AND m.type <> '""' AND is_unix_instant(m.timestamp, received) AND q_text(m."from")
  AND q_object(m.context) AND q_object(m.button) AND q_object(m.interactive) AND q_object(m.text);

.read benchmarks/engine_floor.sql
