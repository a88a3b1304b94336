"""Raw ingestion against a real DuckDB file: docs/spec.md section 1.6 bad input, reruns, late and gzip files."""

from datetime import date

import dagster as dg
import duckdb
import pytest

from landing_files import send, status, webhook, write_lines
from orchestration.assets.ingestion import raw_assets
from orchestration.ingestion.contracts import sources
from orchestration.ingestion.discovery import discover_new_files
from orchestration.ingestion.loader import load_source
from orchestration.ingestion.reading import read_lines
from orchestration.resources.engine import Engine
from orchestration.resources.landing import LandingZone
from orchestration.resources.warehouse import WarehouseResource


def load(warehouse_path, landing, source):
    with WarehouseResource(database=warehouse_path).connect() as con:
        return load_source(con, str(landing), source)


def query(warehouse_path, sql):
    con = duckdb.connect(warehouse_path, read_only=True)
    try:
        return con.execute(sql).fetchall()
    finally:
        con.close()


def rejected(warehouse_path):
    return query(warehouse_path, "SELECT source, file, line_number, reason FROM raw.rejected_records ORDER BY file, line_number, reason")


def table_fingerprint(warehouse_path, table):
    return query(warehouse_path, f"SELECT count(*), sum(hash(COLUMNS(*))) FROM raw.{table}")


BAD_SENDS = [
    ("not json at all", "not valid JSON"),
    ('{"message_id": "wamid.X", "campaign_id": "c", "user_id": "u"}', "missing key field sent_at"),
    ('{"campaign_id": "c", "user_id": "u", "sent_at": "2024-06-25T11:58:05Z"}', "missing key field message_id"),
    ('{"message_id": "wamid.X", "user_id": "u", "sent_at": "2024-06-25T11:58:05Z"}', "missing key field campaign_id"),
    ('{"message_id": "wamid.X", "campaign_id": "c", "sent_at": "2024-06-25T11:58:05Z"}', "missing key field user_id"),
    ('{"message_id": 42, "campaign_id": "c", "user_id": "u", "sent_at": "2024-06-25T11:58:05Z"}',
     "wrong type for message_id: expected string, got ubigint"),
    ('{"message_id": "wamid.X", "campaign_id": "c", "user_id": "u", "sent_at": "the 25th"}',
     'unparseable timestamp in sent_at: "the 25th"'),
    ('{"message_id": "wamid.X", "campaign_id": "c", "user_id": "u", "sent_at": "2024-06-25T11:58:05Z", "checkout_items": {"id": 1}}',
     "wrong type for checkout_items: expected array, got object"),
    ('["an", "array"]', "not a JSON object"),
]


def test_each_bad_send_line_is_rejected_with_its_reason_and_good_lines_load(warehouse_path, landing):
    lines = [send("wamid.good1")] + [text for text, _ in BAD_SENDS] + [send("wamid.good2")]
    write_lines(landing, "sends", "2024-06-25", "part-0.jsonl", lines)

    result = load(warehouse_path, landing, "sends")

    assert query(warehouse_path, "SELECT message_id, _line_number FROM raw.sends ORDER BY 2") == [
        ("wamid.good1", 1), ("wamid.good2", len(lines))]
    assert rejected(warehouse_path) == [
        ("sends", "sends/dt=2024-06-25/part-0.jsonl", number, reason)
        for number, (_, reason) in enumerate(BAD_SENDS, start=2)
    ]
    assert query(warehouse_path, "SELECT raw_text FROM raw.rejected_records WHERE line_number = 2") == [("not json at all",)]
    assert (result.lines, result.records_rejected, result.rows_loaded) == (len(lines), len(BAD_SENDS), {"sends": 2})


