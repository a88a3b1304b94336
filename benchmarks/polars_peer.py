"""The Polars peer: docs/spec.md section 2 the way a data person who picks the fastest DataFrame
library would write it, without this project.

`pl.scan_lines` reads the landing JSONL (gzip included) with each line's position; the lines
that break the feed contracts (docs/spec.md section 1.6) are left out by
benchmarks/polars_contract.py, so that a line the loader rejects never counts. Its docstring
details the rules; in short, Polars judges natively JSON validity (`str.json_path_match`) and
types (`read_ndjson(schema=..., ignore_errors=True)`, where a value of another JSON type
decodes to null: `scan_ndjson` and `str.json_decode` stop the whole read at the first cut line
or mismatch instead), and the values. It cannot tell an absent optional field from one of the
wrong type (both decode to null): such a line, if its text names the key, is judged again
with Python's `json` (a handful of lines). DuckDB's timestamp cast takes a few spellings that
Polars' ISO 8601 parsing does not (a date alone...): the one rule not judged exactly, and no
feed here holds one. Polars' reader is slow and memory-hungry on the nested webhook bodies, so
the files are read one by one in chunks.

The rules are Polars' lazy API: `unique` for the at-least-once feeds, `group_by` for the
reminder lifecycle and the purchases, `join_asof` (strictly before, by user) for "the latest
click / delivery before the purchase", `group_by` again for the daily metrics. No DuckDB, no
dbt, no pandas.

    python benchmarks/polars_peer.py LANDING_DIR OUT_DIR

writes OUT_DIR/conversions.csv and OUT_DIR/daily_metrics.csv (days are UTC days), and its read
and transform times to OUT_DIR/timings.json. The benchmark (orchestration/bench) times it and
checks that it finds the same conversions and daily metrics as the marts.
"""

from __future__ import annotations

import json
import sys
import time
from collections.abc import Callable
from datetime import date, timedelta
from pathlib import Path

import polars as pl

import polars_contract as contract

CLICK_WINDOW = timedelta(hours=360)
ASSISTED_WINDOW = timedelta(hours=72)
INSTANT = pl.Datetime("us")  # naive UTC, microseconds: the warehouse's TIMESTAMP
CHUNK_LINES = 50_000  # lines decoded at a time: nested webhook bodies take much memory in Polars' reader


def landing_files(landing: Path, source: str) -> list[str]:
    # The loader's order (by path): "the first copy loaded" is the lowest `row` here.
    return sorted(str(p) for p in landing.glob(f"{source}/dt=*/*") if p.name.endswith((".jsonl", ".jsonl.gz")))


def read_source(landing: Path, source: str, schema: dict, keep: Callable[[pl.DataFrame], pl.DataFrame]) -> pl.DataFrame:
    """`keep` applied to every line of a source that is a JSON object, file by file and in chunks
    (memory holds one chunk's decoded lines at a time): the line's position in loading order
    (`row`), the day its file was received, its text, and its properties decoded by `schema`'s
    types."""
    parts, offset = [], 0
    for path in landing_files(landing, source):
        lines = pl.scan_lines(path, name="line", row_index_name="row", row_index_offset=offset).collect()
        offset += lines.height
        objects = lines.filter(pl.col("line").str.strip_chars_start().str.starts_with("{")
                               & pl.col("line").str.json_path_match("$").is_not_null())
        objects = objects.with_columns(received=pl.lit(date.fromisoformat(Path(path).parent.name.removeprefix("dt="))))
        for chunk in objects.iter_slices(CHUNK_LINES):
            decoded = pl.read_ndjson(chunk.select(pl.col("line").str.join("\n")).item().encode(), schema=schema,
                                     ignore_errors=True)
            parts.append(keep(pl.concat([chunk, decoded], how="horizontal")))
    if not parts:
        parts.append(keep(pl.DataFrame(schema={"row": pl.UInt32, "line": pl.String, "received": pl.Date, **schema})))
    return pl.concat(parts)


