"""The marts built by dbt from hand-written raw rows: exact rows, and incremental runs that agree
with a full refresh whatever arrives late.
"""

from __future__ import annotations

import os
import random
import shutil
from datetime import date, datetime, timedelta
from decimal import Decimal

import duckdb
import pytest

try:
    from tests.dbt_helpers import create_warehouse, fetch, fetch_dicts, insert_raw, run_dbt, snapshot_marts
except ImportError:  # tests/ is not a package: pytest put it on sys.path
    from dbt_helpers import create_warehouse, fetch, fetch_dicts, insert_raw, run_dbt, snapshot_marts

D = datetime
HYPHENATED_FORM = "EDE84622-2CD4-4046-BA6C-638442C3505A"
FORM = "ede846222cd44046ba6c638442c3505a"
SHIRTS_JSON = '[{"id":"1234","name":"Camiseta Azul","quantity":2,"price":49.9}]'


def item(item_id, name, quantity, price, selling_price=None):
    return {"id": item_id, "name": name, "quantity": quantity, "price": price,
            "sellingPrice": price if selling_price is None else selling_price}


def order(order_id, group, user, created, last_change, items, status="invoiced", form=None, currency="BRL"):
    return {"order_id": order_id, "order_group": group, "order_form_id": form, "status": status,
            "creation_date": created, "last_change": last_change, "items": items,
            "value": sum(i["sellingPrice"] * i["quantity"] for i in items) + 1000,
            "client_profile_data": {"userProfileId": user, "email": f"{user}@example.com"},
            "store_preferences_data": {"currencyCode": currency}}


def load_first_days(warehouse):
    """Five reminders of two campaigns on 2024-06-01/02 and what followed (batches 1 to 6)."""
    insert_raw(warehouse, "campaign_events", [
        {"campaign_id": "cmp_a", "event": "created", "occurred_at": "2024-05-20 10:00:00", "name": "Carrito",
         "language": "es", "message_type": "cart_reminder", "currency": "BRL"},
        {"campaign_id": "cmp_b", "event": "created", "occurred_at": "2024-05-21 10:00:00", "name": "Cart",
         "language": "en", "message_type": "cart_reminder", "currency": "BRL"},
    ], batch_id=1)
    m1 = {"message_id": "m1", "campaign_id": "cmp_a", "user_id": "u1", "phone": "+5511999990001",
          "order_form_id": HYPHENATED_FORM, "template": "cart_v2", "language": "es", "sent_at": "2024-06-01 10:00:00",
          "checkout_items": [{"id": "1234", "name": "Camiseta Azul", "quantity": 2, "price": 4990}]}
    insert_raw(warehouse, "sends", [
        m1,
        {"message_id": "m2", "campaign_id": "cmp_a", "user_id": "u2", "phone": "+5511999990002",
         "order_form_id": "f2", "sent_at": "2024-06-01 11:00:00", "checkout_items": []},
        {"message_id": "m3", "campaign_id": "cmp_b", "user_id": "u3", "sent_at": "2024-06-01 12:00:00"},
        {"message_id": "m4", "campaign_id": "cmp_b", "user_id": "u4", "sent_at": "2024-06-02 09:00:00"},
        {"message_id": "m5", "campaign_id": "cmp_a", "user_id": "u5", "sent_at": "2024-06-02 20:00:00"},
        dict(m1),  # the same reminder twice
    ], batch_id=2)
    read_m1 = {"message_id": "m1", "status": "read", "status_at": "2024-06-01 10:05:00", "recipient_id": "5511999990001"}
    insert_raw(warehouse, "whatsapp_statuses", [
        {"message_id": "m1", "status": "sent", "status_at": "2024-06-01 10:00:05"},
        {"message_id": "m1", "status": "delivered", "status_at": "2024-06-01 10:01:00"},
        read_m1, dict(read_m1),  # a webhook delivered twice
        {"message_id": "m2", "status": "delivered", "status_at": "2024-06-01 11:02:00"},
        {"message_id": "m3", "status": "failed", "status_at": "2024-06-01 12:00:30",
         "errors": [{"code": 131026, "title": "Message undeliverable"}]},
        {"message_id": "m4", "status": "read", "status_at": "2024-06-02 09:30:00"},  # no delivered
        {"message_id": "m5", "status": "delivered", "status_at": "2024-06-02 20:01:00"},
    ], batch_id=3)
    click = {"click_id": "c1", "message_id": "m1", "clicked_at": "2024-06-01 10:10:00", "url": "https://shop.example/checkout"}
    insert_raw(warehouse, "clicks", [click, dict(click)], batch_id=4)
    insert_raw(warehouse, "whatsapp_messages", [
        {"from_phone": "5511999990004", "inbound_message_id": "in1", "message_at": "2024-06-02 09:40:00",
         "message_type": "interactive", "context": {"from": "551100", "id": "m4"},
         "interactive": {"type": "button_reply", "button_reply": {"id": "go", "title": "Ver carrito"}}},
        {"from_phone": "5511999990004", "inbound_message_id": "in2", "message_at": "2024-06-02 09:41:00",
         "message_type": "text", "context": {"id": "m4"}, "text": {"body": "gracias"}},
    ], batch_id=5)
    insert_raw(warehouse, "orders", [
        order("P1-01", "P1", "u1", "2024-06-01 12:00:00", "2024-06-01 12:00:00",
              [item("1234", "Camiseta Azul", 2, 4990)], form=HYPHENATED_FORM),
        order("G2-01", "G2", "u2", "2024-06-03 11:01:59", "2024-06-03 12:00:00", [item("1", "A", 1, 1000, 900)], form="f2"),
        order("G2-02", "G2", "u2", "2024-06-03 11:02:30", "2024-06-03 12:00:00", [item("2", "B", 3, 333)], form="f2"),
        order("P4-01", None, "u4", "2024-06-02 10:00:00", "2024-06-02 10:00:00", [item("9", "C", 1, 5000)], form="f4"),
        order("P5-01", "P5", "u5", "2024-06-06 10:00:00", "2024-06-06 10:00:00", [item("9", "C", 1, 5000)]),
        order("P6-01", "P6", "u5", "2024-06-02 21:00:00", "2024-06-02 21:00:00", [item("9", "C", 1, 5000)],
              status="payment-pending"),
        order("P6-01", "P6", "u5", "2024-06-02 21:00:00", "2024-06-03 21:00:00", [item("9", "C", 1, 5000)],
              status="canceled"),
    ], batch_id=6)


