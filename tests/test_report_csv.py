"""The conversions CSV of docs/spec.md section 4, pinned byte for byte on hand-made marts."""

import csv
import io
from datetime import date

import duckdb
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from fake_sendgrid import add_conversion, add_reminder, create_marts
from orchestration.reporting.csv_export import export_conversions_csv
from orchestration.reporting.errors import ReportError
from orchestration.days import DayRange
from orchestration.resources.warehouse import WarehouseResource

BOM = "\ufeff"
HEADER = ("userId,deliveredReminderAt,readReminderAt,orderCreatedAt,hasClickedOnReminder,"
          "checkoutItems,orderItems,orderTotal,currency,orderFormId")
ITEMS_CELL = '"[{""id"":""1234"",""name"":""Camiseta Azul"",""quantity"":2,""price"":49.9}]"'


def fill_marts(con):
    create_marts(con)
    add_reminder(con, "wamid.A", user_id="7f2c9d0e-1b1a-4c55-9a8e-0d6f3c2b1a90",
                 first_clicked_at="2024-06-25 02:10:00", click_count=1)
    add_reminder(con, "wamid.B", user_id="=cmd|calc", first_clicked_at="2024-06-26 10:00:00")
    add_reminder(con, "wamid.C", user_id="u3", first_clicked_at="2024-06-25 20:00:00")
    add_reminder(con, "wamid.D", user_id="@home")
    # outside the range on both sides, by local order_date
    add_conversion(con, "g_before", order_form_id="0" * 32, order_created_at="2024-06-25 02:59:59.999",
                   order_date="2024-06-24")
    add_conversion(con, "g_after", order_form_id="f" * 32, order_created_at="2024-06-27 03:00:00",
                   order_date="2024-06-27")
    # a click-through with a quote and a comma in a checkout product, an accent in an order one
    add_conversion(con, "g1", order_form_id="ede846222cd44046ba6c638442c3505a",
                   user_id="7f2c9d0e-1b1a-4c55-9a8e-0d6f3c2b1a90", message_id="wamid.A",
                   attribution_type="click_through", delivered_at="2024-06-25 01:58:05.514",
                   read_at="2024-06-25 02:00:00", clicked_at="2024-06-25 02:10:00",
                   order_created_at="2024-06-25 03:00:00", order_date="2024-06-25", order_total="109.8",
                   checkout_items='[{"id":"1234","name":"Camiseta \\"Azul\\", M","quantity":2,"price":49.9}]',
                   order_items='[{"id":"77","name":"Café Orgânico","quantity":1,"price":10}]')
    # two orders created in the same millisecond: orderFormId decides, whatever the microseconds
    add_conversion(con, "g2", order_form_id="b" * 32, user_id="=cmd|calc", message_id="wamid.B",
                   delivered_at="2024-06-26 07:00:00", read_at=None,
                   order_created_at="2024-06-26 09:00:00.000100", order_date="2024-06-26",
                   order_total="20.5")
    add_conversion(con, "g3", order_form_id="a" * 32, user_id="u3", message_id="wamid.C",
                   delivered_at="2024-06-25 18:00:00", read_at="2024-06-25 18:30:00",
                   order_created_at="2024-06-26 09:00:00.000900", order_date="2024-06-26", order_total="12",
                   order_items='[{"id":"9","name":"=HYPERLINK(\\"x\\")","quantity":1,"price":5}]')
    # created on the 27th in UTC, but the 26th locally: order_date decides
    add_conversion(con, "g4", order_form_id="c" * 32, user_id="@home", message_id="wamid.D",
                   delivered_at="2024-06-26 22:00:00", read_at="2024-06-26 22:05:00.250",
                   order_created_at="2024-06-27 02:00:00", order_date="2024-06-26", order_total="5")


@pytest.fixture
def con():
    connection = duckdb.connect()
    fill_marts(connection)
    yield connection
    connection.close()


def export(con, folder, start, end):
    return export_conversions_csv(con, DayRange(date.fromisoformat(start), date.fromisoformat(end)), folder)


def order_form_ids(path):
    rows = list(csv.DictReader(io.StringIO(path.read_bytes().decode("utf-8-sig"), newline="")))
    return [row["orderFormId"] for row in rows]


def test_report_csv_is_pinned_byte_for_byte(con, tmp_path):
    report = export(con, tmp_path, "2024-06-25", "2024-06-26")

    expected = BOM + "\r\n".join([
        HEADER,
        "7f2c9d0e-1b1a-4c55-9a8e-0d6f3c2b1a90,2024-06-25T01:58:05.514Z,2024-06-25T02:00:00.000Z,"
        '2024-06-25T03:00:00.000Z,true,"[{""id"":""1234"",""name"":""Camiseta \\""Azul\\"", M"",'
        '""quantity"":2,""price"":49.9}]","[{""id"":""77"",""name"":""Café Orgânico"",""quantity"":1,'
        '""price"":10}]",109.80,BRL,ede846222cd44046ba6c638442c3505a',
        "u3,2024-06-25T18:00:00.000Z,2024-06-25T18:30:00.000Z,2024-06-26T09:00:00.000Z,true,"
        f'{ITEMS_CELL},"[{{""id"":""9"",""name"":""=HYPERLINK(\\""x\\"")"",""quantity"":1,""price"":5}}]",'
        "12.00,BRL," + "a" * 32,
        f"'=cmd|calc,2024-06-26T07:00:00.000Z,,2024-06-26T09:00:00.000Z,false,{ITEMS_CELL},{ITEMS_CELL},"
        "20.50,BRL," + "b" * 32,
        "'@home,2024-06-26T22:00:00.000Z,2024-06-26T22:05:00.250Z,2024-06-27T02:00:00.000Z,false,"
        f"{ITEMS_CELL},{ITEMS_CELL},5.00,BRL," + "c" * 32,
    ]) + "\r\n"
    assert report.path == tmp_path / "conversions_2024-06-25_2024-06-26.csv"
    assert report.path.read_bytes() == expected.encode("utf-8")
    assert report.rows == 4
    assert report.size == len(expected.encode("utf-8"))