def judged(frame: pl.DataFrame, rules: dict, document=None) -> pl.DataFrame:
    """The rows of `frame` that keep the contract `rules`; `document(row)` gives the Python
    value of a row's document for the few that Polars cannot settle."""
    bad, unsure = contract.verdict(rules, pl.col("line"), pl.col("received"))
    marked = frame.with_columns(_bad=bad, _unsure=unsure)
    sure = marked.filter(~pl.col("_bad") & ~pl.col("_unsure"))
    doubtful = marked.filter(~pl.col("_bad") & pl.col("_unsure"))
    if doubtful.height:
        keep = [contract.python_fits(document(row) if document else json.loads(row["line"]), rules, row["received"])
                for row in doubtful.iter_rows(named=True)]
        sure = pl.concat([sure, doubtful.filter(pl.Series(keep, dtype=pl.Boolean))]).sort("row")
    return sure.drop("_bad", "_unsure")


def text(name: str) -> pl.Expr:
    return pl.col(name).cast(pl.String)


# ------------------------------------------------------------------------------------------
# Reading the feeds
# ------------------------------------------------------------------------------------------

def read_sends(landing: Path) -> pl.LazyFrame:
    def keep(lines: pl.DataFrame) -> pl.DataFrame:
        return judged(lines, contract.SENDS).select("row", text("message_id"), text("campaign_id"), text("user_id"),
                                                    contract.instant(text("sent_at")).alias("sent_at"))

    sends = read_source(landing, "sends", contract.schema(contract.SENDS), keep)
    return sends.lazy().sort("row").unique("message_id", keep="first", maintain_order=True).drop("row")


def read_clicks(landing: Path) -> pl.LazyFrame:
    def keep(lines: pl.DataFrame) -> pl.DataFrame:
        return judged(lines, contract.CLICKS).select("row", text("click_id"), text("message_id"),
                                                     contract.instant(text("clicked_at")).alias("clicked_at"))

    clicks = read_source(landing, "clicks", contract.schema(contract.CLICKS), keep)
    return clicks.lazy().sort("row").unique("click_id", keep="first", maintain_order=True).drop("row", "click_id")


def read_orders(landing: Path) -> pl.LazyFrame:
    item = pl.element().struct
    cents = pl.col("items").list.eval(item.field("sellingPrice") * item.field("quantity")).list.sum().fill_null(0)
    group = pl.when(text("orderGroup") != "").then(text("orderGroup"))

    def keep(lines: pl.DataFrame) -> pl.DataFrame:
        return judged(lines, contract.ORDERS).select(
            "row", text("orderId").alias("order_id"), pl.coalesce(group, text("orderId")).alias("purchase_id"),
            text("status"), contract.instant(text("creationDate")).alias("created_at"),
            contract.instant(text("lastChange")).alias("last_change"),
            pl.col("clientProfileData").struct.field("userProfileId").alias("user_id"),
            pl.col("storePreferencesData").struct.field("currencyCode").alias("currency"),
            cents.alias("total_cents"))

    return read_source(landing, "orders", contract.schema(contract.ORDERS), keep).lazy()


WEBHOOK_STREAMS = {"statuses": contract.STATUS, "messages": contract.MESSAGE}