def load_late_events(warehouse):
    """What arrives days later (batches 7 to 11), each changing days already built."""
    insert_raw(warehouse, "whatsapp_statuses", [
        # m3 was delivered after all: no longer failed, and u3's purchase becomes assisted
        {"message_id": "m3", "status": "delivered", "status_at": "2024-06-01 12:01:00"},
        # a status of an unknown message extends the calendar to 06-08
        {"message_id": "x9", "status": "delivered", "status_at": "2024-06-08 12:01:00"},
    ], batch_id=7, file="whatsapp/dt=2024-06-09/late.jsonl")
    insert_raw(warehouse, "orders", [
        order("P3-01", "P3", "u3", "2024-06-02 12:00:00", "2024-06-02 12:00:00", [item("9", "C", 1, 700)]),
        # G2's first order canceled: the purchase now starts at its second order
        order("G2-01", "G2", "u2", "2024-06-03 11:01:59", "2024-06-04 12:00:00", [item("1", "A", 1, 1000, 900)],
              status="canceled", form="f2"),
    ], batch_id=8, file="orders/dt=2024-06-09/late.jsonl")
    insert_raw(warehouse, "clicks", [
        {"click_id": "c5", "message_id": "m5", "clicked_at": "2024-06-05 09:00:00"},  # P5 becomes click-through
        {"click_id": "c2", "message_id": "m2", "clicked_at": "2024-06-01 11:30:00"},  # G2 becomes click-through
        {"click_id": "c7", "message_id": "m7", "clicked_at": "2024-06-01 11:30:00"},  # a reminder not loaded yet
    ], batch_id=9, file="clicks/dt=2024-06-09/late.jsonl")
    insert_raw(warehouse, "sends", [
        # a late send file: a third campaign that started earlier, and a second reminder of u1
        # whose later click takes P1 away from cmp_a
        {"message_id": "m6", "campaign_id": "cmp_c", "user_id": "u6", "sent_at": "2024-05-30 10:00:00"},
        {"message_id": "m7", "campaign_id": "cmp_b", "user_id": "u1", "sent_at": "2024-06-01 11:00:00"},
    ], batch_id=10, file="sends/dt=2024-06-09/late.jsonl")
    insert_raw(warehouse, "sends", [
        {"message_id": "m1", "campaign_id": "cmp_a", "user_id": "u1", "order_form_id": HYPHENATED_FORM,
         "sent_at": "2024-06-01 10:00:00", "checkout_items": [{"id": "1234", "name": "Camiseta Azul", "quantity": 2, "price": 4990}]},
    ], batch_id=11, file="sends/dt=2024-06-09/copy-of-an-old-file.jsonl")


