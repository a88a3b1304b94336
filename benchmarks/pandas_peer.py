"""The pandas peer: docs/spec.md section 2 the way a data person without this project would write it.

Read every JSONL file with `json`, skip the lines that break the feed contracts (docs/spec.md section 1.6), then
pandas: drop_duplicates for the at-least-once feeds, groupby for the reminder lifecycle and the
purchases, merge_asof for "the latest click / delivery before the purchase", groupby again for
the daily metrics. No DuckDB, no dbt.

    python benchmarks/pandas_peer.py LANDING_DIR OUT_DIR

writes OUT_DIR/conversions.csv and OUT_DIR/daily_metrics.csv (days are UTC days), and its
read and transform times to OUT_DIR/timings.json. The benchmark
(orchestration/bench) times it and checks that it finds the same conversions as the marts.
"""

from __future__ import annotations

import gzip
import json
import re
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd

CLICK_WINDOW = pd.Timedelta(hours=360)
ASSISTED_WINDOW = pd.Timedelta(hours=72)
INSTANT = "datetime64[us]"  # naive UTC, microseconds: the warehouse's TIMESTAMP
UNIX_SECONDS = re.compile(r"[0-9]{1,12}")

EARLIEST = pd.Timestamp("2000-01-01")
RECEIVED_SLACK = pd.Timedelta(days=2)  # an instant this long after its file's dt= day is a producer bug

# What a line must hold to be loaded (the JSON Schemas in models/): required fields, the JSON
# type of each field, the allowed values, and for lists of items the same for each item, with
# (minimum, maximum) ranges. Timestamps must parse, and lie between 2000 and the file's receipt.
ITEM_RANGES = {"quantity": (1, 100_000), "price": (0, 10**11), "sellingPrice": (0, 10**11)}
FLAT_RULES = {
    "sends": {
        "required": ("message_id", "campaign_id", "user_id", "sent_at"),
        "types": {"message_id": str, "campaign_id": str, "user_id": str, "phone": str,
                  "order_form_id": str, "template": str, "language": str, "sent_at": str,
                  "checkout_items": list},
        "items": {"checkout_items": {"required": ("id", "quantity", "price"),
                                     "types": {"id": str, "name": str, "quantity": int, "price": int}}},
    },
    "clicks": {
        "required": ("click_id", "message_id", "clicked_at"),
        "types": {"click_id": str, "message_id": str, "clicked_at": str, "url": str, "user_agent": str},
    },
    "orders": {
        "required": ("orderId", "creationDate"),
        "types": {"orderId": str, "orderGroup": str, "sequence": str, "orderFormId": str, "status": str,
                  "creationDate": str, "lastChange": str, "value": int, "totals": list, "items": list,
                  "clientProfileData": dict, "storePreferencesData": dict},
        "ranges": {"value": (0, None)},
        "items": {"items": {"required": ("id", "quantity", "sellingPrice"),
                            "types": {"id": str, "productId": str, "name": str, "quantity": int, "price": int,
                                      "sellingPrice": int}}},
    },
}
STATUS_RULES = {
    "required": ("id", "status", "timestamp"),
    "types": {"id": str, "status": str, "timestamp": str, "recipient_id": str, "conversation": dict,
              "pricing": dict, "errors": list},
    "allowed": {"status": {"sent", "delivered", "read", "failed"}},
}
MESSAGE_RULES = {
    "required": ("id", "timestamp", "type"),
    "types": {"from": str, "id": str, "timestamp": str, "type": str, "context": dict, "button": dict,
              "interactive": dict, "text": dict},
}


def landing_files(landing: Path, source: str) -> list[Path]:
    # The loader's order (by path): "the first copy loaded" means the same line here.
    return sorted(list(landing.glob(f"{source}/dt=*/*.jsonl")) + list(landing.glob(f"{source}/dt=*/*.jsonl.gz")),
                  key=str)


