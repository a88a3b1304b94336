"""The five landing feeds as line tables: when each line arrives, and how a set of lines is
written as JSON text (vectorised: strings are built column by column for a whole file).

Every `render(rows)` returns string pieces whose concatenation is the text of those lines, in
the given order, each ending with a newline.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from orchestration.generate import rates as R
from orchestration.generate.campaigns import CampaignPlan, template_of
from orchestration.generate.catalog import (BUTTON_PAYLOAD, BUTTON_TEXTS, FAILURE_DETAILS, FAILURE_TITLES,
                                            ORDER_STATUSES, STORES, TEXT_REPLIES, USER_AGENTS)
from orchestration.generate.corrupt import local_format
from orchestration.generate.engagement import BUTTON, DELIVERED, FAILED, INTERACTIVE, SENT, Engagement
from orchestration.generate.purchases import Orders
from orchestration.generate.reminders import Catalog, Reminders, upper_hyphenated
from orchestration.generate.text import (S, assemble, cat, iso_utc, lookup, num, padded, rank_within, ranges,
                                         unix_seconds, vtex_date, when)
from orchestration.generate.users import Users


@dataclass
class Feed:
    source: str
    arrival_ms: np.ndarray  # per line
    render: Callable[[np.ndarray], np.ndarray]
    gzip_main: bool  # main files gzipped (late and re-uploaded files: the other way round)
    malformed_rows: np.ndarray | None = None  # lines malformed by construction (else drawn at random)
    force_file_quirks: bool = True  # at least one late and one re-uploaded batch, however small

    @property
    def n(self) -> int:
        return self.arrival_ms.shape[0]


def _pieces_of_lines(lines: np.ndarray) -> np.ndarray:
    return np.strings.add(lines, "\n")


# ---------------------------------------------------------------------------------------------
# sends
# ---------------------------------------------------------------------------------------------

def sends_feed(rng: np.random.Generator, rem: Reminders, users: Users, catalog: Catalog,
               plan: CampaignPlan) -> Feed:
    dup = np.flatnonzero(rng.random(rem.n) < R.SEND_DUPLICATE_RATE)
    if dup.shape[0] == 0 and rem.n:
        dup = rng.integers(0, rem.n, 1)
    soon = rng.random(dup.shape[0]) < R.SEND_DUPLICATE_SAME_BATCH_SHARE
    line_reminder = np.concatenate([np.arange(rem.n), dup])
    logged = rem.sent_ms + rng.integers(5, 400, rem.n)
    arrival = np.concatenate([logged, logged[dup] + np.where(
        soon, rng.integers(1, 50, dup.shape[0]), rng.integers(R.HOUR_MS, 12 * R.HOUR_MS, dup.shape[0]))])

    version_campaign = [plan.campaigns[c].campaign_id for c, _, _ in plan.versions]
    version_template = [template_of(state) for _, _, state in plan.versions]
    version_language = [state["language"] for _, _, state in plan.versions]
    item_count = np.bincount(rem.items.owner, minlength=rem.n)

    def render(rows: np.ndarray) -> np.ndarray:
        r = line_reminder[rows]
        form = when(rem.form_id_hyphenated[r], upper_hyphenated(rem.order_form_id[r]), rem.order_form_id[r])
        version = rem.version[r]
        heads = cat('{"message_id":"', rem.message_id[r],
                    '","campaign_id":', lookup(version, version_campaign),
                    ',"user_id":"', users.uuid[rem.user[r]],
                    '","phone":"+', users.phone[rem.user[r]],
                    '","order_form_id":"', form,
                    '","template":', lookup(version, version_template),
                    ',"language":', lookup(version, version_language),
                    ',"sent_at":"', iso_utc(rem.sent_ms[r]),
                    '","checkout_items":[')
        item_rows = ranges(rem.item_start[r], item_count[r])
        element_line = np.repeat(np.arange(r.shape[0]), item_count[r])
        product = rem.items.product[item_rows]
        elements = cat(when(rank_within(element_line) > 0, ","),
                       '{"id":', lookup(product, catalog.skus),
                       ',"name":', lookup(product, catalog.names),
                       ',"quantity":', num(rem.items.quantity[item_rows]),
                       ',"price":', num(rem.items.price[item_rows]), "}")
        tails = np.full(r.shape[0], "]}\n", dtype=S)
        return assemble(heads, elements, element_line, tails)

    return Feed("sends", arrival, render, gzip_main=False)


# ---------------------------------------------------------------------------------------------
# whatsapp: status webhooks (some batched, some with two entries) and inbound messages
# ---------------------------------------------------------------------------------------------

def _value_head(store) -> str:
    return ('{"id":"' + store.waba_id + '","changes":[{"value":{"messaging_product":"whatsapp","metadata":'
            '{"display_phone_number":"' + store.display_phone_number + '","phone_number_id":"'
            + store.phone_number_id + '"},')


_BODY_START = '{"object":"whatsapp_business_account","entry":['
_CHANGE_END = '},"field":"messages"}]}'  # closes value, change, changes and entry
_PRICING = ',"pricing":{"billable":true,"pricing_model":"CBP","category":"marketing"}'


def whatsapp_feed(rng: np.random.Generator, rem: Reminders, eng: Engagement, users: Users) -> Feed:
    st = eng.statuses
    store_keys = users.store_keys
    stores = [STORES[k] for k in store_keys]
    s_store = rem.store[st.reminder]
    order = np.lexsort((np.arange(st.reminder.shape[0]), st.arrival_ms))
    s_store_sorted = s_store[order]
    dup_sorted = st.duplicate[order]
    n_s = order.shape[0]
    join = rng.random(n_s) < R.WEBHOOK_BATCH_RATE
    if n_s:  # a body holds statuses of one business account; re-deliveries come alone
        join[0] = False
        join[1:] &= (s_store_sorted[1:] == s_store_sorted[:-1]) & ~dup_sorted[1:] & ~dup_sorted[:-1]
    body = np.cumsum(~join) - 1
    position = rank_within(body)
    join &= position % R.WEBHOOK_BATCH_MAX != 0
    body = np.cumsum(~join) - 1
    position = rank_within(body)
    n_bodies = int(body[-1]) + 1 if n_s else 0
    body_start = np.flatnonzero(~join)
    body_len = np.bincount(body, minlength=n_bodies)
    new_entry = (position > 0) & (rng.random(n_s) < R.WEBHOOK_NEW_ENTRY_RATE)
    body_arrival = st.arrival_ms[order][body_start]
    body_store = s_store_sorted[body_start]

    inb = eng.inbound
    # lines: status bodies first, then inbound messages
    arrival = np.concatenate([body_arrival, inb.arrival_ms])

    codes = list(R.FAILURE_CODE_WEIGHTS)
    errors = ['{"code":%d,"title":%s,"message":%s,"error_data":{"details":%s}}' % (
        code, json.dumps(FAILURE_TITLES[code], ensure_ascii=False), json.dumps(FAILURE_TITLES[code], ensure_ascii=False),
        json.dumps(FAILURE_DETAILS[code], ensure_ascii=False)) for code in codes]
    heads_by_store = [_BODY_START + _value_head(s) + '"statuses":[' for s in stores]
    breaks_by_store = ["]" + _CHANGE_END + "," + _value_head(s) + '"statuses":[' for s in stores]
    msg_heads_by_store = [_BODY_START + _value_head(s) + '"contacts":[{"profile":{"name":' for s in stores]
    business_by_store = [s.display_phone_number for s in stores]
    button_text = [json.dumps(BUTTON_TEXTS[s.language], ensure_ascii=False) for s in stores]
    replies = [[json.dumps(t, ensure_ascii=False) for t in TEXT_REPLIES[s.language]] for s in stores]
    n_replies = len(replies[0])
    reply_table = [replies[code][i] for code in range(len(stores)) for i in range(n_replies)]

    def render_statuses(bodies: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        elem_sorted = ranges(body_start[bodies], body_len[bodies])
        element_line = np.repeat(np.arange(bodies.shape[0]), body_len[bodies])
        e = order[elem_sorted]
        r = st.reminder[e]
        kind = st.kind[e]
        store = s_store[e]
        seconds = unix_seconds(st.at_ms[e])
        conversation = cat(',"conversation":{"id":"', eng.conversation_id[r], '"',
                           when(kind == SENT, cat(',"expiration_timestamp":"',
                                                  num(st.at_ms[e] // 1000 + 86_400), '"')),
                           ',"origin":{"type":"marketing"}}', _PRICING)
        extra = np.where((kind == SENT) | (kind == DELIVERED), conversation, "").astype(S)
        extra = np.where(kind == FAILED, cat(',"errors":[', lookup(st.error[e], errors, quote=False), "]"), extra).astype(S)
        separator = np.where(position[elem_sorted] == 0, "",
                             np.where(new_entry[elem_sorted], lookup(store, breaks_by_store, quote=False), ",")).astype(S)
        elements = cat(separator, '{"id":"', rem.message_id[r],
                       '","status":"', lookup(kind, ["sent", "delivered", "read", "failed"], quote=False),
                       '","timestamp":"', seconds,
                       '","recipient_id":"', users.phone[rem.user[r]], '"', extra, "}")
        heads = lookup(body_store[bodies], heads_by_store, quote=False)
        tails = np.full(bodies.shape[0], "]" + _CHANGE_END + "]}\n", dtype=S)
        return heads, elements, element_line, tails

    def render_messages(rows: np.ndarray) -> np.ndarray:
        r = inb.reminder[rows]
        store = rem.store[r]
        kind = inb.kind[rows]
        phone = users.phone[rem.user[r]]
        context = when(inb.with_context[rows],
                       cat('"context":{"from":"', lookup(store, business_by_store, quote=False),
                           '","id":"', rem.message_id[r], '"},'))
        button = lookup(store, button_text, quote=False)
        payload = np.where(
            kind == BUTTON, cat('"type":"button","button":{"payload":"' + BUTTON_PAYLOAD + '","text":', button, "}"),
            np.where(kind == INTERACTIVE,
                     cat('"type":"interactive","interactive":{"type":"button_reply","button_reply":{"id":"'
                         + BUTTON_PAYLOAD + '","title":', button, "}}"),
                     cat('"text":{"body":', lookup(store * n_replies + inb.text[rows], reply_table, quote=False),
                         '},"type":"text"'))).astype(S)
        return cat(lookup(store, msg_heads_by_store, quote=False), users.name[rem.user[r]],
                   '},"wa_id":"', phone, '"}],"messages":[{', context,
                   '"from":"', phone, '","id":"', inb.message_id[rows],
                   '","timestamp":"', unix_seconds(inb.at_ms[rows]), '",', payload,
                   "}]" + _CHANGE_END + "]}\n")

    def render(rows: np.ndarray) -> np.ndarray:
        is_body = rows < n_bodies
        heads, elements, element_line, tails = render_statuses(rows[is_body])
        line_heads = np.empty(rows.shape[0], dtype=S)
        line_tails = np.full(rows.shape[0], "", dtype=S)
        body_lines = np.flatnonzero(is_body)
        line_heads[body_lines] = heads
        line_tails[body_lines] = tails
        message_lines = np.flatnonzero(~is_body)
        if message_lines.shape[0]:
            line_heads[message_lines] = render_messages(rows[message_lines] - n_bodies)
        return assemble(line_heads, elements, body_lines[element_line], line_tails)

    return Feed("whatsapp", arrival, render, gzip_main=True)


# ---------------------------------------------------------------------------------------------
# clicks
# ---------------------------------------------------------------------------------------------

def clicks_feed(rem: Reminders, eng: Engagement, users: Users, plan: CampaignPlan) -> Feed:
    cl = eng.clicks
    hosts = [STORES[k].host for k in users.store_keys]
    campaign_ids = [c.campaign_id for c in plan.campaigns]

    def render(rows: np.ndarray) -> np.ndarray:
        r = cl.reminder[rows]
        return _pieces_of_lines(cat(
            '{"click_id":"', cl.click_id[rows],
            '","message_id":"', rem.message_id[r],
            '","clicked_at":"', iso_utc(cl.at_ms[rows], millis=False),
            '","url":"https://', lookup(rem.store[r], hosts, quote=False),
            "/checkout/?orderFormId=", rem.order_form_id[r],
            "&utm_source=whatsapp&utm_medium=reminder&utm_campaign=", lookup(rem.campaign[r], campaign_ids, quote=False),
            '#/cart","user_agent":', lookup(cl.user_agent[rows], USER_AGENTS), "}"))

    return Feed("clicks", cl.arrival_ms, render, gzip_main=False)


# ---------------------------------------------------------------------------------------------
# orders
# ---------------------------------------------------------------------------------------------

_TOTAL_NAMES = {"pt": ("Total dos Itens", "Total dos Descontos", "Total do Frete", "Total da Taxa"),
                "es": ("Total de los artículos", "Total de descuentos", "Costo total del envío", "Total de impuestos")}
_SELLERS = ("1", "parceiro01", "parceiro02")


def orders_feed(orders: Orders, users: Users, catalog: Catalog) -> Feed:
    stores = [STORES[k] for k in users.store_keys]
    offsets = [0] + [s.utc_offset_minutes for s in stores]  # index 0: +00:00; 1 + store code: local
    totals = [[json.dumps(t, ensure_ascii=False) for t in _TOTAL_NAMES[s.language]] for s in stores]
    total_heads = [',"totals":[{"id":"Items","name":%s,"value":' % t[0] for t in totals]
    total_disc = ['},{"id":"Discounts","name":%s,"value":' % t[1] for t in totals]
    total_ship = ['},{"id":"Shipping","name":%s,"value":' % t[2] for t in totals]
    total_tax = ['},{"id":"Tax","name":%s,"value":0}],"items":[' % t[3] for t in totals]
    preferences = ['},"storePreferencesData":{"countryCode":"%s","currencyCode":"%s","timeZone":%s}}\n'
                   % (s.country, s.currency, json.dumps(s.time_zone)) for s in stores]

    def render(rows: np.ndarray) -> np.ndarray:
        o = orders.v_order[rows]
        p = orders.o_purchase[o]
        store = orders.p_store[p]
        user = orders.p_user[p]
        offset = np.where(orders.o_local_offset[o], 1 + store, 0)
        digits_ = orders.o_fraction_digits[o]
        group = num(orders.p_group[p])
        form = when(orders.p_hyphenated[p], upper_hyphenated(orders.p_form_id[p]), orders.p_form_id[p])
        heads = cat('{"orderId":"', group, "-", padded(orders.o_suffix[o], 2),
                    '","sequence":"', padded(orders.p_group[p] % 1_000_000, 6),
                    '","orderGroup":"', group,
                    '","orderFormId":"', form,
                    '","status":"', lookup(orders.v_status[rows], ORDER_STATUSES, quote=False),
                    '","creationDate":"', vtex_date(orders.o_created_ms[o], orders.o_created_ticks[o], digits_, offset, offsets),
                    '","lastChange":"', vtex_date(orders.v_last_change_ms[rows], orders.v_last_change_ticks[rows],
                                                  digits_, offset, offsets),
                    '","value":', num(orders.o_value[o]),
                    lookup(store, total_heads, quote=False), num(orders.o_items_total[o]),
                    lookup(store, total_disc, quote=False), num(orders.o_discounts[o]),
                    lookup(store, total_ship, quote=False), num(orders.o_shipping[o]),
                    lookup(store, total_tax, quote=False))
        count = orders.o_item_count[o]
        item_rows = ranges(orders.o_item_start[o], count)
        element_line = np.repeat(np.arange(rows.shape[0]), count)
        it = orders.items
        product = it.product[item_rows]
        elements = cat(when(rank_within(element_line) > 0, ","),
                       '{"id":', lookup(product, catalog.skus),
                       ',"productId":', lookup(product, catalog.product_ids),
                       ',"name":', lookup(product, catalog.names),
                       ',"quantity":', num(it.quantity[item_rows]),
                       ',"seller":', lookup(orders.i_seller[item_rows], _SELLERS),
                       ',"price":', num(it.price[item_rows]),
                       ',"listPrice":', num(it.price[item_rows]),
                       ',"sellingPrice":', num(orders.i_selling_price[item_rows]), "}")
        uuid = users.uuid[user]
        tails = cat('],"clientProfileData":{"email":"', np.strings.replace(uuid, "-", ""),
                    '@ct.vtex.com.br","firstName":', users.name[user],
                    ',"userProfileId":"', uuid, '"', lookup(store, preferences, quote=False))
        return assemble(heads, elements, element_line, tails)

    return Feed("orders", orders.v_arrival_ms, render, gzip_main=True)


# ---------------------------------------------------------------------------------------------
# campaigns: a handful of admin events, written with json.dumps
# ---------------------------------------------------------------------------------------------

def campaigns_feed(rng: np.random.Generator, plan: CampaignPlan) -> Feed:
    events = plan.events()
    # one malformed line: an admin event exported with a local, unparseable timestamp
    extra = dict(events[int(rng.integers(0, len(events)))])
    extra["bad"] = True
    rows = events + [extra]
    arrival = np.array([e["occurred_at"] + 200 for e in rows], dtype=np.int64)
    arrival[-1] += R.SECOND_MS

    def line(event: dict) -> str:
        at = iso_utc(np.array([event["occurred_at"]]), millis=False)[0]
        doc = {k: v for k, v in event.items() if k != "bad"}
        doc["occurred_at"] = at
        if event.get("bad"):
            doc["occurred_at"] = local_format(at)
        return json.dumps(doc, ensure_ascii=False, separators=(",", ":")) + "\n"

    texts = np.array([line(e) for e in rows], dtype=S)

    def render(rows_: np.ndarray) -> np.ndarray:
        return texts[rows_]

    return Feed("campaigns", arrival, render, gzip_main=False, malformed_rows=np.array([len(rows) - 1]),
                force_file_quirks=False)