@pytest.fixture
def warehouse(tmp_path):
    return create_warehouse(tmp_path / "warehouse.duckdb")


def build(warehouse, tmp_path, *args, command="run", timezone="UTC", dbt_vars=None):
    """`dbt run` (models only: their tests run in the first build and in test_dbt_unit.py)."""
    result = run_dbt(warehouse, tmp_path / "target", command, *args, timezone=timezone, dbt_vars=dbt_vars)
    assert result.success, result.output[-5000:]
    return result


def copy_warehouse(source, tmp_path):
    target = tmp_path / "warehouse.duckdb"
    shutil.copyfile(source, target)
    return target


@pytest.fixture(scope="module")
def first_days_built(tmp_path_factory):
    """The first days loaded and built with `dbt build` (models and every test). Read-only."""
    root = tmp_path_factory.mktemp("first_days")
    warehouse = create_warehouse(root / "warehouse.duckdb")
    load_first_days(warehouse)
    result = run_dbt(warehouse, root / "target", "build", timezone="UTC")
    return warehouse, result


@pytest.fixture(scope="module")
def late_events_built(first_days_built, tmp_path_factory):
    """The first days' warehouse, then the late events and an incremental run. Read-only."""
    root = tmp_path_factory.mktemp("late_events")
    warehouse = copy_warehouse(first_days_built[0], root)
    load_late_events(warehouse)
    build(warehouse, root)
    return warehouse


def daily(warehouse, campaign_id):
    return fetch(warehouse, f"""
        select metric_date, messages_sent, messages_delivered, messages_failed, messages_read,
               unique_clicks, total_clicks, assisted_conversions, click_through_conversions,
               total_conversions, assisted_conversion_value, click_through_conversion_value,
               total_conversion_value, currency
        from marts.mart_daily_campaign_metrics where campaign_id = '{campaign_id}' order by metric_date""")


def zeros(day):
    return (day, 0, 0, 0, 0, 0, 0, 0, 0, 0, Decimal("0.00"), Decimal("0.00"), Decimal("0.00"), None)


def test_dbt_build_passes_its_tests_on_real_rows(first_days_built):
    _, result = first_days_built
    assert result.success, result.output[-5000:]
    assert set(result.statuses("test").values()) == {"pass"}
    assert len(result.statuses("model")) == 18


