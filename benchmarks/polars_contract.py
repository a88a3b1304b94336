"""The feed contracts (docs/spec.md section 1.6, the JSON Schemas in models/) as the Polars peer
judges them: which lines and webhook items count. Used by benchmarks/polars_peer.py.

A line counts when the loader would load it. Polars settles nearly every rule natively:

- not JSON / not an object: `str.json_path_match("$")` is null for a line that is no JSON (the
  decoders, `str.json_decode` and `scan_ndjson`, stop the whole query on it instead);
- the JSON types: the objects are decoded by `read_ndjson(schema=..., ignore_errors=True)`, where
  a value of another JSON type than its column's becomes null: Binary takes JSON strings only
  (String would turn 17 into "17"), Int64 integers only (not 1.0, true or "1"), Struct objects,
  List lists; so a required field that decodes to null is missing or of the wrong type, and
  either way the line is bad;
- empty key fields, allowed values, ranges, timestamps and their bounds: expressions on the
  decoded columns.

What Polars cannot judge natively, and how it is handled:

- an optional field that decodes to null may be absent or JSON null (fine) or of the wrong type
  (bad): its decoder cannot say which. When the line's text names the key (or holds a `\\u`
  escape, which could spell it), the line is unsure and judged again with Python's `json`, by
  the same rules (`python_fits`): a handful of lines (none in the generated feeds but the
  malformed ones). A list item's property that is JSON null is a wrong type for the loader
  while an absent one is fine: the same unsure path settles it;
- timestamps: Polars parses ISO 8601 date-times (a T or a space, an offset, `Z` or none, 0 to 9
  fractional digits, truncated to microseconds). DuckDB's cast, which the loader uses, also
  takes a few other spellings (a date alone, minutes without seconds, a zone name): such a line
  is rejected here and loaded by the loader. This is the one rule not judged exactly; the feeds
  hold none (their timestamps are the producers' ISO 8601, the malformed ones dd/mm/yyyy);
- lines that are not valid UTF-8 are not told apart: `scan_lines` reads UTF-8 only.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta

import polars as pl

EARLIEST = datetime(2000, 1, 1)
RECEIVED_SLACK = timedelta(days=2)  # an instant this long after its file's dt= day is a producer bug
INSTANT_FORMATS = ("%Y-%m-%dT%H:%M:%S%.f%#z", "%Y-%m-%d %H:%M:%S%.f%#z", "%Y-%m-%dT%H:%M:%S%.f",
                   "%Y-%m-%d %H:%M:%S%.f")
UNIX_SECONDS = r"^[0-9]{1,12}$"
BIGINT = (-(2**63), 2**63 - 1)  # the loader casts integers to BIGINT: another value is out of range


@dataclass(frozen=True)
class Rule:
    """A property of a document or of a list's objects, as its JSON Schema has it."""

    kind: str  # text | instant | unix_seconds | integer | object | list (of objects)
    required: bool = False
    low: int | None = None
    high: int | None = None
    allowed: tuple[str, ...] = ()
    parts: tuple[str, ...] = ()  # object: the properties read from it (as text)
    items: dict[str, Rule] = field(default_factory=dict)  # list: its objects' properties


TEXT, KEY = Rule("text"), Rule("text", required=True)
OBJECT = Rule("object")

SENDS = {
    "message_id": KEY, "campaign_id": KEY, "user_id": KEY, "phone": TEXT, "order_form_id": TEXT,
    "template": TEXT, "language": TEXT, "sent_at": Rule("instant", required=True),
    "checkout_items": Rule("list", items={"id": KEY, "name": TEXT,
                                          "quantity": Rule("integer", True, 1, 100_000),
                                          "price": Rule("integer", True, 0, 10**11)}),
}
CLICKS = {"click_id": KEY, "message_id": KEY, "clicked_at": Rule("instant", required=True), "url": TEXT,
          "user_agent": TEXT}
ORDERS = {
    "orderId": KEY, "orderGroup": TEXT, "sequence": TEXT, "orderFormId": TEXT, "status": TEXT,
    "creationDate": Rule("instant", required=True), "lastChange": Rule("instant"), "value": Rule("integer", low=0),
    "totals": Rule("list", items={"id": TEXT, "value": Rule("integer")}),
    "items": Rule("list", items={"id": KEY, "productId": TEXT, "name": TEXT,
                                 "quantity": Rule("integer", True, 1, 100_000),
                                 "price": Rule("integer", False, 0, 10**11),
                                 "sellingPrice": Rule("integer", True, 0, 10**11)}),
    "clientProfileData": Rule("object", parts=("userProfileId",)),
    "storePreferencesData": Rule("object", parts=("currencyCode",)),
}
# A webhook body: its envelope, then each status and inbound message judged alone.
ENVELOPE = {"object": Rule("text", required=True, allowed=("whatsapp_business_account",)),
            "entry": Rule("list", required=True, items={"id": KEY, "changes": Rule("list", required=True)})}
STATUS = {"id": KEY, "status": Rule("text", required=True, allowed=("sent", "delivered", "read", "failed")),
          "timestamp": Rule("unix_seconds", required=True), "recipient_id": TEXT, "conversation": OBJECT,
          "pricing": OBJECT, "errors": Rule("list", items={"code": Rule("integer"), "title": TEXT})}
MESSAGE = {"from": TEXT, "id": KEY, "timestamp": Rule("unix_seconds", required=True), "type": KEY,
           "context": Rule("object", parts=("id",)), "button": OBJECT, "interactive": Rule("object", parts=("type",)),
           "text": OBJECT}


