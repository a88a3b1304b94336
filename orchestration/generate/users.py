"""Shoppers: a UUID (VTEX userProfileId), a unique WhatsApp number, a first name, per store.

Each store has a pool of users who get reminders and a smaller pool of users who only ever buy
on their own (organic purchases).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from orchestration.generate.catalog import BR_AREA_CODES, FIRST_NAMES, MX_AREA_CODES, STORES
from orchestration.generate.text import S, cat, lookup, padded, uuid4

_SHUFFLE = 61_803_397  # odd, not a multiple of 5: i -> i * _SHUFFLE mod 10^k is a bijection


@dataclass
class Users:
    store_keys: list[str]  # store code -> key
    store: np.ndarray  # store code per user
    uuid: np.ndarray  # S
    phone: np.ndarray  # S, digits only (the WhatsApp wa_id)
    name: np.ndarray  # S, JSON string literal of the first name
    reminded: dict[int, tuple[int, int]]  # store code -> [first, end) of its reminded pool
    organic: dict[int, tuple[int, int]]  # store code -> [first, end) of its organic-only pool


def _phones(rng: np.random.Generator, key: str, n: int) -> np.ndarray:
    store = STORES[key]
    serial = np.arange(n, dtype=np.int64)
    if key == "br":
        area = np.asarray(BR_AREA_CODES)[rng.integers(0, len(BR_AREA_CODES), n)]
        subscriber = (serial * _SHUFFLE + 12_345_678) % 10**8
        return cat(store.phone_prefix, padded(area, 2), "9", padded(subscriber, 8))
    if key == "mx":
        codes = np.asarray(MX_AREA_CODES)[rng.integers(0, len(MX_AREA_CODES), n)]
        two = codes < 100
        subscriber = (serial * _SHUFFLE + 2_345_678) % 10**7  # unique within a code length
        number = np.where(two, codes * 10**8 + 10**7 + subscriber, codes * 10**7 + subscriber)
        return cat(store.phone_prefix, padded(number, 10))
    subscriber = (serial * _SHUFFLE + 100_000_000) % 10**store.phone_digits
    return cat(store.phone_prefix, padded(subscriber, store.phone_digits))


def make_users(rng: np.random.Generator, reminders_per_store: dict[str, int],
               reminded_per_reminder: float, organic_per_reminder: float) -> Users:
    keys = list(reminders_per_store)
    stores, uuids, phones, names = [], [], [], []
    reminded: dict[int, tuple[int, int]] = {}
    organic: dict[int, tuple[int, int]] = {}
    first = 0
    for code, key in enumerate(keys):
        count = reminders_per_store[key]
        n_reminded = max(1, int(np.ceil(count * reminded_per_reminder)))
        n_organic = max(1, int(np.ceil(count * organic_per_reminder)))
        n = n_reminded + n_organic
        reminded[code] = (first, first + n_reminded)
        organic[code] = (first + n_reminded, first + n)
        first += n
        stores.append(np.full(n, code, dtype=np.int64))
        uuids.append(uuid4(rng, n))
        phones.append(_phones(rng, key, n))
        language_names = FIRST_NAMES[STORES[key].language]
        names.append(lookup(rng.integers(0, len(language_names), n), language_names))
    return Users(keys, np.concatenate(stores), np.concatenate(uuids).astype(S),
                 np.concatenate(phones).astype(S), np.concatenate(names).astype(S), reminded, organic)