def test_marts_hold_the_exact_rows_of_a_hand_written_week(first_days_built):
    warehouse, _ = first_days_built

    assert fetch(warehouse, "select * from marts.fct_reminders order by message_id") == [
        ("m1", "cmp_a", "u1", FORM, D(2024, 6, 1, 10), D(2024, 6, 1, 10, 1), D(2024, 6, 1, 10, 5), False,
         D(2024, 6, 1, 10, 10), 1, SHIRTS_JSON),
        ("m2", "cmp_a", "u2", "f2", D(2024, 6, 1, 11), D(2024, 6, 1, 11, 2), None, False, None, 0, "[]"),
        ("m3", "cmp_b", "u3", None, D(2024, 6, 1, 12), None, None, True, None, 0, "[]"),
        ("m4", "cmp_b", "u4", None, D(2024, 6, 2, 9), D(2024, 6, 2, 9, 30), D(2024, 6, 2, 9, 30), False,
         D(2024, 6, 2, 9, 40), 1, "[]"),
        ("m5", "cmp_a", "u5", None, D(2024, 6, 2, 20), D(2024, 6, 2, 20, 1), None, False, None, 0, "[]"),
    ]

    # P5 is organic (72 h after m5's delivery ended on 06-05 20:01), P6 was canceled.
    assert fetch(warehouse, "select * from marts.fct_conversions order by conversion_id") == [
        ("G2", "f2", "u2", "m2", "cmp_a", "assisted", D(2024, 6, 1, 11, 2), None, None,
         D(2024, 6, 3, 11, 1, 59), date(2024, 6, 3), Decimal("18.99"), "BRL", "[]",
         '[{"id":"1","name":"A","quantity":1,"price":9.0},{"id":"2","name":"B","quantity":3,"price":3.33}]'),
        ("P1", FORM, "u1", "m1", "cmp_a", "click_through", D(2024, 6, 1, 10, 1), D(2024, 6, 1, 10, 5),
         D(2024, 6, 1, 10, 10), D(2024, 6, 1, 12), date(2024, 6, 1), Decimal("99.80"), "BRL", SHIRTS_JSON, SHIRTS_JSON),
        ("P4-01", "f4", "u4", "m4", "cmp_b", "click_through", D(2024, 6, 2, 9, 30), D(2024, 6, 2, 9, 30),
         D(2024, 6, 2, 9, 40), D(2024, 6, 2, 10), date(2024, 6, 2), Decimal("50.00"), "BRL", "[]",
         '[{"id":"9","name":"C","quantity":1,"price":50.0}]'),
    ]

    # Every day from the first send (06-01) to the last day with data (P5's order on 06-06).
    assert daily(warehouse, "cmp_a") == [
        (date(2024, 6, 1), 2, 2, 0, 1, 1, 1, 0, 1, 1, Decimal("0.00"), Decimal("99.80"), Decimal("99.80"), "BRL"),
        (date(2024, 6, 2), 1, 1, 0, 0, 0, 0, 0, 0, 0, Decimal("0.00"), Decimal("0.00"), Decimal("0.00"), None),
        (date(2024, 6, 3), 0, 0, 0, 0, 0, 0, 1, 0, 1, Decimal("18.99"), Decimal("0.00"), Decimal("18.99"), "BRL"),
        zeros(date(2024, 6, 4)), zeros(date(2024, 6, 5)), zeros(date(2024, 6, 6)),
    ]
    assert daily(warehouse, "cmp_b") == [
        (date(2024, 6, 1), 1, 0, 1, 0, 0, 0, 0, 0, 0, Decimal("0.00"), Decimal("0.00"), Decimal("0.00"), None),
        (date(2024, 6, 2), 1, 1, 0, 1, 1, 1, 0, 1, 1, Decimal("0.00"), Decimal("50.00"), Decimal("50.00"), "BRL"),
        zeros(date(2024, 6, 3)), zeros(date(2024, 6, 4)), zeros(date(2024, 6, 5)), zeros(date(2024, 6, 6)),
    ]

    assert fetch(warehouse, "select * from marts.dim_campaigns order by campaign_id") == [
        ("cmp_a", "Carrito", "es", "cart_reminder", "BRL", "active", D(2024, 5, 20, 10), D(2024, 5, 20, 10)),
        ("cmp_b", "Cart", "en", "cart_reminder", "BRL", "active", D(2024, 5, 21, 10), D(2024, 5, 21, 10)),
    ]


def test_no_phone_number_reaches_staging_or_the_marts(first_days_built):
    warehouse, _ = first_days_built
    phones = ("5511999990001", "5511999990002", "5511999990004")
    tables = fetch(warehouse, "select table_schema, table_name from information_schema.tables "
                              "where table_schema in ('staging', 'intermediate', 'marts')")
    assert len(tables) > 10
    for schema, table in tables:
        text = str(fetch(warehouse, f"select * from {schema}.{table}"))
        assert not any(phone in text for phone in phones), f"{schema}.{table} holds a phone number"