def test_empty_range_writes_the_header_alone(con, tmp_path):
    report = export(con, tmp_path, "2024-07-01", "2024-07-31")

    assert report.rows == 0
    assert report.path.read_bytes() == (BOM + HEADER + "\r\n").encode("utf-8")


@pytest.mark.parametrize(("start", "end", "expected"), [
    ("2024-06-24", "2024-06-24", ["0" * 32]),
    ("2024-06-25", "2024-06-25", ["ede846222cd44046ba6c638442c3505a"]),
    ("2024-06-26", "2024-06-26", ["a" * 32, "b" * 32, "c" * 32]),
    ("2024-06-26", "2024-06-27", ["a" * 32, "b" * 32, "c" * 32, "f" * 32]),
    ("2024-06-24", "2024-06-25", ["0" * 32, "ede846222cd44046ba6c638442c3505a"]),
])
def test_range_holds_the_conversions_of_its_local_days_both_ends_included(con, tmp_path, start, end, expected):
    assert order_form_ids(export(con, tmp_path, start, end).path) == expected


def test_rewrite_replaces_the_file_whole_and_leaves_no_temp_file(con, tmp_path):
    export(con, tmp_path, "2024-06-25", "2024-06-26")
    con.execute("DELETE FROM marts.fct_conversions WHERE conversion_id <> 'g4'")

    report = export(con, tmp_path, "2024-06-25", "2024-06-26")

    assert [entry.name for entry in tmp_path.iterdir()] == ["conversions_2024-06-25_2024-06-26.csv"]
    assert order_form_ids(report.path) == ["c" * 32]


def test_failed_export_keeps_the_previous_report_and_no_temp_file(con, tmp_path):
    before = export(con, tmp_path, "2024-06-25", "2024-06-26").path.read_bytes()
    con.execute("DROP TABLE marts.fct_reminders")

    with pytest.raises(ReportError, match="lacks a mart the report reads .*campaigns run"):
        export(con, tmp_path, "2024-06-25", "2024-06-26")

    assert [entry.name for entry in tmp_path.iterdir()] == ["conversions_2024-06-25_2024-06-26.csv"]
    assert (tmp_path / "conversions_2024-06-25_2024-06-26.csv").read_bytes() == before


def test_export_runs_on_the_warehouse_file(tmp_path):
    warehouse = WarehouseResource(database=str(tmp_path / "warehouse.duckdb"))
    with warehouse.connect() as connection:
        fill_marts(connection)
        report = export(connection, tmp_path / "reports", "2024-06-26", "2024-06-26")
    assert report.rows == 3


_TEXT = st.text(alphabet=st.characters(blacklist_categories=("Cs",), blacklist_characters="\x00"), max_size=12)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(user_id=_TEXT, currency=_TEXT)
def test_any_text_cell_reads_back_as_written_with_a_quote_before_a_formula(con, tmp_path, user_id, currency):
    con.execute("DELETE FROM marts.fct_conversions")
    add_conversion(con, "g", order_form_id="ede846222cd44046ba6c638442c3505a", user_id=user_id,
                   currency=currency, order_created_at="2024-06-25 12:00:00", order_date="2024-06-25")

    report = export(con, tmp_path, "2024-06-25", "2024-06-25")

    content = report.path.read_bytes()
    assert content.startswith(b"\xef\xbb\xbf") and content.endswith(b"\r\n")
    rows = list(csv.reader(io.StringIO(content.decode("utf-8-sig"), newline="")))
    assert len(rows) == 2 and len(rows[1]) == 10
    for written, original in ((rows[1][0], user_id), (rows[1][8], currency)):
        dangerous = original[:1] in ("=", "+", "-", "@", "\t", "\r")
        assert written == ("'" + original if dangerous else original)


def test_conversions_alike_in_time_and_order_form_are_ordered_by_conversion_id(tmp_path):
    # Inserted in the "wrong" physical order: without conversion_id as the last key the engine
    # may give them either way, and the same data would give other bytes (and a new report).
    connection = duckdb.connect()
    create_marts(connection)
    for conversion_id, user_id in (("g_second", "u_second"), ("g_first", "u_first")):
        add_conversion(connection, conversion_id, order_form_id="d" * 32, user_id=user_id,
                       order_created_at="2024-06-25 12:00:00", order_date="2024-06-25")

    report = export(connection, tmp_path, "2024-06-25", "2024-06-25")

    rows = list(csv.DictReader(io.StringIO(report.path.read_bytes().decode("utf-8-sig"), newline="")))
    assert [row["userId"] for row in rows] == ["u_first", "u_second"]
    connection.close()
