"""The reminders: when each is sent, by which campaign, to whom, for which checkout."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from orchestration.generate import rates as R
from orchestration.generate.campaigns import CampaignPlan
from orchestration.generate.catalog import PRODUCTS, STORES
from orchestration.generate.text import HEX_UPPER, S, base64_records, hyphenate, radix, random_hex, scramble32
from orchestration.generate.users import Users, make_users


@dataclass
class Catalog:
    """Every store's products, indexed by a global product code (store code * size + local)."""

    size: int
    names: list[str]
    prices: np.ndarray  # cents
    skus: list[str]
    product_ids: list[str]


def make_catalog(store_keys: list[str]) -> Catalog:
    names: list[str] = []
    prices: list[int] = []
    skus: list[str] = []
    product_ids: list[str] = []
    size = len(PRODUCTS["pt"])
    for code, key in enumerate(store_keys):
        store = STORES[key]
        products = PRODUCTS[store.language]
        assert len(products) == size
        for local, (name, brl) in enumerate(products):
            names.append(name)
            price = brl if store.price_factor == 1 else int(round(brl * store.price_factor / 100)) * 100 - 10
            prices.append(price)
            skus.append(str(1000 + 97 * local + 7 * code))
            product_ids.append(str(100 + local + 50 * code))
    return Catalog(size, names, np.asarray(prices, dtype=np.int64), skus, product_ids)


@dataclass
class Items:
    """A list of items per owner row, as flat arrays (owner non-decreasing)."""

    owner: np.ndarray
    product: np.ndarray  # global product code
    quantity: np.ndarray
    price: np.ndarray  # cents

    def take(self, idx: np.ndarray) -> "Items":
        return Items(self.owner[idx], self.product[idx], self.quantity[idx], self.price[idx])

    @property
    def n(self) -> int:
        return self.owner.shape[0]


def draw_items(rng: np.random.Generator, catalog: Catalog, store: np.ndarray) -> Items:
    """1-4 distinct products per owner from its store's catalog."""
    n = store.shape[0]
    counts_values = np.array(list(R.CHECKOUT_ITEM_COUNT_WEIGHTS), dtype=np.int64)
    counts_p = np.array(list(R.CHECKOUT_ITEM_COUNT_WEIGHTS.values()))
    count = counts_values[rng.choice(len(counts_values), n, p=counts_p / counts_p.sum())]
    base = rng.integers(0, catalog.size, n)
    stride = rng.integers(1, catalog.size, n)  # the catalog size is prime: products are distinct
    owner = np.repeat(np.arange(n), count)
    position = np.arange(owner.shape[0]) - np.repeat(np.cumsum(count) - count, count)
    local = (base[owner] + position * stride[owner]) % catalog.size
    product = store[owner] * catalog.size + local
    q_values = np.array(list(R.ITEM_QUANTITY_WEIGHTS), dtype=np.int64)
    q_p = np.array(list(R.ITEM_QUANTITY_WEIGHTS.values()))
    quantity = q_values[rng.choice(len(q_values), owner.shape[0], p=q_p / q_p.sum())]
    return Items(owner, product, quantity, catalog.prices[product])