def test_late_events_correct_the_days_they_belong_to(late_events_built):
    warehouse = late_events_built
    conversions = {row["conversion_id"]: row for row in fetch_dicts(
        warehouse, "select * from marts.fct_conversions")}
    assert {k: (v["message_id"], v["campaign_id"], v["attribution_type"]) for k, v in conversions.items()} == {
        "P1": ("m7", "cmp_b", "click_through"),  # m7's click (11:30) is later than m1's (10:10)
        "G2": ("m2", "cmp_a", "click_through"),
        "P3": ("m3", "cmp_b", "assisted"),
        "P4-01": ("m4", "cmp_b", "click_through"),
        "P5": ("m5", "cmp_a", "click_through"),
    }
    assert conversions["G2"]["order_created_at"] == D(2024, 6, 3, 11, 2, 30)
    assert conversions["G2"]["order_total"] == Decimal("9.99")
    assert fetch(warehouse, "select failed, delivered_at from marts.fct_reminders where message_id = 'm3'") == [
        (False, D(2024, 6, 1, 12, 1))]
    # P1 left cmp_a's 06-01 for cmp_b's; m3's failure left cmp_b's 06-01; the late campaign has rows.
    assert daily(warehouse, "cmp_a")[0][1:] == (2, 2, 0, 1, 2, 2, 0, 0, 0, Decimal("0.00"), Decimal("0.00"),
                                                 Decimal("0.00"), None)
    assert daily(warehouse, "cmp_b")[0][1:] == (2, 2, 0, 0, 1, 1, 0, 1, 1, Decimal("0.00"), Decimal("99.80"),
                                                 Decimal("99.80"), "BRL")
    assert [row[0] for row in daily(warehouse, "cmp_c")] == [date(2024, 5, 30) + timedelta(days=n) for n in range(10)]
    assert [row[0] for row in daily(warehouse, "cmp_a")][-1] == date(2024, 6, 8)


def test_incremental_runs_agree_with_a_full_refresh(first_days_built, late_events_built, tmp_path):
    incremental = snapshot_marts(late_events_built)
    assert incremental["fct_conversions"] != snapshot_marts(first_days_built[0])["fct_conversions"]

    warehouse = copy_warehouse(late_events_built, tmp_path)
    build(warehouse, tmp_path, "--full-refresh")
    assert snapshot_marts(warehouse) == incremental


def test_an_incremental_run_recomputes_only_what_new_batches_touched(first_days_built, tmp_path):
    warehouse = copy_warehouse(first_days_built[0], tmp_path)
    with duckdb.connect(str(warehouse)) as con:  # a marker no rebuild of m4 would keep
        con.execute("update intermediate.int_reminders_tracked set click_count = 99 where message_id = 'm4'")
    insert_raw(warehouse, "clicks", [{"click_id": "c9", "message_id": "m1", "clicked_at": "2024-06-01 10:20:00"}],
               batch_id=7)
    build(warehouse, tmp_path)
    counts = dict(fetch(warehouse, "select message_id, click_count from marts.fct_reminders"))
    assert counts["m1"] == 2  # touched by the new click: recomputed
    assert counts["m4"] == 99  # untouched: not rebuilt (the marker survives)


def test_a_test_on_touched_rows_reads_every_row_of_the_keys_touched_and_no_other(first_days_built, tmp_path):
    """dbt_project/macros/tests/touched_rows.sql: `unique` on fct_reminders.message_id, as a daily
    run gives it, looks at every row of the reminders the batches after its bound touched."""
    from orchestration.build_state import BuildInputs, record_tests_after

    warehouse = copy_warehouse(first_days_built[0], tmp_path)
    # m1 and m4 twice each, as a broken model would leave them; then a click on m1 (batch 7),
    # absorbed by staging only, so the reminders keep their duplicates.
    with duckdb.connect(str(warehouse)) as con:
        con.execute("insert into intermediate.int_reminders_tracked "
                    "select * from intermediate.int_reminders_tracked where message_id in ('m1', 'm4')")
    insert_raw(warehouse, "clicks", [{"click_id": "c9", "message_id": "m1", "clicked_at": "2024-06-01 10:20:00"}],
               batch_id=7)
    build(warehouse, tmp_path, "--select", "staging")

    def duplicates_found(tests_after: int | None, touched_row_tests: bool = True) -> int:
        if tests_after is not None:
            with duckdb.connect(str(warehouse)) as con:
                record_tests_after(con, BuildInputs(7, "digest", "timezone=UTC"), tests_after)
        result = run_dbt(warehouse, tmp_path / "target", "test", "--select", "unique_fct_reminders_message_id",
                         dbt_vars={"tests_on_touched_rows": True} if touched_row_tests else None)
        [test] = [r for r in result.results if r["unique_id"].startswith("test.")]
        return test["failures"]

    assert duplicates_found(6) == 1  # batch 7 touched m1: both its rows are read, m4's are not
    assert duplicates_found(7) == 0  # nothing touched after batch 7
    assert duplicates_found(-1) == 2  # every row: a first build, after a failure, once a week
    assert duplicates_found(6, touched_row_tests=False) == 2  # dbt by hand: every row


