"""The bench's Polars peer and whole floor count exactly the lines our loader loads: on landing
files full of lines that break the feed contracts one way each (for the peer, the rules Polars
judges natively and those it hands to Python's json: benchmarks/polars_contract.py), their
reminders, clicks, orders, statuses and button taps are the raw tables'."""

import json
import sys
from pathlib import Path

import duckdb
import pytest

from orchestration.ingestion.loader import ensure_raw_tables, load_source
from orchestration.settings import REPO_ROOT

sys.path.insert(0, str(REPO_ROOT / "benchmarks"))
polars_peer = pytest.importorskip("polars_peer")

DAY = "2024-06-01"
AT = "2024-06-01T10:00:00Z"


def send(message_id: str, **changes) -> str:
    doc = {"message_id": message_id, "campaign_id": "cmp", "user_id": "u1", "sent_at": AT, "phone": "+55",
           "checkout_items": [{"id": "1", "name": "Shirt", "quantity": 1, "price": 100}]}
    doc.update(changes)
    return json.dumps({k: v for k, v in doc.items() if v is not ...})


def order(order_id: str, **changes) -> str:
    doc = {"orderId": order_id, "orderGroup": "g" + order_id, "status": "invoiced", "creationDate": AT,
           "lastChange": AT, "value": 100, "totals": [{"id": "Items", "value": 100}],
           "items": [{"id": "1", "quantity": 1, "price": 100, "sellingPrice": 100}],
           "clientProfileData": {"userProfileId": "u1"}, "storePreferencesData": {"currencyCode": "BRL"}}
    doc.update(changes)
    return json.dumps({k: v for k, v in doc.items() if v is not ...})


def body(*, statuses=(), messages=(), **changes) -> str:
    value = {"messaging_product": "whatsapp"}
    if statuses:
        value["statuses"] = list(statuses)
    if messages:
        value["messages"] = list(messages)
    doc = {"object": "whatsapp_business_account",
           "entry": [{"id": "1", "changes": [{"field": "messages", "value": value}]}]}
    doc.update(changes)
    return json.dumps(doc)


def status(message_id, state="delivered", **changes) -> dict:
    item = {"id": message_id, "status": state, "timestamp": "1717236000", "recipient_id": "55"}
    item.update(changes)
    return {k: v for k, v in item.items() if v is not ...}


SENDS = [
    send("ok-1"), send("ok-1"),  # a repeated reminder counts once
    send("phone-number", phone=17),  # an optional field of the wrong type (Python's json settles it)
    send("phone-null", phone=None),  # JSON null in an optional field: absent
    send("price-null", checkout_items=[{"id": "1", "quantity": 1, "price": None}]),  # null in a list: wrong type
    send("name-absent", checkout_items=[{"id": "1", "quantity": 1, "price": 5}]),
    send("items-text", checkout_items="[]"), send("items-number", checkout_items=[5]),
    send("quantity-zero", checkout_items=[{"id": "1", "quantity": 0, "price": 5}]),
    send("quantity-float", checkout_items=[{"id": "1", "quantity": 1.0, "price": 5}]),
    send("campaign-number", campaign_id=17), send(""), send("language-object", language={"a": 1}),
    send("local-time", sent_at="01/06/2024 10:00:00"), send("before-2000", sent_at="1999-12-31T23:59:59Z"),
    send("from-the-future", sent_at="2024-06-04T00:00:00Z"), send("offset", sent_at="2024-06-01T10:00:00.1234567-03:00"),
    send("user-absent", user_id=...), send("extra", coupon={"code": "X"}),
    send("ESCAPED").replace("ESCAPED", "\\u0065scaped"),  # a JSON escape in a value: "escaped"
    send("key-escaped").replace('"phone": "+55"', '"ph\\u006fne": 17'),  # an escaped key names phone
    '{"message_id": "cut", "campaign_id": "c', "[1, 2]", '"text"', "",
]
CLICKS = [
    json.dumps({"click_id": "c1", "message_id": "ok-1", "clicked_at": AT, "url": "https://x"}),
    json.dumps({"click_id": "c2", "message_id": "ok-1", "clicked_at": 1717236000}),
    json.dumps({"click_id": "c3", "message_id": "ok-1", "clicked_at": AT, "url": 5}),
    json.dumps({"click_id": "c4", "message_id": None, "clicked_at": AT}),
]
ORDERS = [
    order("o1"), order("o2", value="109.80"), order("o3", value=2**64), order("o4", value=None),
    order("o5", items=[{"id": "1", "quantity": 1, "sellingPrice": 100}]),  # price is optional
    order("o6", clientProfileData="u1"), order("o7", totals=[{"id": 1}]), order("o8", lastChange=None),
    order("o9", orderGroup=...), order("o10", items=[{"id": "1", "quantity": 1, "sellingPrice": 100, "price": None}]),
]
WEBHOOKS = [
    body(statuses=[status("ok-1"), status(None)]),  # the bad status alone is left out
    body(statuses=[status("ok-1", "read"), 5]),
    body(statuses=[status("ok-1", "failed", errors=[{"code": "x"}])]),
    body(statuses=[status("ok-1", "failed", errors=[{"code": 131026, "title": "t"}])]),
    body(statuses=[status("ok-1", timestamp=1717236000)]),
    body(statuses=[status("ok-1", conversation="x")]), body(statuses=[status("ok-1", pricing=None)]),
    body(statuses=[status("ok-1", "seen")]), body(statuses=[status("ok-1")], object="page"),
    body(statuses=[status("ok-1")], entry=[{"changes": []}]),
    body(messages=[{"id": "in-1", "timestamp": "1717236100", "type": "button", "context": {"id": "ok-1"},
                    "button": {"payload": "p", "text": "t"}}]),
    body(messages=[{"id": "in-2", "timestamp": "1717236200", "type": "interactive", "context": {"id": "ok-1"},
                    "interactive": {"type": "button_reply", "button_reply": {"id": "b", "title": "t"}}}]),
    body(messages=[{"id": "in-3", "timestamp": "1717236300", "type": "button", "context": "ok-1"}]),
    body(messages=[{"id": "in-4", "timestamp": "1717236400", "type": "text", "text": {"body": "hi"}}]),
]


