"""Hostile feeds beyond docs/spec.md section 1.6: each line is loaded with a defined meaning or rejected with a
reason; nothing stops the load and nothing is lost silently."""

import json
import os

from landing_files import send, write_lines
from test_ingestion import load, query, rejected

ORDER = {"orderId": "1-01", "orderGroup": "1", "creationDate": "2024-06-25T14:03:11Z",
         "items": [{"id": "1", "quantity": 2, "price": 4990, "sellingPrice": 4990}]}


def test_truncated_last_line_is_rejected_and_the_lines_before_it_load(warehouse_path, landing):
    path = write_lines(landing, "sends", "2024-06-25", "a.jsonl", [send("wamid.1")])
    path.write_bytes(path.read_bytes() + b'{"message_id": "wamid.2", "campa')  # no newline: cut mid-write
    load(warehouse_path, landing, "sends")
    assert query(warehouse_path, "SELECT message_id FROM raw.sends") == [("wamid.1",)]
    assert [r[2:] for r in rejected(warehouse_path)] == [(2, "not valid JSON")]


def test_empty_file_is_recorded_as_loaded_with_no_lines(warehouse_path, landing):
    folder = landing / "clicks" / "dt=2024-06-25"
    folder.mkdir(parents=True)
    (folder / "empty.jsonl").write_bytes(b"")
    result = load(warehouse_path, landing, "clicks")
    assert result.files == ["clicks/dt=2024-06-25/empty.jsonl"]
    assert query(warehouse_path, "SELECT status, lines, rows_loaded FROM raw.loaded_files") == [("loaded", 0, 0)]


def test_ten_megabyte_line_loads_whole(warehouse_path, landing):
    long_agent = "x" * (10 * 1024 * 1024)
    click = {"click_id": "c1", "message_id": "wamid.1", "clicked_at": "2024-06-25T12:10:00Z", "user_agent": long_agent}
    write_lines(landing, "clicks", "2024-06-25", "a.jsonl", [click, {**click, "click_id": "c2", "user_agent": "short"}])
    load(warehouse_path, landing, "clicks")
    assert query(warehouse_path, "SELECT click_id, length(user_agent) FROM raw.clicks ORDER BY 1") == [
        ("c1", len(long_agent)), ("c2", 5)]


def test_extra_fields_are_ignored_and_missing_optional_fields_are_null(warehouse_path, landing):
    drifted = {"message_id": "wamid.1", "campaign_id": "c", "user_id": "u", "sent_at": "2024-06-25T11:58:05Z",
               "new_field_from_v3": {"nested": True}}
    write_lines(landing, "sends", "2024-06-25", "a.jsonl", [drifted])
    load(warehouse_path, landing, "sends")
    assert query(warehouse_path, "SELECT message_id, phone, order_form_id, checkout_items FROM raw.sends") == [
        ("wamid.1", None, None, None)]
    assert rejected(warehouse_path) == []


def test_instants_before_2000_or_after_their_file_was_received_are_rejected(warehouse_path, landing):
    lines = [send("wamid.old", sent_at="1970-01-01T00:00:00Z"),
             send("wamid.future", sent_at="2999-01-01T00:00:00Z"),
             send("wamid.next_day", sent_at="2024-06-26T23:59:59-03:00"),  # 02:59 UTC on the 27th: too late
             send("wamid.ok", sent_at="2024-06-26T20:00:00Z")]  # skew of up to a day is accepted
    write_lines(landing, "sends", "2024-06-25", "a.jsonl", lines)
    load(warehouse_path, landing, "sends")
    assert query(warehouse_path, "SELECT message_id FROM raw.sends") == [("wamid.ok",)]
    assert [r[2:] for r in rejected(warehouse_path)] == [
        (1, 'timestamp before 2000 in sent_at: "1970-01-01T00:00:00Z"'),
        (2, 'timestamp in sent_at is after its file was received (dt=2024-06-25): "2999-01-01T00:00:00Z"'),
        (3, 'timestamp in sent_at is after its file was received (dt=2024-06-25): "2024-06-26T23:59:59-03:00"'),
    ]


def test_negative_or_absurd_quantities_and_prices_are_rejected(warehouse_path, landing):
    def with_item(**item):
        return {**ORDER, "items": [ORDER["items"][0], {**ORDER["items"][0], **item}]}

    lines = [with_item(quantity=-1), with_item(sellingPrice=-4990), with_item(quantity=10**9),
             with_item(quantity="2"), {**ORDER, "items": [{"id": "1", "price": 1}]}, {**ORDER, "value": -5}, ORDER]
    write_lines(landing, "orders", "2024-06-25", "a.jsonl", lines)
    load(warehouse_path, landing, "orders")
    assert query(warehouse_path, "SELECT _line_number FROM raw.orders") == [(7,)]
    assert [r[2:] for r in rejected(warehouse_path)] == [
        (1, "out of range value for items[].quantity (expected 1 to 100000): -1"),
        (2, "out of range value for items[].sellingPrice (expected 0 to 1e+11): -4990"),
        (3, "out of range value for items[].quantity (expected 1 to 100000): 1000000000"),
        (4, "wrong type for items[].quantity: expected integer"),
        (5, "missing field items[].quantity"),
        (6, "out of range value for value: -5"),
    ]


def test_file_outside_a_dt_folder_is_rejected_line_by_line(warehouse_path, landing):
    folder = landing / "sends" / "dt=yesterday"
    folder.mkdir(parents=True)
    (folder / "a.jsonl").write_text(json.dumps(send("wamid.1")) + "\n")
    load(warehouse_path, landing, "sends")
    assert query(warehouse_path, "SELECT count(*) FROM raw.sends") == [(0,)]
    assert [r[1:] for r in rejected(warehouse_path)] == [
        ("sends/dt=yesterday/a.jsonl", 1, "the file is not in a dt=YYYY-MM-DD folder")]


def test_link_pointing_outside_the_landing_root_is_not_read(warehouse_path, landing, tmp_path):
    secret = tmp_path / "outside.jsonl"
    secret.write_text(json.dumps(send("wamid.secret")) + "\n")
    folder = landing / "sends" / "dt=2024-06-25"
    folder.mkdir(parents=True)
    os.symlink(secret, folder / "link.jsonl")
    write_lines(landing, "sends", "2024-06-25", "real.jsonl", [send("wamid.1")])

    result = load(warehouse_path, landing, "sends")

    assert query(warehouse_path, "SELECT message_id FROM raw.sends") == [("wamid.1",)]
    assert result.unreadable_files == ["sends/dt=2024-06-25/link.jsonl"]
    reason = query(warehouse_path, "SELECT reason FROM raw.rejected_records")[0][0]
    assert reason == "unreadable file: it resolves outside the landing root (a link); not read"
