"""What happens to each reminder after it is sent: WhatsApp statuses, taps on its button,
text replies, and hits on its tracked link. Nothing at or after the end of the period is seen."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from orchestration.generate import rates as R
from orchestration.generate.catalog import TEXT_REPLIES, USER_AGENT_WEIGHTS
from orchestration.generate.draws import at_least_one, choice, lognormal_ms
from orchestration.generate.reminders import Reminders, wamids
from orchestration.generate.text import random_hex, ulid
from orchestration.generate.users import Users

SENT, DELIVERED, READ, FAILED = 0, 1, 2, 3
BUTTON, INTERACTIVE, TEXT = 0, 1, 2
_LINK, _BUTTON, _BOTH = 0, 1, 2


def webhook_latency(rng: np.random.Generator, n: int) -> np.ndarray:
    latency = lognormal_ms(rng, R.WEBHOOK_LATENCY_MEDIAN_MS, R.WEBHOOK_LATENCY_SIGMA, n)
    retried = rng.random(n) < R.WEBHOOK_RETRY_RATE
    return latency + np.where(retried, rng.integers(R.WEBHOOK_RETRY_MIN_MS, R.WEBHOOK_RETRY_MAX_MS, n), 0)


@dataclass
class Statuses:
    """One row per status item sent by Meta (duplicates included), in no particular order."""

    reminder: np.ndarray
    kind: np.ndarray  # SENT | DELIVERED | READ | FAILED
    at_ms: np.ndarray
    arrival_ms: np.ndarray
    error: np.ndarray  # index into FAILURE_CODE_WEIGHTS' codes (failed only)
    duplicate: np.ndarray  # bool: a re-delivery, never batched with other statuses


@dataclass
class Inbound:
    """Inbound WhatsApp messages: button taps (two shapes) and text replies."""

    reminder: np.ndarray
    kind: np.ndarray  # BUTTON | INTERACTIVE | TEXT
    at_ms: np.ndarray
    arrival_ms: np.ndarray
    message_id: np.ndarray  # S, the inbound message's own wamid
    with_context: np.ndarray  # bool: context.id names the reminder
    text: np.ndarray  # index into the store language's TEXT_REPLIES (TEXT only)


@dataclass
class Clicks:
    reminder: np.ndarray
    at_ms: np.ndarray  # whole seconds
    arrival_ms: np.ndarray
    click_id: np.ndarray  # S
    user_agent: np.ndarray


@dataclass
class Engagement:
    statuses: Statuses
    inbound: Inbound
    clicks: Clicks
    conversation_id: np.ndarray  # S per reminder
    failed: np.ndarray  # bool per reminder
    delivered_ms: np.ndarray  # per reminder; -1 if never delivered within the period
    first_click_ms: np.ndarray  # per reminder; -1 if no click within the period


def simulate_engagement(rng: np.random.Generator, rem: Reminders, users: Users, end_ms: int) -> Engagement:
    n = rem.n
    sent = rem.sent_ms
    failed = rng.random(n) < R.FAILED_RATE
    sent_status = np.where(failed, rng.random(n) < R.FAILED_WITH_SENT_STATUS_RATE, rng.random(n) < R.SENT_STATUS_RATE)
    sent_ms = sent + rng.integers(300, 3000, n)
    failed_ms = sent_ms + rng.integers(R.FAILED_DELAY_MIN_MS, R.FAILED_DELAY_MAX_MS, n)
    failed &= failed_ms < end_ms
    delivered = ~failed & (rng.random(n) < R.DELIVERED_RATE)
    offline = rng.random(n) < R.OFFLINE_DELIVERY_RATE
    delivered_ms = sent_ms + np.where(
        offline, rng.integers(R.OFFLINE_DELIVERY_MIN_MS, R.OFFLINE_DELIVERY_MAX_MS, n),
        lognormal_ms(rng, R.DELIVERY_MEDIAN_MS, R.DELIVERY_SIGMA, n))
    delivered &= delivered_ms < end_ms
    read_ms = delivered_ms + np.minimum(lognormal_ms(rng, R.READ_MEDIAN_MS, R.READ_SIGMA, n), 7 * R.DAY_MS)
    read = delivered & (rng.random(n) < R.READ_RATE) & (read_ms < end_ms)
    missing_delivered = at_least_one(rng, read & (rng.random(n) < R.MISSING_DELIVERED_RATE), read)
    out_of_order = at_least_one(
        rng, read & ~missing_delivered & (rng.random(n) < R.OUT_OF_ORDER_RATE), read & ~missing_delivered)

    # --- statuses
    codes = rng.choice(len(R.FAILURE_CODE_WEIGHTS), n,
                       p=np.array(list(R.FAILURE_CODE_WEIGHTS.values())) / sum(R.FAILURE_CODE_WEIGHTS.values()))
    parts = [
        (np.flatnonzero(sent_status & (sent_ms < end_ms)), SENT, sent_ms),
        (np.flatnonzero(delivered & ~missing_delivered), DELIVERED, delivered_ms),
        (np.flatnonzero(read), READ, read_ms),
        (np.flatnonzero(failed), FAILED, failed_ms),
    ]
    s_rem = np.concatenate([rows for rows, _, _ in parts])
    s_kind = np.concatenate([np.full(rows.shape[0], kind, dtype=np.int64) for rows, kind, _ in parts])
    s_at = np.concatenate([times[rows] for rows, _, times in parts])
    s_arrival = s_at + webhook_latency(rng, s_at.shape[0])
    # out of order: `delivered` arrives after `read`
    read_arrival = np.zeros(n, dtype=np.int64)
    read_arrival[s_rem[s_kind == READ]] = s_arrival[s_kind == READ]
    late_delivered = (s_kind == DELIVERED) & out_of_order[s_rem]
    s_arrival[late_delivered] = read_arrival[s_rem[late_delivered]] + rng.integers(
        R.SECOND_MS, 120 * R.SECOND_MS, int(late_delivered.sum()))
    dup = at_least_one(rng, rng.random(s_rem.shape[0]) < R.WEBHOOK_DUPLICATE_RATE, np.ones(s_rem.shape[0], bool))
    dup_rows = np.flatnonzero(dup)
    statuses = Statuses(
        reminder=np.concatenate([s_rem, s_rem[dup_rows]]),
        kind=np.concatenate([s_kind, s_kind[dup_rows]]),
        at_ms=np.concatenate([s_at, s_at[dup_rows]]),
        arrival_ms=np.concatenate([s_arrival, s_arrival[dup_rows] + rng.integers(
            R.SECOND_MS, R.WEBHOOK_DUPLICATE_DELAY_MAX_MS, dup_rows.shape[0])]),
        error=np.concatenate([codes[s_rem], codes[s_rem[dup_rows]]]),
        duplicate=np.concatenate([np.zeros(s_rem.shape[0], bool), np.ones(dup_rows.shape[0], bool)]),
    )

    # --- clicks: link-tracker hits and button taps
    base = np.where(read, read_ms, delivered_ms)
    clicker = delivered & (rng.random(n) < np.where(read, R.CLICK_RATE_READ, R.CLICK_RATE_UNREAD))
    first_ms = base + lognormal_ms(rng, R.CLICK_MEDIAN_MS, R.CLICK_SIGMA, n) + R.SECOND_MS
    clicker &= first_ms < end_ms
    channel = choice(rng, R.CLICK_CHANNEL_WEIGHTS, n)
    second = clicker & (rng.random(n) < R.SECOND_CLICK_RATE)
    second_ms = first_ms + lognormal_ms(rng, R.SECOND_CLICK_MEDIAN_MS, R.SECOND_CLICK_SIGMA, n)
    second &= second_ms < end_ms
    shape = choice(rng, R.BUTTON_SHAPE_WEIGHTS, n)
    both_link_ms = first_ms + rng.integers(R.SECOND_MS, 30 * R.SECOND_MS, n)

    link_parts = [
        (np.flatnonzero(clicker & (channel == _LINK)), first_ms),
        (np.flatnonzero(clicker & (channel == _BOTH) & (both_link_ms < end_ms)), both_link_ms),
        (np.flatnonzero(second & (channel != _BUTTON)), second_ms),
    ]
    l_rem = np.concatenate([rows for rows, _ in link_parts])
    l_at = np.concatenate([times[rows] for rows, times in link_parts]) // 1000 * 1000
    click_id = np.strings.add("c_", ulid(l_at, np.arange(l_at.shape[0]), rng))
    ua = choice(rng, dict(enumerate(USER_AGENT_WEIGHTS)), l_rem.shape[0])
    l_arrival = l_at + rng.integers(50, 5 * R.SECOND_MS, l_rem.shape[0])
    dup = at_least_one(rng, rng.random(l_rem.shape[0]) < R.CLICK_DUPLICATE_RATE, np.ones(l_rem.shape[0], bool))
    dup_rows = np.flatnonzero(dup)
    clicks = Clicks(
        reminder=np.concatenate([l_rem, l_rem[dup_rows]]),
        at_ms=np.concatenate([l_at, l_at[dup_rows]]),
        arrival_ms=np.concatenate([l_arrival, l_arrival[dup_rows] + rng.integers(
            R.SECOND_MS, 10 * R.MINUTE_MS, dup_rows.shape[0])]),
        click_id=np.concatenate([click_id, click_id[dup_rows]]),
        user_agent=np.concatenate([ua, ua[dup_rows]]),
    )

    # --- inbound messages: taps of both shapes (each shape at least once) and text replies
    tapper = clicker & (channel != _LINK)
    if tapper.sum() >= 2 and np.unique(shape[tapper]).shape[0] < 2:
        rows = np.flatnonzero(tapper)
        shape[rows[0]] = 1 - shape[rows[0]]
    texting = delivered & (rng.random(n) < R.TEXT_REPLY_RATE)
    text_ms = base + lognormal_ms(rng, 30 * R.MINUTE_MS, 1.5, n)
    texting &= text_ms < end_ms
    tap_parts = [
        (np.flatnonzero(tapper), first_ms),
        (np.flatnonzero(second & (channel == _BUTTON)), second_ms),
    ]
    t_rem = np.concatenate([rows for rows, _ in tap_parts])
    t_at = np.concatenate([times[rows] for rows, times in tap_parts])
    x_rem = np.flatnonzero(texting)
    i_rem = np.concatenate([t_rem, x_rem])
    i_kind = np.concatenate([shape[t_rem], np.full(x_rem.shape[0], TEXT, dtype=np.int64)])
    i_at = np.concatenate([t_at, text_ms[x_rem]])
    i_context = np.concatenate([np.ones(t_rem.shape[0], bool), rng.random(x_rem.shape[0]) < R.TEXT_REPLY_CONTEXT_RATE])
    i_text = rng.integers(0, len(TEXT_REPLIES["pt"]), i_rem.shape[0])
    i_id = wamids(rng, users.phone[rem.user[i_rem]], np.arange(i_rem.shape[0]), inbound=True)
    i_arrival = i_at + webhook_latency(rng, i_rem.shape[0])
    dup_rows = np.flatnonzero(rng.random(i_rem.shape[0]) < R.WEBHOOK_DUPLICATE_RATE)
    inbound = Inbound(
        reminder=np.concatenate([i_rem, i_rem[dup_rows]]),
        kind=np.concatenate([i_kind, i_kind[dup_rows]]),
        at_ms=np.concatenate([i_at, i_at[dup_rows]]),
        arrival_ms=np.concatenate([i_arrival, i_arrival[dup_rows] + rng.integers(
            R.SECOND_MS, R.WEBHOOK_DUPLICATE_DELAY_MAX_MS, dup_rows.shape[0])]),
        message_id=np.concatenate([i_id, i_id[dup_rows]]),
        with_context=np.concatenate([i_context, i_context[dup_rows]]),
        text=np.concatenate([i_text, i_text[dup_rows]]),
    )

    first_click = np.where(clicker, first_ms, -1)
    return Engagement(statuses, inbound, clicks, random_hex(rng, n), failed,
                      np.where(delivered, delivered_ms, -1), first_click)