def webhook_items(lines: pl.DataFrame) -> pl.DataFrame:
    """The statuses and inbound messages of the bodies that keep the envelope's rules, each
    judged alone (a bad one is left out, the rest of its body counts), with their positions."""
    bodies = judged(lines, contract.ENVELOPE)
    changes = (bodies.select("row", "received", "line", "entry")
               .with_columns(entry_at=pl.int_ranges(pl.col("entry").list.len())).explode("entry", "entry_at")
               .with_columns(changes=pl.col("entry").struct.field("changes"))
               .with_columns(change_at=pl.int_ranges(pl.col("changes").list.len())).explode("changes", "change_at")
               .filter(pl.col("change_at").is_not_null()))
    found = []
    for stream, rules in WEBHOOK_STREAMS.items():
        # A list element that is no object decodes to nulls: its required id is missing, so it is bad.
        rows = (changes.with_columns(item=pl.col("changes").struct.field("value").struct.field(stream))
                .with_columns(item_at=pl.int_ranges(pl.col("item").list.len())).explode("item", "item_at")
                .filter(pl.col("item_at").is_not_null())
                .select("row", "received", "line", "entry_at", "change_at", "item_at", pl.col("item").struct.unnest()))

        def document(row: dict, stream=stream) -> object:
            return contract.python_item(row["line"], (row["entry_at"], row["change_at"]), stream, row["item_at"])

        kept = judged(rows, rules, document)
        is_status = stream == "statuses"
        found.append(kept.select(
            pl.lit(stream).alias("stream"), "row", "entry_at", "change_at", "item_at", text("id"),
            (text("status") if is_status else pl.lit(None, pl.String)).alias("status"),
            contract.unix_instant(text("timestamp")).alias("at"),
            (pl.lit(None, pl.String) if is_status else pl.col("context").struct.field("id")).alias("context_id"),
            (pl.lit(False) if is_status else (text("type") == "button") | (
                (text("type") == "interactive") & (pl.col("interactive").struct.field("type") == "button_reply"))
             ).alias("is_tap")))
    return pl.concat(found)


def read_webhooks(landing: Path) -> tuple[pl.LazyFrame, pl.LazyFrame]:
    """(statuses, button taps)."""
    change = pl.Struct({"value": pl.Struct({s: pl.List(pl.Struct(contract.schema(r)))
                                            for s, r in WEBHOOK_STREAMS.items()})})
    schema = {"object": pl.Binary(), "entry": pl.List(pl.Struct({"id": pl.Binary(), "changes": pl.List(change)}))}
    items = read_source(landing, "whatsapp", schema, webhook_items).lazy()
    statuses = (items.filter(pl.col("stream") == "statuses")
                .select(pl.col("id").alias("message_id"), "status", pl.col("at").alias("status_at")))
    taps = (items.filter((pl.col("stream") == "messages") & pl.col("is_tap"))
            .sort("row", "entry_at", "change_at", "item_at").unique("id", keep="first", maintain_order=True)
            .filter(pl.col("context_id").is_not_null())
            .select(pl.col("context_id").alias("message_id"), pl.col("at").alias("clicked_at")))
    return statuses, taps


# ------------------------------------------------------------------------------------------
# The rules
# ------------------------------------------------------------------------------------------

def track_reminders(sends: pl.LazyFrame, statuses: pl.LazyFrame, clicks: pl.LazyFrame) -> pl.LazyFrame:
    """A delivered or read status, or a click, proves delivery; failed only if never delivered."""
    at = pl.col("status_at")
    lifecycle = statuses.group_by("message_id").agg(
        at.filter(pl.col("status").is_in(["delivered", "read"])).min().alias("delivered_status_at"),
        at.filter(pl.col("status") == "read").min().alias("read_at"),
        at.filter(pl.col("status") == "failed").min().alias("failed_status_at"))
    first_clicks = clicks.group_by("message_id").agg(pl.col("clicked_at").min().alias("first_clicked_at"))
    delivered = pl.min_horizontal("delivered_status_at", "first_clicked_at")  # skips nulls
    return (sends.join(lifecycle, on="message_id", how="left").join(first_clicks, on="message_id", how="left")
            .select("message_id", "campaign_id", "user_id", "sent_at", delivered.alias("delivered_at"), "read_at",
                    pl.when(delivered.is_null()).then("failed_status_at").alias("failed_at")))


