"""Malformed lines, as real feeds have them: one of four defects (docs/spec.md section 1.6), each of which the
loader must reject and the source's JSON Schema does not accept:
- not_json: the line was cut in half;
- missing_key: a key field is absent;
- wrong_type: a field has a value of the wrong JSON type;
- bad_timestamp: a timestamp in a local format nobody can parse unambiguously (dd/mm/yyyy).
Only a few lines per source are corrupted, so this works line by line with `json`.
"""

from __future__ import annotations

import json
from datetime import datetime, timezone

KINDS = ("not_json", "missing_key", "wrong_type", "bad_timestamp")

_KEYS = {
    "sends": ("message_id", "campaign_id", "user_id", "sent_at"),
    "clicks": ("click_id", "message_id", "clicked_at"),
    "orders": ("orderId", "creationDate"),
    "campaigns": ("campaign_id", "event", "occurred_at"),
}
_TIMESTAMP = {"sends": "sent_at", "clicks": "clicked_at", "orders": "creationDate", "campaigns": "occurred_at"}
# (field, replacement) pairs of the wrong type
_WRONG = {
    "sends": (("sent_at", 1719316685), ("campaign_id", 17), ("checkout_items", "[]")),
    "clicks": (("clicked_at", 1719316685), ("message_id", None)),
    "orders": (("value", "109.80"), ("orderId", 1339340505390), ("items", {"id": "1"})),
    "campaigns": (("occurred_at", 1719316685),),
}


def _dumps(doc: dict) -> str:
    return json.dumps(doc, ensure_ascii=False, separators=(",", ":"))


def local_format(iso: str) -> str:
    """2024-06-25T11:58:05.514Z -> 25/06/2024 11:58:05"""
    return f"{iso[8:10]}/{iso[5:7]}/{iso[0:4]} {iso[11:19]}"


def corrupt(source: str, line: str, kind: str, pick: int) -> str:
    if kind == "not_json":
        return line[: max(1, len(line) // 2)]
    doc = json.loads(line)
    if source == "whatsapp":
        value = doc["entry"][0]["changes"][0]["value"]
        item = (value.get("statuses") or value.get("messages"))[0]
        if kind == "missing_key":
            item.pop(("id", "timestamp")[pick % 2])
        elif kind == "wrong_type":
            item["timestamp"] = int(item["timestamp"])
        else:
            at = datetime.fromtimestamp(int(item["timestamp"]), tz=timezone.utc)
            item["timestamp"] = at.strftime("%d/%m/%Y %H:%M:%S")
        return _dumps(doc)
    if kind == "missing_key":
        keys = _KEYS[source]
        doc.pop(keys[pick % len(keys)])
    elif kind == "wrong_type":
        options = _WRONG[source]
        field, replacement = options[pick % len(options)]
        doc[field] = replacement
    else:
        field = _TIMESTAMP[source]
        doc[field] = local_format(doc[field])
    return _dumps(doc)