def read_documents(landing: Path, source: str):
    """(received day, document) for every line of a source that is a JSON object, in loading order."""
    for path in landing_files(landing, source):
        received = path.parent.name.removeprefix("dt=")
        opener = gzip.open if path.suffix == ".gz" else open
        with opener(path, "rt", encoding="utf-8", errors="replace") as lines:
            for line in lines:
                if not line.strip():
                    continue
                try:
                    doc = json.loads(line)
                except ValueError:
                    continue
                if isinstance(doc, dict):
                    yield received, doc


def _has_type(value, expected) -> bool:
    return isinstance(value, expected) and not (expected is int and isinstance(value, bool))


def _in_range(value, bounds) -> bool:
    low, high = bounds
    return (low is None or value >= low) and (high is None or value <= high)


def follows(doc: dict, rules: dict) -> bool:
    for name in rules["required"]:
        if doc.get(name) is None or doc[name] == "":
            return False
    for name, expected in rules["types"].items():
        value = doc.get(name)
        if value is not None and not _has_type(value, expected):
            return False
    for name, allowed in rules.get("allowed", {}).items():
        if name in doc and doc[name] not in allowed:
            return False
    for name, bounds in rules.get("ranges", {}).items():
        if doc.get(name) is not None and not _in_range(doc[name], bounds):
            return False
    for name, item_rules in rules.get("items", {}).items():
        for item in doc.get(name) or []:
            if not isinstance(item, dict) or any(key not in item for key in item_rules["required"]):
                return False
            for key, expected in item_rules["types"].items():
                if key in item and not _has_type(item[key], expected):
                    return False
                if key in ITEM_RANGES and key in item and not _in_range(item[key], ITEM_RANGES[key]):
                    return False
    return True


def parse_instants(values: pd.Series) -> pd.Series:
    """ISO 8601 with any offset -> naive UTC, truncated to microseconds (as the warehouse)."""
    parsed = pd.to_datetime(values, format="ISO8601", utc=True, errors="coerce")
    return parsed.dt.tz_localize(None).dt.floor("us").astype(INSTANT)


def keep_plausible_instants(frame: pd.DataFrame, instants: dict[str, pd.Series]) -> pd.DataFrame:
    """Drop the lines with a timestamp that is present but unparseable, before 2000, or after
    the day its file was received (plus slack); `instants`: parsed column -> its text."""
    received = pd.to_datetime(frame["received"])
    keep = np.ones(len(frame), dtype=bool)
    for column, text in instants.items():
        at = frame[column]
        bad = at.isna() | (at < EARLIEST) | (at >= received + RECEIVED_SLACK)
        keep &= ~(text.notna().to_numpy() & bad.to_numpy())
    return frame[keep].drop(columns="received").reset_index(drop=True)


# ------------------------------------------------------------------------------------------
# Reading the feeds
# ------------------------------------------------------------------------------------------

def read_sends(landing: Path) -> pd.DataFrame:
    rows = [(received, d["message_id"], d["campaign_id"], d["user_id"], d["sent_at"])
            for received, d in read_documents(landing, "sends") if follows(d, FLAT_RULES["sends"])]
    sends = pd.DataFrame(rows, columns=["received", "message_id", "campaign_id", "user_id", "sent_at_text"])
    sends["sent_at"] = parse_instants(sends["sent_at_text"])
    sends = keep_plausible_instants(sends, {"sent_at": sends["sent_at_text"]}).drop(columns="sent_at_text")
    return sends.drop_duplicates("message_id", keep="first")