@pytest.mark.parametrize(
    ("source", "line", "reason"),
    [
        ("orders", '{"creationDate": "2024-06-25T14:03:11.1234567+00:00"}', "missing key field orderId"),
        ("orders", '{"orderId": "1-01"}', "missing key field creationDate"),
        ("orders", '{"orderId": "1-01", "creationDate": "25/06/2024"}', 'unparseable timestamp in creationDate: "25/06/2024"'),
        ("orders", '{"orderId": "1-01", "creationDate": "2024-06-25T14:03:11Z", "value": "10980"}',
         "wrong type for value: expected integer, got varchar"),
        ("clicks", '{"message_id": "wamid.1", "clicked_at": "2024-06-25T12:10:00Z"}', "missing key field click_id"),
        ("clicks", '{"click_id": "c1", "clicked_at": "2024-06-25T12:10:00Z"}', "missing key field message_id"),
        ("clicks", '{"click_id": "c1", "message_id": "wamid.1"}', "missing key field clicked_at"),
        ("clicks", '{"click_id": "c1", "message_id": "wamid.1", "clicked_at": 1719316685}',
         "wrong type for clicked_at: expected string, got ubigint"),
        ("campaigns", '{"campaign_id": "c", "event": "deleted", "occurred_at": "2024-06-01T10:00:00Z"}',
         'unknown value for event: "deleted"'),
        ("whatsapp", '{"object": "whatsapp_business_account"}', "missing key field entry"),
        ("whatsapp", '{"entry": []}', "missing key field object"),
    ],
)
def test_bad_line_of_each_source_is_rejected_with_its_reason(warehouse_path, landing, source, line, reason):
    write_lines(landing, source, "2024-06-25", "part-0.jsonl", [line])
    load(warehouse_path, landing, source)
    assert rejected(warehouse_path) == [(source, f"{source}/dt=2024-06-25/part-0.jsonl", 1, reason)]


def test_bad_status_inside_a_webhook_is_rejected_alone(warehouse_path, landing):
    body = webhook(statuses=[status("wamid.1", "delivered", 1719316685),
                             status("wamid.1", "read", "soon"),
                             {"status": "read", "timestamp": "1719316700"}])
    write_lines(landing, "whatsapp", "2024-06-25", "hooks.jsonl", [body])

    load(warehouse_path, landing, "whatsapp")

    assert query(warehouse_path, "SELECT message_id, status, status_at::VARCHAR FROM raw.whatsapp_statuses") == [
        ("wamid.1", "delivered", "2024-06-25 11:58:05")]
    assert [r[2:] for r in rejected(warehouse_path)] == [
        (1, 'statuses[1]: unparseable timestamp in timestamp (Unix seconds expected): "soon"'),
        (1, "statuses[2]: missing key field id"),
    ]


def test_webhook_with_several_entries_loads_every_status_and_message(warehouse_path, landing):
    tap = {"from": "5511999990000", "id": "wamid.in1", "timestamp": "1719316800", "type": "button",
           "context": {"from": "15550000000", "id": "wamid.1"}, "button": {"payload": "buy", "text": "Comprar"}}
    body = webhook(statuses=[status("wamid.1", "delivered", 1719316685)], messages=[tap])
    body["entry"].append(webhook(statuses=[status("wamid.2", "read", 1719316690)])["entry"][0])
    write_lines(landing, "whatsapp", "2024-06-25", "hooks.jsonl.gz", [body])

    result = load(warehouse_path, landing, "whatsapp")

    assert result.rows_loaded == {"whatsapp_statuses": 2, "whatsapp_messages": 1}
    assert query(warehouse_path, "SELECT inbound_message_id, message_type, context->>'id' FROM raw.whatsapp_messages") == [
        ("wamid.in1", "button", "wamid.1")]


def test_offsets_and_seven_fractional_digits_are_kept_as_utc(warehouse_path, landing):
    order = {"orderId": "1-01", "creationDate": "2024-06-25T11:03:11.1234567-03:00",
             "lastChange": "2024-06-26T09:00:00+00:00"}
    write_lines(landing, "orders", "2024-06-25", "orders.jsonl", [order])
    load(warehouse_path, landing, "orders")
    assert query(warehouse_path, "SELECT creation_date::VARCHAR, last_change::VARCHAR FROM raw.orders") == [
        ("2024-06-25 14:03:11.123456", "2024-06-26 09:00:00")]


def test_blank_and_undecodable_lines_keep_line_numbers_exact(warehouse_path, landing):
    lines = [send("wamid.1"), "", b'{"message_id": "wamid.\xff"}', send("wamid.4")]
    write_lines(landing, "sends", "2024-06-25", "part-0.jsonl.gz", lines)
    load(warehouse_path, landing, "sends")
    assert query(warehouse_path, "SELECT message_id, _line_number FROM raw.sends ORDER BY 2") == [
        ("wamid.1", 1), ("wamid.4", 4)]
    assert [r[2:] for r in rejected(warehouse_path)] == [(2, "empty line"), (3, "not valid UTF-8 text")]