def test_a_partial_build_is_caught_up_by_the_next_one(first_days_built, tmp_path):
    """Dagster may materialize the marts alone: they must not claim batches their inputs lack."""
    warehouse = copy_warehouse(first_days_built[0], tmp_path)
    load_late_events(warehouse)
    build(warehouse, tmp_path, "--select", "marts")
    assert fetch(warehouse, "select attribution_type from marts.fct_conversions where conversion_id = 'G2'") == [
        ("assisted",)]
    build(warehouse, tmp_path)
    caught_up = snapshot_marts(warehouse)
    build(warehouse, tmp_path, "--full-refresh")
    assert snapshot_marts(warehouse) == caught_up


def test_a_window_run_absorbs_every_new_batch_and_recounts_its_days(first_days_built, tmp_path):
    """A window of days bounds the daily rows recounted, not what is loaded and attributed: a
    late event changes a conversion outside the window too, and the window's daily rows are
    the full build's."""
    warehouse = copy_warehouse(first_days_built[0], tmp_path)
    load_late_events(warehouse)
    build(warehouse, tmp_path, dbt_vars={"min_date": "2024-06-06", "max_date": "2024-06-07"})
    types = dict(fetch(warehouse, "select conversion_id, attribution_type from marts.fct_conversions"))
    assert types["P5"] == "click_through"  # ordered on 06-06, in the window
    assert types["G2"] == "click_through"  # ordered on 06-03, outside it: attributed all the same
    windowed = fetch(warehouse, "select * from marts.mart_daily_campaign_metrics "
                                "where metric_date = '2024-06-06' order by all")
    build(warehouse, tmp_path)
    caught_up = snapshot_marts(warehouse)
    build(warehouse, tmp_path, "--full-refresh")
    assert snapshot_marts(warehouse) == caught_up
    assert windowed and [row for row in caught_up["mart_daily_campaign_metrics"] if row[0] == date(2024, 6, 6)] == windowed


def test_changing_the_time_zone_rebuilds_every_day(first_days_built, tmp_path):
    warehouse = copy_warehouse(first_days_built[0], tmp_path)
    build(warehouse, tmp_path, timezone="Asia/Tokyo")
    incremental = snapshot_marts(warehouse)
    # 20:00 UTC on 06-02 is 05:00 on 06-03 in Tokyo.
    assert fetch(warehouse, "select max(metric_date) from marts.mart_daily_campaign_metrics "
                            "where messages_sent > 0") == [(date(2024, 6, 3),)]
    build(warehouse, tmp_path, "--full-refresh", timezone="Asia/Tokyo")
    assert snapshot_marts(warehouse) == incremental