def read_webhooks(landing: Path) -> tuple[pd.DataFrame, pd.DataFrame]:
    statuses, taps = [], []
    for received, body in read_documents(landing, "whatsapp"):
        if body.get("object") != "whatsapp_business_account" or not isinstance(body.get("entry"), list):
            continue
        for entry in body["entry"]:
            for change in (entry.get("changes") or []) if isinstance(entry, dict) else []:
                value = change.get("value") if isinstance(change, dict) else None
                if not isinstance(value, dict):
                    continue
                for status in value.get("statuses") or []:
                    if (isinstance(status, dict) and follows(status, STATUS_RULES)
                            and UNIX_SECONDS.fullmatch(status["timestamp"])):
                        statuses.append((received, status["id"], status["status"], int(status["timestamp"])))
                for message in value.get("messages") or []:
                    if not (isinstance(message, dict) and follows(message, MESSAGE_RULES)
                            and UNIX_SECONDS.fullmatch(message["timestamp"])):
                        continue
                    kind = message["type"]
                    is_tap = kind == "button" or (
                        kind == "interactive" and (message.get("interactive") or {}).get("type") == "button_reply")
                    if is_tap:
                        taps.append((received, message["id"], (message.get("context") or {}).get("id"),
                                     int(message["timestamp"])))
    statuses = pd.DataFrame(statuses, columns=["received", "message_id", "status", "status_at"])
    statuses["status_at"] = pd.to_datetime(statuses["status_at"], unit="s").astype(INSTANT)
    statuses = keep_plausible_instants(statuses, {"status_at": statuses["status_at"]})
    taps = pd.DataFrame(taps, columns=["received", "tap_id", "message_id", "clicked_at"])
    taps["clicked_at"] = pd.to_datetime(taps["clicked_at"], unit="s").astype(INSTANT)
    taps = keep_plausible_instants(taps, {"clicked_at": taps["clicked_at"]})
    return statuses, taps


def read_clicks(landing: Path, taps: pd.DataFrame) -> pd.DataFrame:
    rows = [(received, d["click_id"], d["message_id"], d["clicked_at"])
            for received, d in read_documents(landing, "clicks") if follows(d, FLAT_RULES["clicks"])]
    links = pd.DataFrame(rows, columns=["received", "click_id", "message_id", "clicked_at_text"])
    links["clicked_at"] = parse_instants(links["clicked_at_text"])
    links = keep_plausible_instants(links, {"clicked_at": links["clicked_at_text"]})
    links = links.drop_duplicates("click_id", keep="first")[["message_id", "clicked_at"]]
    taps = taps.drop_duplicates("tap_id", keep="first")
    taps = taps[taps["message_id"].notna()][["message_id", "clicked_at"]]
    return pd.concat([links, taps], ignore_index=True)


def read_orders(landing: Path) -> pd.DataFrame:
    rows = []
    for received, d in read_documents(landing, "orders"):
        if not follows(d, FLAT_RULES["orders"]):
            continue
        cents = sum(item["sellingPrice"] * item["quantity"] for item in d.get("items") or [])
        rows.append((received, d["orderId"], d.get("orderGroup") or d["orderId"], d.get("status"),
                     d["creationDate"], d.get("lastChange"), (d.get("clientProfileData") or {}).get("userProfileId"),
                     (d.get("storePreferencesData") or {}).get("currencyCode"), cents))
    orders = pd.DataFrame(rows, columns=["received", "order_id", "purchase_id", "status", "created_text",
                                         "changed_text", "user_id", "currency", "total_cents"])
    orders["created_at"] = parse_instants(orders["created_text"])
    orders["last_change"] = parse_instants(orders["changed_text"])
    orders = keep_plausible_instants(orders, {"created_at": orders["created_text"],
                                              "last_change": orders["changed_text"]})
    orders["loaded"] = np.arange(len(orders))
    return orders.drop(columns=["created_text", "changed_text"])


# ------------------------------------------------------------------------------------------
# The rules
# ------------------------------------------------------------------------------------------