def test_gzip_and_plain_files_load_with_their_provenance(warehouse_path, landing):
    write_lines(landing, "sends", "2024-06-25", "a.jsonl", [send("wamid.1")])
    write_lines(landing, "sends", "2024-06-26", "b.jsonl.gz", [send("wamid.2"), send("wamid.3")])
    load(warehouse_path, landing, "sends")
    assert query(warehouse_path, "SELECT message_id, _file, _line_number, _received_dt FROM raw.sends ORDER BY 1") == [
        ("wamid.1", "sends/dt=2024-06-25/a.jsonl", 1, date(2024, 6, 25)),
        ("wamid.2", "sends/dt=2024-06-26/b.jsonl.gz", 1, date(2024, 6, 26)),
        ("wamid.3", "sends/dt=2024-06-26/b.jsonl.gz", 2, date(2024, 6, 26)),
    ]


def test_rerun_with_no_new_files_changes_nothing(warehouse_path, landing):
    write_lines(landing, "sends", "2024-06-25", "a.jsonl", [send("wamid.1"), "oops"])
    load(warehouse_path, landing, "sends")
    before = [table_fingerprint(warehouse_path, t) for t in ("sends", "rejected_records", "loaded_files")]

    again = load(warehouse_path, landing, "sends")

    assert again.files == [] and again.lines == 0
    assert [table_fingerprint(warehouse_path, t) for t in ("sends", "rejected_records", "loaded_files")] == before


def test_late_file_in_an_old_folder_is_loaded_by_the_next_run(warehouse_path, landing):
    write_lines(landing, "sends", "2024-06-25", "a.jsonl", [send("wamid.1")])
    write_lines(landing, "sends", "2024-06-26", "a.jsonl", [send("wamid.2")])
    load(warehouse_path, landing, "sends")
    write_lines(landing, "sends", "2024-06-25", "late-upload.jsonl", [send("wamid.late")])

    result = load(warehouse_path, landing, "sends")

    assert result.files == ["sends/dt=2024-06-25/late-upload.jsonl"]
    assert query(warehouse_path, "SELECT message_id, _batch_id FROM raw.sends ORDER BY _batch_id, message_id") == [
        ("wamid.1", 1), ("wamid.2", 1), ("wamid.late", 2)]


def test_duplicate_lines_stay_in_raw_with_distinct_provenance(warehouse_path, landing):
    # Deduplication is staging's job; raw keeps every line so nothing is lost silently.
    write_lines(landing, "sends", "2024-06-25", "a.jsonl", [send("wamid.1"), send("wamid.1")])
    load(warehouse_path, landing, "sends")
    assert query(warehouse_path, "SELECT message_id, _line_number FROM raw.sends ORDER BY 2") == [
        ("wamid.1", 1), ("wamid.1", 2)]