def dtype(rule: Rule) -> pl.DataType:
    """The column a property decodes into: null when its JSON value is of another type."""
    if rule.kind == "integer":
        return pl.Int64()
    if rule.kind == "object":
        return pl.Struct({part: pl.String() for part in rule.parts or ("_",)})
    if rule.kind == "list":
        return pl.List(pl.Struct({name: dtype(r) for name, r in rule.items.items()}) if rule.items else pl.String())
    return pl.Binary()  # JSON strings only


def schema(rules: dict[str, Rule]) -> dict[str, pl.DataType]:
    return {name: dtype(rule) for name, rule in rules.items()}


def instant(text: pl.Expr) -> pl.Expr:
    """ISO 8601 text -> naive UTC instant (microseconds), null when it does not parse."""
    return pl.coalesce([text.str.to_datetime(f, strict=False, time_unit="us", time_zone="UTC")
                        for f in INSTANT_FORMATS]).dt.replace_time_zone(None)


def unix_instant(text: pl.Expr) -> pl.Expr:
    return pl.when(text.str.contains(UNIX_SECONDS)).then(
        pl.from_epoch(text.str.to_integer(strict=False), time_unit="s").cast(pl.Datetime("us")))


def _mentioned(line: pl.Expr, name: str) -> pl.Expr:
    return line.str.contains(f'"{name}"', literal=True) | line.str.contains("\\u", literal=True)


def _outside(value: pl.Expr, rule: Rule) -> pl.Expr:
    out = pl.lit(False)
    if rule.low is not None:
        out = out | (value < rule.low)
    if rule.high is not None:
        out = out | (value > rule.high)
    return out


def verdict(rules: dict[str, Rule], line: pl.Expr, received: pl.Expr) -> tuple[pl.Expr, pl.Expr]:
    """(bad, unsure) of a document whose properties are columns: bad when Polars sees a broken
    rule, unsure when only Python's json can tell."""
    bad, unsure = pl.lit(False), pl.lit(False)
    for name, rule in rules.items():
        value = pl.col(name)
        present = value.is_not_null()
        if rule.required:
            bad = bad | ~present
        else:
            unsure = unsure | (~present & _mentioned(line, name))
        broken = pl.lit(False)
        if rule.kind == "text" and rule.required:
            broken = value == b""
        if rule.allowed:
            broken = broken | ~value.is_in([a.encode() for a in rule.allowed])
        if rule.kind in ("instant", "unix_seconds"):
            text = value.cast(pl.String)
            at = instant(text) if rule.kind == "instant" else unix_instant(text)
            broken = at.is_null() | (at < EARLIEST) | (at >= received.cast(pl.Datetime("us")) + RECEIVED_SLACK)
        if rule.kind == "integer":
            broken = _outside(value, rule)
        if rule.kind == "list" and rule.items:
            element = pl.element()
            broken = value.list.eval(element.is_null()).list.any()
            for item_name, item in rule.items.items():
                part = element.struct.field(item_name)
                if item.required:
                    broken = broken | value.list.eval(part.is_null()).list.any()
                else:
                    unsure = unsure | (value.list.eval(part.is_null()).list.any() & _mentioned(line, item_name))
                if item.kind == "integer":
                    broken = broken | value.list.eval(_outside(part, item)).list.any()
        bad = bad | (present & broken.fill_null(True))
    return bad.fill_null(True), unsure.fill_null(False)


# ------------------------------------------------------------------------------------------
# The same rules in Python, for the few unsure lines
# ------------------------------------------------------------------------------------------

def _python_instant(text: str, kind: str) -> datetime | None:
    column = pl.Series([text], dtype=pl.String)
    expr = instant(pl.col("t")) if kind == "instant" else unix_instant(pl.col("t"))
    return pl.DataFrame({"t": column}).select(expr).item()


def _fits(value, rule: Rule, received: date, in_list: bool) -> bool:
    """Whether a present value (JSON null included for a list's property) keeps `rule`."""
    if rule.kind in ("text", "instant", "unix_seconds"):
        if not isinstance(value, str) or (rule.required and not in_list and value == ""):
            return False
        if rule.allowed and value not in rule.allowed:
            return False
        if rule.kind != "text":
            at = _python_instant(value, rule.kind)
            return at is not None and EARLIEST <= at < datetime.combine(received, datetime.min.time()) + RECEIVED_SLACK
        return True
    if rule.kind == "integer":
        if not isinstance(value, int) or isinstance(value, bool):
            return False
        if not in_list and not BIGINT[0] <= value <= BIGINT[1]:
            return False  # the loader casts a document's integer to BIGINT
        return (rule.low is None or value >= rule.low) and (rule.high is None or value <= rule.high)
    if rule.kind == "object":
        return isinstance(value, dict)
    if not isinstance(value, list):
        return False
    for element in value:
        if not isinstance(element, dict):
            return False
        for name, item in rule.items.items():
            if name in element and not _fits(element[name], item, received, in_list=True):
                return False
            if item.required and element.get(name) is None:
                return False
    return True


def python_fits(doc, rules: dict[str, Rule], received: date) -> bool:
    """The rules on a parsed document: a JSON null property of a document is absent."""
    if not isinstance(doc, dict):
        return False
    for name, rule in rules.items():
        value = doc.get(name)
        if value is None:
            if rule.required:
                return False
            continue
        if not _fits(value, rule, received, in_list=False):
            return False
    return True


def python_item(line: str, path: tuple[int, int], stream: str, position: int):
    """The webhook item at (entry, change) position `path`, `stream` position `position`."""
    body = json.loads(line)
    entry, change = path
    return body["entry"][entry]["changes"][change]["value"][stream][position]