def wamids(rng: np.random.Generator, phones: np.ndarray, unique: np.ndarray, inbound: bool) -> np.ndarray:
    """WhatsApp message ids shaped like Meta's: "wamid." + base64 of a small protobuf holding the
    phone number and an upper-case hex id; the hex id starts with `unique` (distinct per row)."""
    n = phones.shape[0]
    out = np.empty(n, dtype=S)
    if n == 0:
        return out
    lengths = np.strings.str_len(phones)
    random_hex_digits = 12 if inbound else 10
    marker = (0x12, 0x18, 0x14) if inbound else (0x11, 0x18, 0x12)
    high = radix(scramble32(unique), 8, HEX_UPPER)
    low = radix(rng.integers(0, 1 << (4 * random_hex_digits), n, dtype=np.uint64), random_hex_digits, HEX_UPPER)
    for length in np.unique(lengths):
        rows = np.flatnonzero(lengths == length)
        length = int(length)
        body = 3 + length + 6 + 8 + random_hex_digits + 1
        width = -(-body // 3) * 3
        rec = np.zeros((rows.shape[0], width), dtype=np.uint8)
        rec[:, 0:3] = (0x1C, 0x18, length)
        rec[:, 3:3 + length] = np.frombuffer(phones[rows].astype(f"S{length}").tobytes(), dtype=np.uint8).reshape(-1, length)
        p = 3 + length
        rec[:, p:p + 6] = (0x15, 0x02, 0x00) + marker
        rec[:, p + 6:p + 14] = high[rows]
        rec[:, p + 14:p + 14 + random_hex_digits] = low[rows]
        out[rows] = np.strings.add("wamid.", base64_records(rec))
    return out


@dataclass
class Reminders:
    n: int
    sent_ms: np.ndarray  # sorted
    campaign: np.ndarray
    version: np.ndarray  # CampaignPlan.versions index in force when sent
    store: np.ndarray  # store code (Users.store_keys)
    user: np.ndarray
    message_id: np.ndarray  # S
    order_form_id: np.ndarray  # S, 32 lower-case hex digits
    form_id_hyphenated: np.ndarray  # bool: written hyphenated and upper case in the send log
    items: Items
    item_start: np.ndarray


def simulate_reminders(rng: np.random.Generator, plan: CampaignPlan, start_ms: int, days: int,
                       per_day: int) -> tuple[Reminders, Users, Catalog]:
    n = days * per_day
    day = np.repeat(np.arange(days, dtype=np.int64), per_day)
    hourly = np.asarray(R.HOURLY_SEND_WEIGHTS, dtype=float)
    hour = rng.choice(24, n, p=hourly / hourly.sum())
    time_of_day = hour * R.HOUR_MS + rng.integers(0, R.HOUR_MS, n)
    early = (day == 0) & (time_of_day < R.FIRST_SEND_OFFSET_MS)
    time_of_day[early] += R.FIRST_SEND_OFFSET_MS
    sent = np.sort(start_ms + day * R.DAY_MS + time_of_day, kind="stable")
    campaign = rng.choice(len(plan.campaigns), n, p=plan.weights)
    campaign, kept = plan.assign(campaign, sent)
    sent, campaign = sent[kept], campaign[kept]
    n = sent.shape[0]

    store_keys = list(dict.fromkeys(c.store for c in plan.campaigns))
    store_of_campaign = np.array([store_keys.index(c.store) for c in plan.campaigns], dtype=np.int64)
    store = store_of_campaign[campaign]
    per_store = {key: int((store == code).sum()) for code, key in enumerate(store_keys)}
    users = make_users(rng, per_store, R.USERS_PER_REMINDER, R.ORGANIC_ONLY_USERS_PER_REMINDER)
    catalog = make_catalog(store_keys)

    user = np.empty(n, dtype=np.int64)
    for code in range(len(store_keys)):
        rows = np.flatnonzero(store == code)
        first, end = users.reminded[code]
        user[rows] = rng.integers(first, end, rows.shape[0])

    message_id = wamids(rng, users.phone[user], np.arange(n), inbound=False)
    order_form_id = random_hex(rng, n)
    hyphenated = rng.random(n) < R.SEND_HYPHENATED_FORM_ID_RATE
    items = draw_items(rng, catalog, store)
    counts = np.bincount(items.owner, minlength=n)
    return (Reminders(n, sent, campaign, plan.version_codes(campaign, sent), store, user, message_id,
                      order_form_id, hyphenated, items, np.cumsum(counts) - counts),
            users, catalog)


def upper_hyphenated(hex32: np.ndarray) -> np.ndarray:
    """The orderFormId as some VTEX APIs write it: an upper-case, hyphenated UUID."""
    return np.strings.upper(hyphenate(hex32))