def build_purchases(orders: pl.LazyFrame) -> pl.LazyFrame:
    """The latest version of each order, canceled ones left out, grouped by orderGroup."""
    latest = (orders.sort("last_change", "row", descending=True, nulls_last=True)
              .unique("order_id", keep="first", maintain_order=True))
    live = latest.filter(pl.col("status").is_null() | (pl.col("status").str.to_lowercase() != "canceled"))
    # Split orders share the buyer and the currency: take the first order's.
    return (live.sort("created_at", "order_id").group_by("purchase_id", maintain_order=True)
            .agg(pl.col("created_at").min(), pl.col("user_id").first(), pl.col("currency").first(),
                 pl.col("total_cents").sum()))


def attribute(purchases: pl.LazyFrame, reminders: pl.LazyFrame, clicks: pl.LazyFrame) -> pl.LazyFrame:
    """Click-through (the latest click strictly before, within 360 h), else assisted (the
    latest delivery strictly before, within 72 h); ties as docs/spec.md section 2 breaks them."""
    buyers = purchases.filter(pl.col("user_id").is_not_null()).sort("created_at")
    # One candidate per (user, instant): the preferred of the tied ones, so join_asof has no tie to break.
    reminder_clicks = (clicks.join(reminders.select("message_id", "user_id", "delivered_at"), on="message_id")
                       .sort("clicked_at", "delivered_at", "message_id", nulls_last=False)
                       .unique(["user_id", "clicked_at"], keep="last", maintain_order=True))
    latest_click = buyers.join_asof(reminder_clicks, left_on="created_at", right_on="clicked_at", by="user_id",
                                    strategy="backward", allow_exact_matches=False, coalesce=False,
                                    check_sortedness=False)
    click_through = (latest_click
                     .filter(pl.col("clicked_at").is_not_null()
                             & (pl.col("created_at") <= pl.col("clicked_at") + CLICK_WINDOW))
                     .with_columns(attribution_type=pl.lit("click_through")))
    # join_asof reads both sides in order of time: an anti join does not keep the order.
    rest = buyers.join(click_through.select("purchase_id"), on="purchase_id", how="anti").sort("created_at")
    deliveries = (reminders.filter(pl.col("delivered_at").is_not_null())
                  .select("message_id", "user_id", "delivered_at")
                  .sort("delivered_at", "message_id")
                  .unique(["user_id", "delivered_at"], keep="last", maintain_order=True))
    latest_delivery = rest.join_asof(deliveries, left_on="created_at", right_on="delivered_at", by="user_id",
                                     strategy="backward", allow_exact_matches=False,
                                     check_sortedness=False)
    assisted = (latest_delivery
                .filter(pl.col("delivered_at").is_not_null()
                        & (pl.col("created_at") <= pl.col("delivered_at") + ASSISTED_WINDOW))
                .with_columns(attribution_type=pl.lit("assisted"), clicked_at=pl.lit(None, dtype=INSTANT)))
    columns = ["purchase_id", "message_id", "attribution_type", "created_at", "clicked_at", "total_cents", "currency"]
    return (pl.concat([click_through.select(columns), assisted.select(columns)])
            .join(reminders.select("message_id", "campaign_id"), on="message_id")
            .rename({"purchase_id": "conversion_id", "created_at": "order_created_at"}))


