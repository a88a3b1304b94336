"""Purchases and the VTEX order documents that describe them, version by version.

A purchase comes from a reminder (after a click, within 3 days of delivery, just outside the
windows, or by a shopper whose reminder never arrived: the checkout of the reminder is what is
bought) or is organic (a new checkout, by a reminded user or by one who never gets reminders).
A purchase is one orderGroup; a split purchase has one order per seller (suffixes -01, -02, ...).
Each order is sent as a new document version whenever it changes: created (payment-pending or
ready-for-handling), paid (ready-for-handling), invoiced, or canceled.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from orchestration.generate import rates as R
from orchestration.generate.catalog import FREE_SHIPPING_FROM, SHIPPING_OPTIONS, STORES
from orchestration.generate.draws import at_least_one, choice, lognormal_ms
from orchestration.generate.engagement import Engagement
from orchestration.generate.reminders import Catalog, Items, Reminders, draw_items
from orchestration.generate.text import random_hex, rank_within, ranges
from orchestration.generate.users import Users

FROM_CLICK, ASSISTED, OUTSIDE_WINDOW, UNDELIVERED, ORGANIC = range(5)
PENDING, READY, INVOICED, CANCELED = range(4)  # catalog.ORDER_STATUSES


@dataclass
class Orders:
    # per purchase (orderGroup)
    p_store: np.ndarray
    p_user: np.ndarray
    p_created_ms: np.ndarray
    p_form_id: np.ndarray  # S, 32 lower-case hex
    p_hyphenated: np.ndarray  # bool
    p_group: np.ndarray  # int64 orderGroup number
    p_origin: np.ndarray  # FROM_CLICK ... ORGANIC
    p_reminder: np.ndarray  # -1 for organic
    # per order (orderId)
    o_purchase: np.ndarray
    o_suffix: np.ndarray  # 1, 2, 3
    o_created_ms: np.ndarray
    o_created_ticks: np.ndarray  # 100 ns digits below the millisecond
    o_fraction_digits: np.ndarray
    o_local_offset: np.ndarray  # bool: dates in the store's offset rather than +00:00
    o_items_total: np.ndarray
    o_discounts: np.ndarray
    o_shipping: np.ndarray
    o_value: np.ndarray
    o_item_start: np.ndarray
    o_item_count: np.ndarray
    # per order item (owner: order), sorted by order
    items: Items
    i_selling_price: np.ndarray
    i_seller: np.ndarray  # 0, 1, 2
    # per document version (one line each, duplicates included)
    v_order: np.ndarray
    v_status: np.ndarray
    v_last_change_ms: np.ndarray
    v_last_change_ticks: np.ndarray
    v_arrival_ms: np.ndarray


def _reminder_purchases(rng: np.random.Generator, rem: Reminders, eng: Engagement, end_ms: int):
    n = rem.n
    delivered = eng.delivered_ms >= 0
    clicked = eng.first_click_ms >= 0
    u = rng.random(n)
    late = rng.random(n) < R.CLICK_PURCHASE_LATE_SHARE
    after_click = eng.first_click_ms + np.where(
        late, rng.integers(R.DAY_MS, 14 * R.DAY_MS + R.DAY_MS // 2, n),
        np.minimum(lognormal_ms(rng, R.CLICK_PURCHASE_MEDIAN_MS, R.CLICK_PURCHASE_SIGMA, n), 2 * R.DAY_MS))
    assisted = eng.delivered_ms + np.minimum(
        lognormal_ms(rng, R.ASSISTED_PURCHASE_MEDIAN_MS, R.ASSISTED_PURCHASE_SIGMA, n), 71 * R.HOUR_MS)
    outside = eng.delivered_ms + rng.integers(80 * R.HOUR_MS, 10 * R.DAY_MS, n)
    undelivered = rem.sent_ms + rng.integers(10 * R.MINUTE_MS, 5 * R.DAY_MS, n)
    origin = np.full(n, -1, dtype=np.int64)
    created = np.zeros(n, dtype=np.int64)
    cases = [
        (clicked & (u < R.PURCHASE_AFTER_CLICK_RATE), FROM_CLICK, after_click),
        (delivered & ~clicked & (u < R.ASSISTED_PURCHASE_RATE), ASSISTED, assisted),
        (delivered & ~clicked & (u >= R.ASSISTED_PURCHASE_RATE)
         & (u < R.ASSISTED_PURCHASE_RATE + R.OUTSIDE_WINDOW_PURCHASE_RATE), OUTSIDE_WINDOW, outside),
        (~delivered & (u < R.UNDELIVERED_PURCHASE_RATE), UNDELIVERED, undelivered),
    ]
    for mask, kind, times in cases:
        origin[mask] = kind
        created[mask] = times[mask]
    buyers = np.flatnonzero((origin >= 0) & (created < end_ms))
    return buyers, origin[buyers], created[buyers]


def simulate_orders(rng: np.random.Generator, rem: Reminders, eng: Engagement, users: Users,
                    catalog: Catalog, start_ms: int, days: int) -> Orders:
    end_ms = start_ms + days * R.DAY_MS
    buyers, origin, created = _reminder_purchases(rng, rem, eng, end_ms)

    # items of the recovered checkouts, sometimes without their last item
    counts = np.bincount(rem.items.owner, minlength=rem.n)[buyers]
    drop_last = (counts > 1) & (rng.random(buyers.shape[0]) < R.CART_CHANGE_RATE)
    kept = counts - drop_last
    item_rows = ranges(rem.item_start[buyers], kept)
    r_items = rem.items.take(item_rows)
    r_items.owner = np.repeat(np.arange(buyers.shape[0]), kept)

    # organic purchases
    m = int(rng.binomial(rem.n, R.ORGANIC_PURCHASES_PER_REMINDER))
    o_store = rem.store[rng.integers(0, rem.n, m)] if rem.n else np.zeros(0, np.int64)
    from_reminded = rng.random(m) < R.ORGANIC_FROM_REMINDED_USERS
    o_user = np.empty(m, dtype=np.int64)
    for code in range(len(users.store_keys)):
        rows = np.flatnonzero(o_store == code)
        pool = np.where(from_reminded[rows], 0, 1)
        a0, a1 = users.reminded[code]
        b0, b1 = users.organic[code]
        o_user[rows] = np.where(pool == 0, rng.integers(a0, a1, rows.shape[0]), rng.integers(b0, b1, rows.shape[0]))
    hourly = np.asarray(R.HOURLY_SEND_WEIGHTS, dtype=float)
    o_created = (start_ms + rng.integers(0, days, m) * R.DAY_MS + rng.choice(24, m, p=hourly / hourly.sum()) * R.HOUR_MS
                 + rng.integers(0, R.HOUR_MS, m))
    o_items = draw_items(rng, catalog, o_store)

    # all purchases, numbered per store in creation order
    n_r = buyers.shape[0]
    store = np.concatenate([rem.store[buyers], o_store])
    user = np.concatenate([rem.user[buyers], o_user])
    created_ms = np.concatenate([created, o_created])
    form_id = np.concatenate([rem.order_form_id[buyers], random_hex(rng, m)])
    p_origin = np.concatenate([origin, np.full(m, ORGANIC, dtype=np.int64)])
    p_reminder = np.concatenate([buyers, np.full(m, -1, dtype=np.int64)])
    items = Items(np.concatenate([r_items.owner, o_items.owner + n_r]),
                  np.concatenate([r_items.product, o_items.product]),
                  np.concatenate([r_items.quantity, o_items.quantity]),
                  np.concatenate([r_items.price, o_items.price]))
    order = np.lexsort((np.arange(store.shape[0]), created_ms, store))
    inverse = np.empty_like(order)
    inverse[order] = np.arange(order.shape[0])
    store, user, created_ms, form_id = store[order], user[order], created_ms[order], form_id[order]
    p_origin, p_reminder = p_origin[order], p_reminder[order]
    items.owner = inverse[items.owner]
    items = items.take(np.argsort(items.owner, kind="stable"))
    n_p = store.shape[0]
    bases = np.array([STORES[k].order_group_base for k in users.store_keys], dtype=np.int64)
    group = bases[store] + rank_within(store)
    hyphenated = at_least_one(rng, rng.random(n_p) < R.ORDER_HYPHENATED_FORM_ID_RATE, np.ones(n_p, bool))

    # splits between sellers
    p_items = np.bincount(items.owner, minlength=n_p)
    eligible = p_items >= 2
    share = max(eligible.mean(), 1e-9) if n_p else 1.0
    split = at_least_one(rng, eligible & (rng.random(n_p) < min(1.0, R.SPLIT_ORDER_RATE / share)), eligible)
    k = np.where(split, np.where((p_items >= 3) & (rng.random(n_p) < R.SPLIT_THREE_WAY_SHARE), 3, 2), 1)
    o_purchase = np.repeat(np.arange(n_p), k)
    o_suffix = rank_within(o_purchase) + 1
    order_start = np.cumsum(k) - k
    position = rank_within(items.owner)
    item_order = order_start[items.owner] + position % k[items.owner]
    item_seller = position % k[items.owner]
    by_order = np.argsort(item_order, kind="stable")
    items = items.take(by_order)
    item_seller = item_seller[by_order]
    items.owner = item_order[by_order]
    n_o = o_purchase.shape[0]
    o_item_count = np.bincount(items.owner, minlength=n_o)
    o_item_start = np.cumsum(o_item_count) - o_item_count

    # money
    discounted = rng.random(items.n) < R.DISCOUNTED_ITEM_RATE
    selling = items.price - np.where(discounted, np.round(items.price * 0.1).astype(np.int64), 0)
    items_total = np.bincount(items.owner, weights=items.price * items.quantity, minlength=n_o).astype(np.int64)
    discounts = np.bincount(items.owner, weights=(selling - items.price) * items.quantity, minlength=n_o).astype(np.int64)
    factor = np.array([STORES[k].price_factor for k in users.store_keys])[store[o_purchase]]
    shipping = np.round(np.asarray(SHIPPING_OPTIONS)[rng.integers(0, len(SHIPPING_OPTIONS), n_o)] * factor / 10).astype(np.int64) * 10
    shipping = np.where(items_total >= FREE_SHIPPING_FROM * factor, 0, shipping)
    value = items_total + discounts + shipping

    # dates and document versions
    o_created = created_ms[o_purchase] + (o_suffix - 1) * rng.integers(1, 900, n_o)
    digit_choices = np.array(list(R.ORDER_FRACTION_DIGIT_WEIGHTS), dtype=np.int64)
    fraction_digits = digit_choices[choice(rng, R.ORDER_FRACTION_DIGIT_WEIGHTS, n_o)]
    local_offset = rng.random(n_o) < R.ORDER_LOCAL_OFFSET_RATE
    pending = rng.random(n_o) < R.PENDING_PAYMENT_SHARE
    first_change = o_created + rng.integers(2 * R.SECOND_MS, 60 * R.SECOND_MS, n_o)
    cancel_ms = first_change + np.minimum(lognormal_ms(rng, R.CANCEL_MEDIAN_MS, R.CANCEL_SIGMA, n_o), 5 * R.DAY_MS)
    canceled = rng.random(n_o) < R.CANCEL_RATE
    canceled &= cancel_ms < end_ms
    if not canceled.any():
        can = np.flatnonzero(first_change + R.HOUR_MS < end_ms)
        if can.shape[0]:
            pick = can[rng.integers(0, can.shape[0])]
            canceled[pick] = True
            cancel_ms[pick] = first_change[pick] + R.HOUR_MS
    paid_ms = first_change + lognormal_ms(rng, 10 * R.MINUTE_MS, 1.0, n_o) + R.MINUTE_MS
    invoiced_ms = np.where(pending, paid_ms, first_change) + rng.integers(18 * R.HOUR_MS, 4 * R.DAY_MS, n_o)
    invoiced = ~canceled & (rng.random(n_o) < R.INVOICED_RATE)
    versions = [
        (np.arange(n_o), np.where(pending, PENDING, READY), first_change),
        (np.flatnonzero(pending & ~canceled & (paid_ms < end_ms)), READY, paid_ms),
        (np.flatnonzero(invoiced & (invoiced_ms < end_ms)), INVOICED, invoiced_ms),
        (np.flatnonzero(canceled), CANCELED, cancel_ms),
    ]
    v_order = np.concatenate([rows for rows, _, _ in versions])
    v_status = np.concatenate([np.broadcast_to(status, rows.shape) if np.ndim(status) == 0 else status[rows]
                               for rows, status, _ in versions]).astype(np.int64)
    v_change = np.concatenate([times[rows] for rows, _, times in versions])
    v_arrival = v_change + lognormal_ms(rng, R.ORDER_FEED_LATENCY_MEDIAN_MS, R.ORDER_FEED_LATENCY_SIGMA, v_order.shape[0])
    v_ticks = rng.integers(0, 10_000, v_order.shape[0])
    dup = np.flatnonzero(rng.random(v_order.shape[0]) < R.ORDER_DUPLICATE_RATE)
    return Orders(
        p_store=store, p_user=user, p_created_ms=created_ms, p_form_id=form_id, p_hyphenated=hyphenated,
        p_group=group, p_origin=p_origin, p_reminder=p_reminder,
        o_purchase=o_purchase, o_suffix=o_suffix, o_created_ms=o_created,
        o_created_ticks=rng.integers(0, 10_000, n_o), o_fraction_digits=fraction_digits,
        o_local_offset=local_offset, o_items_total=items_total, o_discounts=discounts,
        o_shipping=shipping, o_value=value, o_item_start=o_item_start, o_item_count=o_item_count,
        items=items, i_selling_price=selling, i_seller=item_seller,
        v_order=np.concatenate([v_order, v_order[dup]]),
        v_status=np.concatenate([v_status, v_status[dup]]),
        v_last_change_ms=np.concatenate([v_change, v_change[dup]]),
        v_last_change_ticks=np.concatenate([v_ticks, v_ticks[dup]]),
        v_arrival_ms=np.concatenate([v_arrival, v_arrival[dup] + rng.integers(R.MINUTE_MS, 3 * R.HOUR_MS, dup.shape[0])]),
    )