def track_reminders(sends: pd.DataFrame, statuses: pd.DataFrame, clicks: pd.DataFrame) -> pd.DataFrame:
    proofs = pd.concat([
        statuses.loc[statuses["status"].isin(["delivered", "read"]), ["message_id", "status_at"]]
        .rename(columns={"status_at": "at"}),
        clicks.rename(columns={"clicked_at": "at"}),
    ])
    delivered = proofs.groupby("message_id")["at"].min().rename("delivered_at")
    read = statuses[statuses["status"] == "read"].groupby("message_id")["status_at"].min().rename("read_at")
    failed = statuses[statuses["status"] == "failed"].groupby("message_id")["status_at"].min().rename("failed_at")
    reminders = sends.join(delivered, on="message_id").join(read, on="message_id").join(failed, on="message_id")
    reminders.loc[reminders["delivered_at"].notna(), "failed_at"] = pd.NaT
    return reminders


def build_purchases(orders: pd.DataFrame) -> pd.DataFrame:
    latest = (orders.sort_values(["last_change", "loaded"], na_position="first")
              .drop_duplicates("order_id", keep="last"))
    live = latest[latest["status"].fillna("").str.lower() != "canceled"]
    # Split orders share the buyer and the currency: take the first order's.
    first_orders = (live.sort_values(["created_at", "order_id"])
                    .drop_duplicates("purchase_id", keep="first")[["purchase_id", "user_id", "currency"]])
    totals = live.groupby("purchase_id").agg(created_at=("created_at", "min"), total_cents=("total_cents", "sum"))
    return first_orders.join(totals, on="purchase_id")


def attribute(purchases: pd.DataFrame, reminders: pd.DataFrame, clicks: pd.DataFrame) -> pd.DataFrame:
    buyers = purchases[purchases["user_id"].notna()].sort_values("created_at")
    # 1. Click-through: the latest click strictly before the purchase, if within 360 h.
    reminder_clicks = clicks.merge(reminders[["message_id", "user_id", "delivered_at"]], on="message_id")
    reminder_clicks = reminder_clicks.sort_values(["clicked_at", "delivered_at", "message_id"], na_position="first")
    latest_click = pd.merge_asof(buyers, reminder_clicks, left_on="created_at", right_on="clicked_at",
                                 by="user_id", direction="backward", allow_exact_matches=False)
    click_through = latest_click[latest_click["clicked_at"].notna()
                                 & (latest_click["created_at"] <= latest_click["clicked_at"] + CLICK_WINDOW)]
    click_through = click_through.assign(attribution_type="click_through")
    # 2. Assisted: the latest delivery strictly before the purchase, if within 72 h.
    rest = buyers[~buyers["purchase_id"].isin(click_through["purchase_id"])]
    deliveries = reminders.loc[reminders["delivered_at"].notna(), ["message_id", "user_id", "delivered_at"]]
    deliveries = deliveries.sort_values(["delivered_at", "message_id"])
    latest_delivery = pd.merge_asof(rest, deliveries, left_on="created_at", right_on="delivered_at",
                                    by="user_id", direction="backward", allow_exact_matches=False)
    assisted = latest_delivery[latest_delivery["delivered_at"].notna()
                               & (latest_delivery["created_at"] <= latest_delivery["delivered_at"] + ASSISTED_WINDOW)]
    assisted = assisted.assign(attribution_type="assisted", clicked_at=pd.NaT)
    columns = ["purchase_id", "message_id", "attribution_type", "created_at", "clicked_at", "total_cents", "currency"]
    conversions = pd.concat([click_through[columns], assisted[columns]], ignore_index=True)
    conversions = conversions.merge(reminders[["message_id", "campaign_id"]], on="message_id")
    return conversions.rename(columns={"purchase_id": "conversion_id", "created_at": "order_created_at"})