def random_feed(seed: int, start: datetime) -> list[tuple[str, dict]]:
    """Reminders, statuses (duplicated, out of order, missing), clicks and taps, and orders
    (versions, cancellations, split groups, several currencies) for six shoppers."""
    rnd = random.Random(seed)
    rows: list[tuple[str, dict]] = []

    def ts(moment: datetime) -> str:
        return moment.strftime("%Y-%m-%d %H:%M:%S")

    users = [f"u{n}" for n in range(6)]
    for n in range(14):
        message_id = f"m{n:02d}"
        sent = start + timedelta(minutes=rnd.randrange(60 * 24 * 8))
        send = {"message_id": message_id, "campaign_id": rnd.choice(["c0", "c1", "c2"]), "user_id": rnd.choice(users),
                "sent_at": ts(sent), "order_form_id": f"AB-{n}",
                "checkout_items": [{"id": "1", "name": "x", "quantity": 1, "price": 100 * n}]}
        rows += [("sends", send)] * (2 if rnd.random() < 0.2 else 1)
        for status in ("sent", "delivered", "read", "failed"):
            if rnd.random() < 0.5:
                row = {"message_id": message_id, "status": status,
                       "status_at": ts(sent + timedelta(minutes=rnd.randrange(60 * 30)))}
                rows += [("whatsapp_statuses", row)] * (2 if rnd.random() < 0.3 else 1)
        for k in range(rnd.choice([0, 0, 1, 2])):
            at = ts(sent + timedelta(minutes=rnd.randrange(60 * 24 * 5)))
            if rnd.random() < 0.5:
                rows.append(("clicks", {"click_id": f"c{message_id}{k}", "message_id": message_id, "clicked_at": at}))
            else:
                rows.append(("whatsapp_messages", {"inbound_message_id": f"in{message_id}{k}", "message_at": at,
                                                   "message_type": "button", "context": {"id": message_id},
                                                   "button": {"payload": "p", "text": "t"}}))
    for g in range(10):
        user = rnd.choice(users)
        created = start + timedelta(minutes=rnd.randrange(60 * 24 * 12))
        group = f"G{g}" if rnd.random() < 0.8 else None
        for o in range(rnd.choice([1, 1, 2])):
            order_created = created + timedelta(seconds=7 * o)
            for v in range(rnd.choice([1, 2, 3])):
                status = rnd.choice(["invoiced", "canceled", "handling"]) if v else "payment-pending"
                rows.append(("orders", order(
                    f"{group or 'X' + str(g)}-0{o}", group, user, ts(order_created), ts(order_created + timedelta(hours=v)),
                    [item(str(v), "n", rnd.randint(1, 3), 1000, rnd.choice([1000, 999]))], status=status,
                    form=f"FF-{g}", currency=rnd.choice(["BRL", "BRL", "USD"]))))
    rnd.shuffle(rows)
    return rows


@pytest.mark.parametrize("seed, timezone", [(1, "America/New_York"), (3, "America/Sao_Paulo")])
def test_any_sequence_of_incremental_runs_equals_a_full_refresh(warehouse, tmp_path, seed, timezone):
    """Rows land in four loads in any order (a status before its send, a version before an older
    one), around New York's DST change: building after each load ends where a full refresh does."""
    rnd = random.Random(seed)
    loads: list[list[tuple[str, dict]]] = [[] for _ in range(4)]
    for table_row in random_feed(seed, datetime(2024, 3, 7)):
        loads[rnd.randrange(len(loads))].append(table_row)
    batch_id = 0
    for load in loads:
        for table in ("sends", "whatsapp_statuses", "whatsapp_messages", "clicks", "orders"):
            rows = [row for name, row in load if name == table]
            if rows:
                batch_id += 1
                insert_raw(warehouse, table, rows, batch_id=batch_id)
        build(warehouse, tmp_path, timezone=timezone)
    incremental = snapshot_marts(warehouse)
    assert incremental["fct_conversions"], "the feed should produce conversions"

    build(warehouse, tmp_path, "--full-refresh", timezone=timezone)
    assert snapshot_marts(warehouse) == incremental


def test_dbt_build_args_carry_the_run_window_as_half_open_vars():
    from orchestration.assets.transformation import DbtBuildConfig, build_window, dbt_build_args
    from orchestration.days import DayRange

    build = ["build", "--exclude-resource-type", "unit_test"]
    assert dbt_build_args(DayRange()) == build
    assert dbt_build_args(DayRange(date(2024, 6, 1), date(2024, 6, 3)), full_refresh=True) == [
        *build, "--full-refresh", "--vars", '{"min_date": "2024-06-01", "max_date": "2024-06-04"}']
    assert dbt_build_args(DayRange(None, date(2024, 6, 3))) == [*build, "--vars", '{"max_date": "2024-06-04"}']
    # The settings reach dbt as vars, not through the process environment.
    assert dbt_build_args(DayRange(), warehouse="/w.duckdb", timezone="Europe/Madrid") == [
        *build, "--vars", '{"warehouse_path": "/w.duckdb", "timezone": "Europe/Madrid"}']
    assert dbt_build_args(DayRange(), warehouse="/w.duckdb", touched_row_tests=True) == [
        *build, "--vars", '{"warehouse_path": "/w.duckdb", "tests_on_touched_rows": true}']
    tags = DayRange(date(2024, 6, 1), date(2024, 6, 2)).tags()
    assert build_window(DbtBuildConfig(), tags) == DayRange(date(2024, 6, 1), date(2024, 6, 2))
    assert build_window(DbtBuildConfig(start_date="2024-07-01"), tags) == DayRange(date(2024, 7, 1), None)