def test_truncated_gzip_is_recorded_as_unreadable_and_other_files_load(warehouse_path, landing):
    good = write_lines(landing, "sends", "2024-06-25", "a.jsonl.gz", [send("wamid.1")])
    broken = write_lines(landing, "sends", "2024-06-25", "b.jsonl.gz", [send(f"wamid.{i}") for i in range(200)])
    broken.write_bytes(broken.read_bytes()[: len(broken.read_bytes()) // 2])

    result = load(warehouse_path, landing, "sends")

    assert good.exists() and result.unreadable_files == ["sends/dt=2024-06-25/b.jsonl.gz"]
    assert query(warehouse_path, "SELECT message_id FROM raw.sends") == [("wamid.1",)]
    reasons = query(warehouse_path, "SELECT file, line_number, reason FROM raw.rejected_records")
    assert len(reasons) == 1 and reasons[0][:2] == ("sends/dt=2024-06-25/b.jsonl.gz", None)
    assert reasons[0][2].startswith("unreadable file: ")
    assert query(warehouse_path, "SELECT file, status FROM raw.loaded_files ORDER BY file") == [
        ("sends/dt=2024-06-25/a.jsonl.gz", "loaded"), ("sends/dt=2024-06-25/b.jsonl.gz", "unreadable")]


def test_discovery_lists_only_the_files_the_ledger_does_not_hold_oldest_folder_first(warehouse_path, landing):
    write_lines(landing, "sends", "2024-06-26", "a.jsonl", [send("wamid.1")])
    load(warehouse_path, landing, "sends")
    write_lines(landing, "sends", "2024-06-26", "b.jsonl.gz", [send("wamid.2")])
    write_lines(landing, "sends", "2024-06-25", "late.jsonl", [send("wamid.3")])
    (landing / "sends" / "dt=2024-06-25" / "notes.txt").write_text("not a feed file")

    with duckdb.connect(warehouse_path) as con:
        found = discover_new_files(con, str(landing), sources()["sends"])

    assert [path.removeprefix(f"{landing}/") for path, _ in found] == [
        "sends/dt=2024-06-25/late.jsonl", "sends/dt=2024-06-26/b.jsonl.gz"]


def test_reading_numbers_the_decoded_lines_and_names_the_undecodable_ones(landing):
    path = write_lines(landing, "sends", "2024-06-25", "a.jsonl.gz", ["first", b"bad \xff byte", "", "fourth"])
    with duckdb.connect() as con:
        read = read_lines(con, [str(path)])
        lines = con.execute(f"SELECT _line_number, _received_dt, text FROM ({read.lines}) ORDER BY 1").fetchall()
        undecodable = con.execute(f"SELECT _line_number, reason FROM {read.undecodable}").fetchall()

    assert lines == [(1, date(2024, 6, 25), "first"), (3, date(2024, 6, 25), None), (4, date(2024, 6, 25), "fourth")]
    assert undecodable == [(2, "not valid UTF-8 text")]


def materialize_raw(warehouse_path, landing, **kwargs):
    return dg.materialize(
        raw_assets,
        resources={"warehouse": WarehouseResource(database=warehouse_path), "landing": LandingZone(root=str(landing)),
                   "engine": Engine()},
        **kwargs,
    )


def check_results(result):
    return {(e.asset_check_evaluation_data.check_name): e.asset_check_evaluation_data
            for e in result.all_events if e.event_type_value == "ASSET_CHECK_EVALUATION"
            and e.asset_check_evaluation_data.asset_key == dg.AssetKey(["raw", "sends"])}


def test_raw_assets_materialize_through_dagster_with_row_counts(warehouse_path, landing):
    write_lines(landing, "sends", "2024-06-25", "a.jsonl", [send(f"wamid.{i}") for i in range(199)] + ["{broken"])
    write_lines(landing, "whatsapp", "2024-06-25", "w.jsonl",
                [webhook(statuses=[status("wamid.1", "delivered", 1719316685)])])

    result = materialize_raw(warehouse_path, landing)

    assert result.success
    metadata = {m.asset_key.to_user_string(): m.metadata for m in result.get_asset_materialization_events() for m in [m.materialization]}
    assert metadata["raw/sends"]["rows_loaded"].value == 199
    assert metadata["raw/sends"]["rows_rejected"].value == 1
    assert metadata["raw/whatsapp_statuses"]["rows_loaded"].value == 1
    assert metadata["raw/clicks"]["rows_loaded"].value == 0


def test_missing_landing_folder_fails_the_asset_with_a_clear_message(warehouse_path, tmp_path):
    result = dg.materialize(
        raw_assets[:1],
        resources={"warehouse": WarehouseResource(database=warehouse_path),
                   "landing": LandingZone(root=str(tmp_path / "nowhere")), "engine": Engine()},
        raise_on_error=False,
    )
    assert not result.success
    failure = next(e for e in result.all_events if e.is_step_failure)
    assert "does not exist" in failure.step_failure_data.user_failure_data.description


def test_rejected_rate_over_one_percent_warns_and_the_run_goes_on(warehouse_path, landing):
    write_lines(landing, "sends", "2024-06-25", "a.jsonl", [send(f"wamid.{i}") for i in range(95)] + ["{bad"] * 5)
    result = materialize_raw(warehouse_path, landing)
    assert result.success
    check = check_results(result)["rejected_rate"]
    assert (check.passed, check.severity) == (False, dg.AssetCheckSeverity.WARN)
    assert check.description.startswith("5.0% of the lines were rejected")


def test_rejected_rate_over_ten_percent_blocks_everything_downstream(warehouse_path, landing):
    @dg.asset(deps=[dg.AssetKey(["raw", "sends"])])
    def downstream_report():
        return 1

    write_lines(landing, "sends", "2024-06-25", "a.jsonl", [send("wamid.1")] + ["{bad"] * 11 + [send("wamid.2")] * 88)
    result = dg.materialize(
        [*raw_assets, downstream_report],
        resources={"warehouse": WarehouseResource(database=warehouse_path), "landing": LandingZone(root=str(landing)),
                   "engine": Engine()},
        raise_on_error=False,
    )
    assert not result.success
    assert check_results(result)["rejected_rate"].severity == dg.AssetCheckSeverity.ERROR
    materialized = {e.asset_key.to_user_string() for e in result.get_asset_materialization_events()}
    assert "downstream_report" not in materialized
    # The good line is loaded all the same: blocking stops what builds on it, not the load.
    assert query(warehouse_path, "SELECT count(*) FROM raw.sends") == [(89,)]


def test_one_bad_line_in_a_handful_is_within_chance(warehouse_path, landing):
    # 1 of 11 is 9.1%, but a feed rejecting 1% of its lines gives one in eleven one time in ten.
    write_lines(landing, "sends", "2024-06-25", "a.jsonl", [send(f"wamid.{i}") for i in range(10)] + ["{bad"])
    result = materialize_raw(warehouse_path, landing)
    assert result.success
    check = check_results(result)["rejected_rate"]
    assert check.passed, check.description
    assert check.description == "9.09% of the lines were rejected (1 of 11: within chance for a load this small)"


def test_a_small_file_half_garbage_still_blocks(warehouse_path, landing):
    write_lines(landing, "sends", "2024-06-25", "a.jsonl", [send(f"wamid.{i}") for i in range(10)] + ["{bad"] * 10)
    result = materialize_raw(warehouse_path, landing, raise_on_error=False)
    assert not result.success
    check = check_results(result)["rejected_rate"]
    assert (check.passed, check.severity) == (False, dg.AssetCheckSeverity.ERROR)
    assert check.description.startswith("50.0% of the lines were rejected (over 10%)")


def test_volume_check_warns_when_a_day_falls_far_below_the_recent_average(warehouse_path, landing):
    for day in range(18, 25):
        write_lines(landing, "sends", f"2024-06-{day}", "a.jsonl", [send(f"wamid.{day}.{i}", sent_at=f"2024-06-{day}T10:00:00Z") for i in range(100)])
    write_lines(landing, "sends", "2024-06-25", "a.jsonl", [send(f"wamid.25.{i}") for i in range(10)])
    # The 26th's folder has begun: the 25th is complete and judged.
    write_lines(landing, "sends", "2024-06-26", "a.jsonl", [send(f"wamid.26.{i}") for i in range(30)])
    check = check_results(materialize_raw(warehouse_path, landing))["daily_volume"]
    assert (check.passed, check.severity) == (False, dg.AssetCheckSeverity.WARN)
    assert check.description == "sends received 10 lines on 2024-06-25, under half the recent daily average of 100"


def test_volume_check_judges_neither_the_filling_day_nor_late_uploads_after_a_gap(warehouse_path, landing):
    for day in range(18, 25):
        write_lines(landing, "sends", f"2024-06-{day}", "a.jsonl",
                    [send(f"wamid.{day}.{i}", sent_at=f"2024-06-{day}T10:00:00Z") for i in range(100)])
    write_lines(landing, "sends", "2024-06-25", "a.jsonl", [send(f"wamid.25.{i}") for i in range(3)])  # filling
    write_lines(landing, "sends", "2024-06-28", "late.jsonl", [send("wamid.late")])  # a late upload
    check = check_results(materialize_raw(warehouse_path, landing))["daily_volume"]
    assert check.passed, check.description
    assert check.metadata["day"].value == "2024-06-24"


def test_volume_check_lets_a_naturally_small_source_vary(warehouse_path, landing):
    # Three lines a day on average; a day with one is what chance gives one day in five.
    for day, count in [(18, 3), (19, 4), (20, 2), (21, 3), (22, 4), (23, 1), (24, 1)]:
        write_lines(landing, "sends", f"2024-06-{day}", "a.jsonl",
                    [send(f"wamid.{day}.{i}", sent_at=f"2024-06-{day}T10:00:00Z") for i in range(count)])
    check = check_results(materialize_raw(warehouse_path, landing))["daily_volume"]
    assert check.passed, check.description
    assert check.description == "sends received 1 lines on 2024-06-23 (recent daily average 3)"


def test_freshness_check_warns_when_no_new_file_landed_for_36_hours(warehouse_path, landing):
    write_lines(landing, "sends", "2024-06-25", "a.jsonl", [send("wamid.1")])
    materialize_raw(warehouse_path, landing)
    with WarehouseResource(database=warehouse_path).connect() as con:
        con.execute("UPDATE raw.loaded_files SET loaded_at = loaded_at - INTERVAL 40 HOUR")
    check = check_results(materialize_raw(warehouse_path, landing))["landing_freshness"]
    assert (check.passed, check.severity) == (False, dg.AssetCheckSeverity.WARN)
    assert check.description == "no new sends file for 40 hours (over 36)"