def cents_text(cents: pl.Expr) -> pl.Expr:
    return pl.format("{}.{}", cents // 100, (cents % 100).cast(pl.String).str.zfill(2))


def daily_metrics(reminders: pl.LazyFrame, clicks: pl.LazyFrame, conversions: pl.LazyFrame,
                  last_date: pl.Expr) -> pl.LazyFrame:
    """One row per campaign and day from its first send to the last day with any data."""
    def per_day(at: str, name: str) -> pl.LazyFrame:
        return (reminders.filter(pl.col(at).is_not_null())
                .group_by("campaign_id", pl.col(at).dt.date().alias("metric_date")).agg(pl.len().alias(name)))

    click_counts = (clicks.join(reminders.select("message_id", "campaign_id", "user_id"), on="message_id")
                    .group_by("campaign_id", pl.col("clicked_at").dt.date().alias("metric_date"))
                    .agg(pl.col("user_id").n_unique().alias("unique_clicks"), pl.len().alias("total_clicks")))
    assisted, click_through = pl.col("attribution_type") == "assisted", pl.col("attribution_type") == "click_through"
    conversion_counts = (conversions.group_by("campaign_id", pl.col("order_created_at").dt.date().alias("metric_date"))
                         .agg(assisted.sum().alias("assisted_conversions"),
                              click_through.sum().alias("click_through_conversions"),
                              pl.len().alias("total_conversions"),
                              pl.col("total_cents").filter(assisted).sum().alias("assisted_conversion_value"),
                              pl.col("total_cents").filter(click_through).sum().alias("click_through_conversion_value"),
                              pl.col("total_cents").sum().alias("total_conversion_value"),
                              pl.col("currency").min()))
    calendar = (reminders.group_by("campaign_id").agg(pl.col("sent_at").min().dt.date().alias("first_day"))
                .select("campaign_id", pl.date_ranges("first_day", last_date).alias("metric_date"))
                .explode("metric_date"))
    metrics = calendar
    for counts in (per_day("sent_at", "messages_sent"), per_day("delivered_at", "messages_delivered"),
                   per_day("failed_at", "messages_failed"), per_day("read_at", "messages_read"),
                   click_counts, conversion_counts):
        metrics = metrics.join(counts, on=["campaign_id", "metric_date"], how="left")
    numbers = ["messages_sent", "messages_delivered", "messages_failed", "messages_read", "unique_clicks",
               "total_clicks", "assisted_conversions", "click_through_conversions", "total_conversions"]
    values = ["assisted_conversion_value", "click_through_conversion_value", "total_conversion_value"]
    return metrics.select("metric_date", "campaign_id", *(pl.col(c).fill_null(0).cast(pl.Int64) for c in numbers),
                          *(cents_text(pl.col(c).fill_null(0)).alias(c) for c in values), "currency")


def main(landing: Path, out: Path) -> dict[str, float]:
    seconds: dict[str, float] = {}
    started = time.perf_counter()
    sends = read_sends(landing)
    statuses, taps = read_webhooks(landing)
    clicks = pl.concat([read_clicks(landing), taps])
    orders = read_orders(landing)
    seconds["read"] = time.perf_counter() - started

    started = time.perf_counter()
    reminders = track_reminders(sends, statuses, clicks).cache()
    conversions = attribute(build_purchases(orders), reminders, clicks).cache()
    latest = pl.concat([frame.select(pl.col(at).max().alias("at")) for frame, at in
                        ((sends, "sent_at"), (statuses, "status_at"), (clicks, "clicked_at"), (orders, "created_at"))])
    last_date = latest.select(pl.col("at").max()).collect().item().date()
    metrics = daily_metrics(reminders, clicks, conversions, pl.lit(last_date))
    conversions, metrics = pl.collect_all([
        conversions.select("conversion_id", "message_id", "campaign_id", "attribution_type",
                           cents_text(pl.col("total_cents")).alias("order_total"), "order_created_at", "clicked_at",
                           "currency"),
        metrics])
    seconds["transform"] = time.perf_counter() - started

    out.mkdir(parents=True, exist_ok=True)
    conversions.write_csv(out / "conversions.csv")
    metrics.write_csv(out / "daily_metrics.csv", date_format="%Y-%m-%d")
    (out / "timings.json").write_text(json.dumps(seconds))
    return seconds


if __name__ == "__main__":
    if len(sys.argv) != 3:
        sys.exit("usage: python benchmarks/polars_peer.py LANDING_DIR OUT_DIR")
    print(json.dumps(main(Path(sys.argv[1]), Path(sys.argv[2]))))