def daily_metrics(reminders: pd.DataFrame, clicks: pd.DataFrame, conversions: pd.DataFrame,
                  last_date: pd.Timestamp) -> pd.DataFrame:
    def per_day(frame: pd.DataFrame, at: str, name: str) -> pd.Series:
        frame = frame[frame[at].notna()]
        return frame.groupby(["campaign_id", frame[at].dt.normalize().rename("metric_date")]).size().rename(name)

    reminder_clicks = clicks.merge(reminders[["message_id", "campaign_id", "user_id"]], on="message_id")
    click_day = reminder_clicks["clicked_at"].dt.normalize().rename("metric_date")
    by_click_day = reminder_clicks.groupby(["campaign_id", click_day])
    conversion_day = conversions["order_created_at"].dt.normalize().rename("metric_date")
    by_conversion_day = conversions.groupby(["campaign_id", conversion_day])
    value = conversions["total_cents"]
    counts = pd.concat([
        per_day(reminders, "sent_at", "messages_sent"),
        per_day(reminders, "delivered_at", "messages_delivered"),
        per_day(reminders, "failed_at", "messages_failed"),
        per_day(reminders, "read_at", "messages_read"),
        by_click_day["user_id"].nunique().rename("unique_clicks"),
        by_click_day.size().rename("total_clicks"),
        by_conversion_day["attribution_type"].apply(lambda t: (t == "assisted").sum()).rename("assisted_conversions"),
        by_conversion_day["attribution_type"].apply(lambda t: (t == "click_through").sum())
        .rename("click_through_conversions"),
        by_conversion_day.size().rename("total_conversions"),
        value.where(conversions["attribution_type"] == "assisted", 0)
        .groupby([conversions["campaign_id"], conversion_day]).sum().rename("assisted_conversion_value"),
        value.where(conversions["attribution_type"] == "click_through", 0)
        .groupby([conversions["campaign_id"], conversion_day]).sum().rename("click_through_conversion_value"),
        by_conversion_day["total_cents"].sum().rename("total_conversion_value"),
        by_conversion_day["currency"].min().rename("currency"),
    ], axis=1)

    first_days = reminders.groupby("campaign_id")["sent_at"].min().dt.normalize()
    calendar = pd.MultiIndex.from_tuples(
        [(campaign, day) for campaign, first in first_days.items()
         for day in pd.date_range(first, last_date, freq="D")],
        names=["campaign_id", "metric_date"])
    metrics = counts.reindex(calendar)
    numbers = [c for c in metrics.columns if c != "currency"]
    metrics[numbers] = metrics[numbers].fillna(0).astype("int64")
    for column in ("assisted_conversion_value", "click_through_conversion_value", "total_conversion_value"):
        metrics[column] = metrics[column].map(cents_text)
    return metrics.reset_index()


def cents_text(cents: int) -> str:
    return f"{cents // 100}.{cents % 100:02d}"


def main(landing: Path, out: Path) -> dict[str, float]:
    seconds: dict[str, float] = {}
    started = time.perf_counter()
    sends = read_sends(landing)
    statuses, taps = read_webhooks(landing)
    clicks = read_clicks(landing, taps)
    orders = read_orders(landing)
    seconds["read"] = time.perf_counter() - started

    started = time.perf_counter()
    reminders = track_reminders(sends, statuses, clicks)
    purchases = build_purchases(orders)
    conversions = attribute(purchases, reminders, clicks)
    last_date = max(sends["sent_at"].max(), statuses["status_at"].max(), clicks["clicked_at"].max(),
                    orders["created_at"].max()).normalize()
    metrics = daily_metrics(reminders, clicks, conversions, last_date)
    seconds["transform"] = time.perf_counter() - started

    out.mkdir(parents=True, exist_ok=True)
    conversions = conversions.assign(order_total=conversions["total_cents"].map(cents_text))
    conversions[["conversion_id", "message_id", "campaign_id", "attribution_type", "order_total",
                 "order_created_at", "clicked_at", "currency"]].to_csv(out / "conversions.csv", index=False)
    metrics.to_csv(out / "daily_metrics.csv", index=False, date_format="%Y-%m-%d")
    (out / "timings.json").write_text(json.dumps(seconds))
    return seconds


if __name__ == "__main__":
    if len(sys.argv) != 3:
        sys.exit("usage: python benchmarks/pandas_peer.py LANDING_DIR OUT_DIR")
    print(json.dumps(main(Path(sys.argv[1]), Path(sys.argv[2]))))