def dagster_resources(warehouse, **warehouse_options):
    from orchestration.assets.transformation import DBT_EXECUTABLE, dbt_project
    from orchestration.resources.dbt_cli import CampaignDbtCli
    from orchestration.resources.engine import Engine
    from orchestration.resources.local_days import LocalDays
    from orchestration.resources.publish_folder import PublishFolder
    from orchestration.resources.warehouse import WarehouseResource
    from orchestration.settings import DBT_PROJECT_DIR

    return {
        "dbt": CampaignDbtCli(project_dir=dbt_project, profiles_dir=str(DBT_PROJECT_DIR),
                              dbt_executable=DBT_EXECUTABLE),
        "warehouse": WarehouseResource(database=str(warehouse), **warehouse_options),
        "local_days": LocalDays(timezone="UTC"),
        "engine": Engine(),
        "publish": PublishFolder(root=os.path.join(os.path.dirname(str(warehouse)), "publish")),
    }


def test_dagster_asset_builds_the_marts_and_warns_of_two_currencies_in_a_day(warehouse, tmp_path, monkeypatch):
    import dagster as dg

    from orchestration.assets.transformation import campaign_dbt_models

    # dbt's own setting: this test's artifacts in its folder, not the project's target/.
    monkeypatch.setenv("DBT_TARGET_PATH", str(tmp_path / "dbt_target"))
    load_first_days(warehouse)
    # A USD purchase assisted by m2 on the day of G2 (BRL), for the same campaign.
    insert_raw(warehouse, "orders", [order("P7-01", "P7", "u2", "2024-06-03 12:00:00", "2024-06-03 12:00:00",
                                           [item("7", "D", 1, 2000)], currency="USD")], batch_id=7)

    environment = dict(os.environ)
    result = dg.materialize([campaign_dbt_models], resources=dagster_resources(warehouse), raise_on_error=False)

    assert result.success
    materialized = {event.asset_key for event in result.get_asset_materialization_events()}
    assert dg.AssetKey(["marts", "fct_conversions"]) in materialized
    assert dg.AssetKey(["marts", "mart_daily_campaign_metrics"]) in materialized
    evaluations = result.get_asset_check_evaluations()
    assert len(evaluations) == len(list(campaign_dbt_models.check_specs))
    failed = {(e.asset_key.to_user_string(), e.check_name, e.severity) for e in evaluations if not e.passed}
    assert failed == {("marts/fct_conversions", "one_currency_per_daily_campaign_row", dg.AssetCheckSeverity.WARN)}
    assert fetch(warehouse, "select total_conversions, total_conversion_value from marts.mart_daily_campaign_metrics "
                            "where metric_date = '2024-06-03' and campaign_id = 'cmp_a'") == [(2, Decimal("38.99"))]
    assert dict(os.environ) == environment  # dbt got its settings as vars: nothing was set for it

    # The next build with the same vars reuses this one's parse (resources/dbt_cli.py): dbt
    # does not parse the project again.
    assert dg.materialize([campaign_dbt_models], resources=dagster_resources(warehouse)).success
    logs = sorted((tmp_path / "dbt_target").glob("campaign_dbt_models-*/dbt.log"), key=lambda p: p.stat().st_mtime)
    assert len(logs) == 2
    assert "Starting full parse" in logs[0].read_text()
    assert "Partial parsing enabled, no changes found" in logs[1].read_text()
    assert "full parse" not in logs[1].read_text()


def test_dagster_asset_waits_for_the_warehouse_writer_lock(warehouse):
    import dagster as dg

    from orchestration.assets.transformation import campaign_dbt_models
    from orchestration.resources.warehouse import WarehouseLockTimeout, writer_lock

    with writer_lock(str(warehouse), timeout_seconds=5):
        result = dg.materialize([campaign_dbt_models], raise_on_error=False,
                                resources=dagster_resources(warehouse, lock_timeout_seconds=0.5))
    assert not result.success
    failure = next(event for event in result.all_events if event.is_step_failure)
    error = failure.step_failure_data.error
    assert WarehouseLockTimeout.__name__ in {error.cls_name, error.cause.cls_name if error.cause else None}
    assert not fetch(warehouse, "select * from information_schema.tables where table_schema = 'marts'")