@pytest.fixture(scope="module")
def landing_and_raw(tmp_path_factory) -> tuple[Path, duckdb.DuckDBPyConnection]:
    root = tmp_path_factory.mktemp("polars_peer")
    landing = root / "landing"
    for source, lines in (("sends", SENDS), ("clicks", CLICKS), ("orders", ORDERS), ("whatsapp", WEBHOOKS)):
        folder = landing / source / f"dt={DAY}"
        folder.mkdir(parents=True)
        (folder / f"{source}.jsonl").write_text("\n".join(lines) + "\n")
    con = duckdb.connect(str(root / "warehouse.duckdb"))
    con.execute("SET TimeZone = 'UTC'")
    ensure_raw_tables(con)
    for source in ("sends", "clicks", "orders", "whatsapp"):
        load_source(con, str(landing), source)
    return landing, con


def rows(con: duckdb.DuckDBPyConnection, sql: str) -> list[tuple]:
    return sorted(con.execute(sql).fetchall())


def test_the_peer_keeps_the_reminders_and_clicks_the_loader_loads(landing_and_raw):
    landing, con = landing_and_raw
    sends = polars_peer.read_sends(landing).collect()
    expected = rows(con, "SELECT DISTINCT message_id, campaign_id, user_id, sent_at FROM raw.sends")
    assert sorted(sends.iter_rows()) == expected
    assert {"ok-1", "phone-null", "name-absent", "offset", "extra", "escaped"} <= {r[0] for r in expected}
    assert len(expected) == 6, "every other line breaks the contract"
    clicks = polars_peer.read_clicks(landing).collect()
    assert sorted(clicks.iter_rows()) == rows(con, "SELECT message_id, clicked_at FROM raw.clicks")


def test_the_peer_keeps_the_orders_the_loader_loads(landing_and_raw):
    landing, con = landing_and_raw
    orders = polars_peer.read_orders(landing).collect()
    assert sorted(orders.select("order_id", "created_at", "last_change").iter_rows()) == rows(
        con, "SELECT order_id, creation_date, last_change FROM raw.orders")
    assert set(orders["order_id"]) == {"o1", "o4", "o5", "o8", "o9"}


def test_the_peer_keeps_the_statuses_and_taps_the_loader_loads(landing_and_raw):
    landing, con = landing_and_raw
    statuses, taps = (frame.collect() for frame in polars_peer.read_webhooks(landing))
    assert sorted(statuses.iter_rows()) == rows(con, "SELECT message_id, status, status_at FROM raw.whatsapp_statuses")
    assert len(statuses) == 4
    assert sorted(taps.iter_rows()) == rows(
        con, "SELECT context ->> '$.id', message_at FROM raw.whatsapp_messages "
             "WHERE message_type = 'button' OR interactive ->> '$.type' = 'button_reply'")
    assert len(taps) == 2


def test_the_whole_floor_keeps_the_lines_the_loader_loads(landing_and_raw, tmp_path):
    from orchestration.bench.worker import script_text

    landing, con = landing_and_raw
    floor = duckdb.connect(str(tmp_path / "floor.duckdb"))
    floor.execute(f"SET VARIABLE landing = '{landing}'")
    floor.execute(script_text(str(REPO_ROOT / "benchmarks" / "whole_floor.sql")))
    for table, columns in (("sends", "message_id, campaign_id, user_id, sent_at"),
                           ("clicks", "click_id, message_id, clicked_at"),
                           ("orders", "order_id, order_group, status, creation_date, last_change, items"),
                           ("whatsapp_statuses", "message_id, status, status_at"),
                           ("whatsapp_messages", "inbound_message_id, message_type, message_at, context, interactive")):
        query = f"SELECT DISTINCT {columns} FROM raw.{table}"
        assert rows(floor, query) == rows(con, query), table
    stored = floor.execute("SELECT schema_name || '.' || table_name FROM duckdb_tables() "
                           "WHERE database_name = 'floor' AND NOT temporary").fetchall()
    assert sorted(stored) == [("engine_floor.conversions",), ("engine_floor.daily_metrics",)]
