"""Every rate and delay of the sample feeds, named, in one place.

Rates are probabilities per unit named in the comment ("of delivered reminders", ...). Delays are
in milliseconds unless the name says otherwise; "median" delays are drawn log-normally around
the median with the given sigma (of the log).
"""

from __future__ import annotations

SECOND_MS = 1_000
MINUTE_MS = 60 * SECOND_MS
HOUR_MS = 60 * MINUTE_MS
DAY_MS = 24 * HOUR_MS

# --- sends --------------------------------------------------------------------------------
# Share of sends by UTC hour (Brazil is UTC-3: the evening peak is 22:00-02:00 UTC).
HOURLY_SEND_WEIGHTS = (5, 4, 3, 2, 1, 1, 1, 1, 2, 3, 4, 5, 6, 6, 6, 6, 6, 6, 6, 7, 7, 8, 8, 7)
FIRST_SEND_OFFSET_MS = 15 * MINUTE_MS  # on the first day nothing is sent before the campaigns exist
USERS_PER_REMINDER = 0.75  # reminded-user pool size per reminder: ~1.3 reminders per user
ORGANIC_ONLY_USERS_PER_REMINDER = 0.05  # shoppers who never get a reminder
CHECKOUT_ITEM_COUNT_WEIGHTS = {1: 0.55, 2: 0.25, 3: 0.12, 4: 0.08}
ITEM_QUANTITY_WEIGHTS = {1: 0.80, 2: 0.15, 3: 0.05}
SEND_DUPLICATE_RATE = 0.005  # of reminders: the send log line written twice
SEND_DUPLICATE_SAME_BATCH_SHARE = 0.5  # of duplicates: right after the original; else hours later
SEND_HYPHENATED_FORM_ID_RATE = 0.01  # of reminders: orderFormId as an upper-case hyphenated UUID

# --- WhatsApp statuses --------------------------------------------------------------------
FAILED_RATE = 0.04  # of reminders
FAILED_WITH_SENT_STATUS_RATE = 0.6  # of failed reminders: a `sent` status came first
SENT_STATUS_RATE = 0.98  # of reminders that did not fail: a `sent` status is received
DELIVERED_RATE = 0.95  # of reminders that did not fail (the rest: phone off for good)
OFFLINE_DELIVERY_RATE = 0.12  # of delivered: the phone was offline, delivery minutes to hours later
DELIVERY_MEDIAN_MS, DELIVERY_SIGMA = 4 * SECOND_MS, 0.8
OFFLINE_DELIVERY_MIN_MS, OFFLINE_DELIVERY_MAX_MS = 10 * MINUTE_MS, 36 * HOUR_MS
READ_RATE = 0.32  # of delivered reminders
READ_MEDIAN_MS, READ_SIGMA = 25 * MINUTE_MS, 1.8
MISSING_DELIVERED_RATE = 0.04  # of read reminders: no `delivered` status at all, only `read`
OUT_OF_ORDER_RATE = 0.05  # of read reminders with a `delivered` status: it arrives after `read`
FAILED_DELAY_MIN_MS, FAILED_DELAY_MAX_MS = 1 * SECOND_MS, 120 * SECOND_MS
FAILURE_CODE_WEIGHTS = {131049: 0.35, 131026: 0.30, 131050: 0.15, 130472: 0.10, 131000: 0.05, 131047: 0.05}
WEBHOOK_LATENCY_MEDIAN_MS, WEBHOOK_LATENCY_SIGMA = 1500, 0.7
WEBHOOK_RETRY_RATE = 0.003  # of webhooks: Meta retried, minutes to hours later
WEBHOOK_RETRY_MIN_MS, WEBHOOK_RETRY_MAX_MS = 5 * MINUTE_MS, 6 * HOUR_MS
WEBHOOK_DUPLICATE_RATE = 0.015  # of statuses and inbound messages: delivered twice
WEBHOOK_DUPLICATE_DELAY_MAX_MS = 2 * HOUR_MS
WEBHOOK_BATCH_RATE = 0.05  # of statuses: batched into the previous webhook body (up to 4 a body)
WEBHOOK_BATCH_MAX = 4
WEBHOOK_NEW_ENTRY_RATE = 0.2  # of batched statuses: in a second `entry` of the body

# --- clicks (link tracker) and button taps (inbound messages) -----------------------------
CLICK_RATE_READ = 0.22  # of read reminders
CLICK_RATE_UNREAD = 0.012  # of delivered, unread reminders (read receipts turned off)
CLICK_MEDIAN_MS, CLICK_SIGMA = 90 * SECOND_MS, 1.5
CLICK_CHANNEL_WEIGHTS = {"link": 0.55, "button": 0.30, "both": 0.15}
BUTTON_SHAPE_WEIGHTS = {"button": 0.6, "interactive": 0.4}  # template quick reply vs interactive
SECOND_CLICK_RATE = 0.2  # of clicking reminders: the user clicks again
SECOND_CLICK_MEDIAN_MS, SECOND_CLICK_SIGMA = 1 * HOUR_MS, 1.5
CLICK_DUPLICATE_RATE = 0.01  # of link-tracker hits: logged twice with the same click_id
TEXT_REPLY_RATE = 0.02  # of delivered reminders: a plain text reply (not a click)
TEXT_REPLY_CONTEXT_RATE = 0.5  # of text replies: quoting the reminder (context.id)

# --- purchases and VTEX orders ------------------------------------------------------------
PURCHASE_AFTER_CLICK_RATE = 0.35  # of clicking reminders
CLICK_PURCHASE_MEDIAN_MS, CLICK_PURCHASE_SIGMA = 25 * MINUTE_MS, 1.2
CLICK_PURCHASE_LATE_SHARE = 0.15  # of those: 1 to 14.5 days after the click
ASSISTED_PURCHASE_RATE = 0.04  # of delivered reminders without a click: within 3 days
ASSISTED_PURCHASE_MEDIAN_MS, ASSISTED_PURCHASE_SIGMA = 4 * HOUR_MS, 1.3
OUTSIDE_WINDOW_PURCHASE_RATE = 0.01  # of delivered reminders without a click: 80 h to 10 days
UNDELIVERED_PURCHASE_RATE = 0.02  # of failed or undelivered reminders: the shopper came back
ORGANIC_PURCHASES_PER_REMINDER = 0.06  # purchases with no reminder behind them
ORGANIC_FROM_REMINDED_USERS = 0.4  # of organic purchases: by a user who gets reminders
CART_CHANGE_RATE = 0.1  # of recovered checkouts: the last item dropped before paying
DISCOUNTED_ITEM_RATE = 0.2  # of order items: sellingPrice 10% below price
SPLIT_ORDER_RATE = 0.02  # of purchases: split between sellers (several orderIds, one orderGroup)
SPLIT_THREE_WAY_SHARE = 0.15  # of split purchases with 3+ items: three sellers
CANCEL_RATE = 0.03  # of orders: a last version with status `canceled`
CANCEL_MEDIAN_MS, CANCEL_SIGMA = 6 * HOUR_MS, 1.0  # after the order is placed (Pix expired, ...)
PENDING_PAYMENT_SHARE = 0.35  # of orders: Pix/boleto, first version `payment-pending`
INVOICED_RATE = 0.8  # of orders not canceled: a later `invoiced` version
ORDER_DUPLICATE_RATE = 0.01  # of order versions: the same document sent twice
ORDER_HYPHENATED_FORM_ID_RATE = 0.05  # of purchases: orderFormId hyphenated, upper case
ORDER_LOCAL_OFFSET_RATE = 0.1  # of orders: dates written in the store's offset (-03:00)
ORDER_FRACTION_DIGIT_WEIGHTS = {7: 0.80, 6: 0.03, 5: 0.02, 4: 0.02, 3: 0.05, 2: 0.01, 1: 0.02, 0: 0.05}
ORDER_FEED_LATENCY_MEDIAN_MS, ORDER_FEED_LATENCY_SIGMA = 30 * SECOND_MS, 1.0

# --- files ---------------------------------------------------------------------------------
LATE_BLOCK_RATE = 0.02  # of (source, hour) batches: uploaded 1 to LATE_MAX_DAYS days late
LATE_MAX_DAYS = 3
REUPLOAD_BLOCK_RATE = 0.005  # of (source, hour) batches: a second upload into their own dt folder
MALFORMED_RATE = 0.0005  # of lines, per source
MIN_MALFORMED_PER_SOURCE = 1
GZIP_LEVEL = 6
