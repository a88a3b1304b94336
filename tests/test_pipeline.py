"""The whole chain through Dagster, as the UI and `campaigns run` run it: hand-written landing
files -> raw -> dbt -> marts -> the BI copy, with the exact rows of the conversion marts."""

from datetime import date, datetime
from decimal import Decimal
from pathlib import Path

import dagster as dg
import duckdb
import pytest

from landing_files import send, status, webhook, write_lines
from orchestration.definitions import PIPELINE_JOB_NAME, build_defs
from orchestration.settings import load_settings


def unix(instant: str) -> int:
    return int(datetime.fromisoformat(instant.replace("Z", "+00:00")).timestamp())


def order(order_id, user, created, last_change, status_="invoiced", group=None, form="AB12CD34-0000-4000-8000-00000000CAFE",
          items=((2, 4990),)):
    return {"orderId": order_id, "orderGroup": group or order_id.split("-")[0], "sequence": "1",
            "orderFormId": form, "status": status_, "creationDate": created, "lastChange": last_change,
            "value": sum(q * p for q, p in items) + 1000,
            "items": [{"id": f"sku{i}", "productId": "77", "name": "Camiseta Azul", "quantity": q, "price": p,
                       "sellingPrice": p} for i, (q, p) in enumerate(items)],
            "clientProfileData": {"userProfileId": user, "email": "a@b.com"},
            "storePreferencesData": {"currencyCode": "BRL", "timeZone": "E. South America Standard Time"}}


def land_scenario(landing):
    write_lines(landing, "campaigns", "2024-06-01", "admin.jsonl", [
        {"campaign_id": "cmp_a", "event": "created", "occurred_at": "2024-06-01T10:00:00Z", "name": "Carrinho",
         "language": "pt", "message_type": "cart_reminder", "currency": "BRL"}])
    write_lines(landing, "sends", "2024-06-25", "sends.jsonl", [
        send("wamid.R1", user_id="u1", campaign_id="cmp_a", sent_at="2024-06-25T11:00:00Z"),
        send("wamid.R1", user_id="u1", campaign_id="cmp_a", sent_at="2024-06-25T11:00:00Z"),  # duplicate line
        send("wamid.R2", user_id="u2", campaign_id="cmp_a", sent_at="2024-06-25T11:00:00Z"),
        send("wamid.R3", user_id="u3", campaign_id="cmp_a", sent_at="2024-06-25T11:00:00Z"),
        send("wamid.R4", user_id="u4", campaign_id="cmp_a", sent_at="2024-06-25T11:00:00Z"),
        "not json",
    ])
    delivered_r1 = status("wamid.R1", "delivered", unix("2024-06-25T11:01:00Z"))
    write_lines(landing, "whatsapp", "2024-06-25", "hooks.jsonl.gz", [
        webhook(statuses=[delivered_r1]),
        webhook(statuses=[delivered_r1]),  # at-least-once: the same status twice
        webhook(statuses=[status("wamid.R1", "read", unix("2024-06-25T11:05:00Z")),
                          status("wamid.R2", "delivered", unix("2024-06-25T11:02:00Z")),
                          status("wamid.R3", "delivered", unix("2024-06-25T11:03:00Z")),
                          {**status("wamid.R4", "failed", unix("2024-06-25T11:04:00Z")),
                           "errors": [{"code": 131026, "title": "Message undeliverable"}]}]),
    ])
    write_lines(landing, "clicks", "2024-06-25", "clicks.jsonl", [
        {"click_id": "c1", "message_id": "wamid.R1", "clicked_at": "2024-06-25T12:00:00Z",
         "url": "https://shop.example/checkout/", "user_agent": "Mozilla/5.0"}])
    write_lines(landing, "orders", "2024-06-26", "orders.jsonl", [
        # u1 buys a day after clicking: click-through; updated later (the latest version wins).
        order("100-01", "u1", "2024-06-26T10:00:00.1234567+00:00", "2024-06-26T10:00:00+00:00", "payment-pending"),
        order("100-01", "u1", "2024-06-26T10:00:00.1234567+00:00", "2024-06-26T12:00:00+00:00", "invoiced"),
        # u1 again, canceled after an update: no purchase.
        order("101-01", "u1", "2024-06-26T15:00:00Z", "2024-06-26T15:00:00Z", "payment-pending"),
        order("101-01", "u1", "2024-06-26T15:00:00Z", "2024-06-26T16:00:00Z", "canceled"),
    ])
    write_lines(landing, "orders", "2024-06-28", "orders.jsonl", [
        # u2 buys exactly 72 h after delivery: assisted; split between two sellers.
        order("200-01", "u2", "2024-06-28T11:02:00Z", "2024-06-28T11:02:00Z", items=((1, 1000),)),
        order("200-02", "u2", "2024-06-28T11:05:00Z", "2024-06-28T11:05:00Z", items=((3, 250),)),
        # u3 buys one second past 72 h: organic.
        order("300-01", "u3", "2024-06-28T11:03:01Z", "2024-06-28T11:03:01Z"),
    ])


@pytest.fixture
def pipeline(tmp_path, landing):
    settings = load_settings({"CAMPAIGNS_LANDING": str(landing), "CAMPAIGNS_WAREHOUSE": str(tmp_path / "w.duckdb"),
                              "CAMPAIGNS_PUBLISH": str(tmp_path / "publish"), "CAMPAIGNS_TIMEZONE": "UTC"})
    defs = build_defs(settings)

    def run(**tags):
        result = defs.resolve_job_def(PIPELINE_JOB_NAME).execute_in_process(
            instance=dg.DagsterInstance.ephemeral(), tags=tags)
        assert result.success
        return result

    return settings, run


def rows(path, sql):
    con = duckdb.connect(path, read_only=True)
    try:
        return con.execute(sql).fetchall()
    finally:
        con.close()


def test_hand_written_feeds_give_the_exact_conversions_and_daily_metrics(pipeline, landing):
    settings, run = pipeline
    land_scenario(landing)
    run()

    assert rows(settings.warehouse, """
        SELECT conversion_id, order_form_id, user_id, message_id, campaign_id, attribution_type,
               delivered_at::VARCHAR, read_at::VARCHAR, clicked_at::VARCHAR, order_created_at::VARCHAR,
               order_date, order_total, currency
        FROM marts.fct_conversions ORDER BY conversion_id""") == [
        ("100", "ab12cd3400004000800000000000cafe", "u1", "wamid.R1", "cmp_a", "click_through",
         "2024-06-25 11:01:00", "2024-06-25 11:05:00", "2024-06-25 12:00:00", "2024-06-26 10:00:00.123456",
         date(2024, 6, 26), Decimal("99.80"), "BRL"),
        ("200", "ab12cd3400004000800000000000cafe", "u2", "wamid.R2", "cmp_a", "assisted",
         "2024-06-25 11:02:00", None, None, "2024-06-28 11:02:00",
         date(2024, 6, 28), Decimal("17.50"), "BRL"),
    ]
    metrics = rows(settings.warehouse, """
        SELECT metric_date, messages_sent, messages_delivered, messages_failed, messages_read, unique_clicks,
               total_clicks, assisted_conversions, click_through_conversions, total_conversions,
               assisted_conversion_value, click_through_conversion_value, total_conversion_value, currency
        FROM marts.mart_daily_campaign_metrics WHERE campaign_id = 'cmp_a' ORDER BY metric_date""")
    zero = Decimal("0.00")
    assert metrics == [
        (date(2024, 6, 25), 4, 3, 1, 1, 1, 1, 0, 0, 0, zero, zero, zero, None),
        (date(2024, 6, 26), 0, 0, 0, 0, 0, 0, 0, 1, 1, zero, Decimal("99.80"), Decimal("99.80"), "BRL"),
        (date(2024, 6, 27), 0, 0, 0, 0, 0, 0, 0, 0, 0, zero, zero, zero, None),
        (date(2024, 6, 28), 0, 0, 0, 0, 0, 0, 1, 0, 1, Decimal("17.50"), zero, Decimal("17.50"), "BRL"),
    ]
    # The BI copy holds the same rows.
    assert rows(f"{settings.publish}/bi.duckdb", "SELECT count(*) FROM marts.fct_conversions") == [(2,)]
    # Phone numbers stay in raw.
    for table in ("fct_reminders", "fct_conversions", "mart_daily_campaign_metrics", "dim_campaigns"):
        columns = [c for (c,) in rows(settings.warehouse,
                   f"SELECT column_name FROM information_schema.columns WHERE table_name = '{table}'")]
        assert columns and not any("phone" in c or "recipient" in c for c in columns), table


def test_late_click_landing_days_later_corrects_the_day_it_belongs_to(pipeline, landing):
    settings, run = pipeline
    land_scenario(landing)
    run()
    # u3 clicked on the 25th, but the tracker's file arrives on the 29th: u3's purchase on the
    # 28th becomes click-through (within 15 days of the click), and the 25th gains a click.
    write_lines(landing, "clicks", "2024-06-29", "late.jsonl", [
        {"click_id": "c9", "message_id": "wamid.R3", "clicked_at": "2024-06-25T13:00:00Z"}])
    run()

    assert rows(settings.warehouse, "SELECT conversion_id, attribution_type FROM marts.fct_conversions ORDER BY 1") == [
        ("100", "click_through"), ("200", "assisted"), ("300", "click_through")]
    assert rows(settings.warehouse, """
        SELECT metric_date, unique_clicks, total_clicks, click_through_conversions
        FROM marts.mart_daily_campaign_metrics WHERE metric_date IN ('2024-06-25', '2024-06-28') ORDER BY 1""") == [
        (date(2024, 6, 25), 2, 2, 0), (date(2024, 6, 28), 0, 0, 1)]


def warehouse_contents(path) -> dict:
    """Every row of every table of the warehouse but the watermarks' own clock."""
    con = duckdb.connect(path, read_only=True)
    try:
        tables = con.execute("SELECT table_schema, table_name FROM information_schema.tables "
                             "WHERE table_schema IN ('raw', 'staging', 'intermediate', 'marts')").fetchall()
        return {f"{schema}.{table}": con.execute(
                    f"SELECT * EXCLUDE (recorded_at) FROM {schema}.{table} ORDER BY ALL" if table == "batch_watermark_log"
                    else f"SELECT * FROM {schema}.{table} ORDER BY ALL").fetchall()
                for schema, table in tables}
    finally:
        con.close()


def published_files(root) -> dict:
    """The published copy as BI tools find it: the version `current` points to and its files."""
    current = (root / "current").resolve()
    return {"current": current.name, "versions": sorted(p.name for p in (root / "versions").iterdir()),
            **{p.name: (p.stat().st_ino, p.stat().st_mtime_ns) for p in current.iterdir()}}


def test_rerun_with_nothing_new_changes_nothing_in_the_warehouse_or_the_published_copy(pipeline, landing):
    settings, run = pipeline
    land_scenario(landing)
    run()
    warehouse, published = warehouse_contents(settings.warehouse), published_files(Path(settings.publish))

    instance = dg.DagsterInstance.ephemeral()
    again = build_defs(settings).resolve_job_def(PIPELINE_JOB_NAME).execute_in_process(instance=instance)

    assert again.success
    assert warehouse_contents(settings.warehouse) == warehouse
    assert published_files(Path(settings.publish)) == published  # no new version to reload
    loads = [event for event in again.get_asset_materialization_events()
             if event.asset_key.path[0] == "raw"]
    assert loads and all(event.materialization.metadata["new_files"].value == 0 for event in loads)
    # dbt did not start: no model materialized, no test run; the publish step was skipped.
    assert {event.asset_key.path[0] for event in again.get_asset_materialization_events()} == {"raw"}
    assert {check.asset_key.path[0] for check in again.get_asset_check_evaluations()} == {"raw"}
    skipped = {event.step_key for event in again.all_events if event.event_type_value == "STEP_SKIPPED"}
    assert skipped == {"publish__bi_marts"}
    assert any("skipped: nothing new since the last build" in entry.user_message
               for entry in instance.all_logs(again.run_id))


def test_a_run_builds_again_when_a_file_lands_or_the_last_build_was_not_published(pipeline, landing):
    settings, run = pipeline
    land_scenario(landing)
    run()
    write_lines(landing, "clicks", "2024-06-26", "late.jsonl", [
        {"click_id": "c9", "message_id": "wamid.R2", "clicked_at": "2024-06-26T09:00:00Z"}])
    result = run()
    assert rows(settings.warehouse, "SELECT click_count FROM marts.fct_reminders WHERE message_id = 'wamid.R2'") == [(1,)]
    assert "publish__bi_marts" not in {e.step_key for e in result.all_events if e.event_type_value == "STEP_SKIPPED"}

    # A build that was not published (its publish step failed) is built and published again.
    con = duckdb.connect(settings.warehouse)
    con.execute("DELETE FROM pipeline.build_state WHERE stage = 'published'")
    con.close()
    result = run()
    assert any(e.asset_key == dg.AssetKey(["publish", "bi_marts"]) for e in result.get_asset_materialization_events())


def test_a_plain_run_after_a_plain_run_tests_the_rows_it_touched_and_every_row_once_a_week(pipeline, landing):
    settings, _ = pipeline
    job = build_defs(settings).resolve_job_def(PIPELINE_JOB_NAME)

    def run_and_read():
        instance = dg.DagsterInstance.ephemeral()
        result = job.execute_in_process(instance=instance, raise_on_error=False)
        said = [entry.user_message for entry in instance.all_logs(result.run_id)
                if entry.user_message.startswith("data tests:")]
        unique = {check.passed for check in result.get_asset_check_evaluations()
                  if check.check_name == "unique_fct_reminders_message_id"}
        return result.success, said, unique

    land_scenario(landing)
    assert run_and_read() == (True, ["data tests: every row"], {True})

    # R3 twice, as a broken model would leave it; then a late click on R2 only.
    con = duckdb.connect(settings.warehouse)
    con.execute("INSERT INTO intermediate.int_reminders_tracked "
                "SELECT * FROM intermediate.int_reminders_tracked WHERE message_id = 'wamid.R3'")
    con.close()
    write_lines(landing, "clicks", "2024-06-26", "late.jsonl", [
        {"click_id": "c9", "message_id": "wamid.R2", "clicked_at": "2024-06-26T09:00:00Z"}])
    success, said, unique = run_and_read()
    assert (success, unique) == (True, {True})  # R3 was not touched: its rows were not read
    assert len(said) == 1 and said[0].startswith("data tests: the rows touched by the raw batches after ")

    # A week after every row was last tested, every row is tested again: the duplicate is found.
    con = duckdb.connect(settings.warehouse)
    con.execute("UPDATE pipeline.build_state SET recorded_at = recorded_at - INTERVAL 8 DAY WHERE stage = 'tested'")
    con.close()
    write_lines(landing, "clicks", "2024-06-26", "later.jsonl", [
        {"click_id": "c10", "message_id": "wamid.R2", "clicked_at": "2024-06-26T10:00:00Z"}])
    assert run_and_read() == (False, ["data tests: every row"], {False})


def test_status_for_an_unknown_message_is_ignored_and_an_early_click_still_proves_delivery(pipeline, landing):
    settings, run = pipeline
    land_scenario(landing)
    write_lines(landing, "whatsapp", "2024-06-25", "extra.jsonl", [
        webhook(statuses=[status("wamid.UNKNOWN", "read", unix("2024-06-25T11:30:00Z"))])])
    # The tracker's clock is an hour behind: a click on R4 stamped before R4 was sent. A click
    # proves delivery (docs/spec.md section 2), so R4 is delivered at the earliest of its events and not failed.
    write_lines(landing, "clicks", "2024-06-25", "early.jsonl", [
        {"click_id": "c0", "message_id": "wamid.R4", "clicked_at": "2024-06-25T10:00:00Z"}])
    run()

    assert rows(settings.warehouse, """
        SELECT message_id, delivered_at::VARCHAR, failed, click_count FROM marts.fct_reminders ORDER BY 1""") == [
        ("wamid.R1", "2024-06-25 11:01:00", False, 1), ("wamid.R2", "2024-06-25 11:02:00", False, 0),
        ("wamid.R3", "2024-06-25 11:03:00", False, 0), ("wamid.R4", "2024-06-25 10:00:00", False, 1)]
    assert rows(settings.warehouse, """
        SELECT messages_sent, messages_delivered, messages_failed, messages_read, total_clicks
        FROM marts.mart_daily_campaign_metrics WHERE metric_date = '2024-06-25'""") == [(4, 4, 0, 1, 2)]


def test_windows_are_real_hours_across_madrids_dst_change(tmp_path, landing):
    # Madrid's clocks jump from 02:00 to 03:00 on 2024-03-31: 72 real hours after 12:00 UTC on the
    # 30th is 12:00 UTC on 2 April (14:00 local), not 13:00 local as a wall-clock 3 days would say.
    settings = load_settings({"CAMPAIGNS_LANDING": str(landing), "CAMPAIGNS_WAREHOUSE": str(tmp_path / "w.duckdb"),
                              "CAMPAIGNS_PUBLISH": str(tmp_path / "publish"), "CAMPAIGNS_TIMEZONE": "Europe/Madrid"})
    write_lines(landing, "sends", "2024-03-30", "sends.jsonl", [
        send("wamid.M1", user_id="m1", campaign_id="cmp_es", sent_at="2024-03-30T11:59:00Z"),
        send("wamid.M2", user_id="m2", campaign_id="cmp_es", sent_at="2024-03-30T11:59:00Z")])
    write_lines(landing, "whatsapp", "2024-03-30", "hooks.jsonl", [webhook(statuses=[
        status("wamid.M1", "delivered", unix("2024-03-30T12:00:00Z")),
        status("wamid.M2", "delivered", unix("2024-03-30T12:00:00Z"))])])
    write_lines(landing, "orders", "2024-04-02", "orders.jsonl", [
        order("400-01", "m1", "2024-04-02T12:00:00Z", "2024-04-02T12:00:00Z"),     # exactly 72 h: assisted
        order("500-01", "m2", "2024-04-02T14:00:01+02:00", "2024-04-02T14:00:01+02:00")])  # 72 h + 1 s: organic
    result = build_defs(settings).resolve_job_def(PIPELINE_JOB_NAME).execute_in_process(
        instance=dg.DagsterInstance.ephemeral())
    assert result.success

    assert rows(settings.warehouse, "SELECT conversion_id, attribution_type, order_date FROM marts.fct_conversions") == [
        ("400", "assisted", date(2024, 4, 2))]
    assert rows(settings.warehouse, """
        SELECT metric_date, messages_sent, messages_delivered, assisted_conversions
        FROM marts.mart_daily_campaign_metrics ORDER BY 1""") == [
        (date(2024, 3, 30), 2, 2, 0), (date(2024, 3, 31), 0, 0, 0), (date(2024, 4, 1), 0, 0, 0),
        (date(2024, 4, 2), 0, 0, 1)]


def meta_webhook(value: dict) -> dict:
    """A webhook body as Meta's WhatsApp Cloud API posts it (entry, changes, metadata)."""
    return {"object": "whatsapp_business_account", "entry": [{"id": "102290129340398", "changes": [{
        "value": {"messaging_product": "whatsapp",
                  "metadata": {"display_phone_number": "15550783881", "phone_number_id": "106540352242922"},
                  **value},
        "field": "messages"}]}]}


def test_a_real_vtex_order_without_store_preferences_is_attributed_in_its_campaigns_currency(pipeline, landing):
    """A real order document of a Brazilian store (2017, the OMS "Get order" shape with every field
    VTEX sends, personal data replaced) has no storePreferencesData: it loads, is attributed to the
    reminder clicked before it and totalled from its items, in the campaign's currency. Around it:
    Meta webhooks as they come (conversation, pricing, contacts), and a click stamped at
    23:59:59.9 the evening before the campaign's first send (clocks differ), which must still
    count on its own day in the daily mart."""
    import json
    from pathlib import Path

    document = json.loads((Path(__file__).parent / "documents" / "vtex_order_2017.json").read_text())
    assert "storePreferencesData" not in document
    buyer = document["clientProfileData"]["userProfileId"]
    settings, run = pipeline
    write_lines(landing, "campaigns", "2017-07-01", "admin.jsonl", [
        {"campaign_id": "cmp_br", "event": "created", "occurred_at": "2017-07-01T10:00:00Z",
         "name": "Carrinho abandonado", "language": "pt", "message_type": "cart_reminder", "currency": "BRL"}])
    write_lines(landing, "sends", "2017-08-01", "sends.jsonl", [
        send("wamid.V1", user_id=buyer, campaign_id="cmp_br", sent_at="2017-08-01T12:00:00.000Z",
             order_form_id="0ee54ba8c6bc4240a06085dfd89ca015")])
    conversation = {"id": "0c3f1a2b3c4d5e6f", "expiration_timestamp": "1501675200", "origin": {"type": "marketing"}}
    pricing = {"billable": True, "pricing_model": "CBP", "category": "marketing"}
    write_lines(landing, "whatsapp", "2017-08-02", "hooks.jsonl", [
        meta_webhook({"statuses": [
            {"id": "wamid.V1", "status": "sent", "timestamp": str(unix("2017-08-01T12:00:02Z")),
             "recipient_id": "556400000000", "conversation": conversation, "pricing": pricing},
            {"id": "wamid.V1", "status": "delivered", "timestamp": str(unix("2017-08-01T12:00:05Z")),
             "recipient_id": "556400000000", "conversation": conversation, "pricing": pricing}]}),
        meta_webhook({"statuses": [
            {"id": "wamid.V1", "status": "read", "timestamp": str(unix("2017-08-01T12:10:00Z")),
             "recipient_id": "556400000000"}]}),
        meta_webhook({"contacts": [{"profile": {"name": "Cliente"}, "wa_id": "556400000000"}],
                      "messages": [{"context": {"from": "15550783881", "id": "wamid.V1"},
                                    "from": "556400000000", "id": "wamid.TAP1",
                                    "timestamp": str(unix("2017-08-02T09:00:00Z")), "type": "button",
                                    "button": {"payload": "Ver carrinho", "text": "Ver carrinho"}}]}),
    ])
    write_lines(landing, "clicks", "2017-08-01", "clicks.jsonl", [
        {"click_id": "c_early", "message_id": "wamid.V1", "clicked_at": "2017-07-31T23:59:59.9Z",
         "url": "https://lojabrinquedos.example/checkout/?orderFormId=0ee54ba8c6bc4240a06085dfd89ca015",
         "user_agent": "Mozilla/5.0 (Linux; Android 7.0)"}])
    write_lines(landing, "orders", "2017-08-03", "orders.jsonl", [document])
    run()

    assert rows(settings.warehouse, "SELECT count(*) FROM raw.rejected_records") == [(0,)]
    assert rows(settings.warehouse, """
        SELECT conversion_id, order_form_id, user_id, message_id, attribution_type, clicked_at,
               order_total, currency
        FROM marts.fct_conversions""") == [
        ("v50215843lojb", "0ee54ba8c6bc4240a06085dfd89ca015", buyer, "wamid.V1", "click_through",
         datetime(2017, 8, 2, 9, 0), Decimal("999.00"), "BRL")]
    assert rows(settings.warehouse, "SELECT click_id, click_kind, campaign_id, user_id, click_date "
                                    "FROM marts.fct_clicks ORDER BY clicked_at") == [
        ("c_early", "link", "cmp_br", buyer, date(2017, 7, 31)),
        ("wamid.TAP1", "button", "cmp_br", buyer, date(2017, 8, 2))]
    daily = rows(settings.warehouse, """
        SELECT metric_date, messages_sent, messages_delivered, unique_clicks, total_clicks,
               click_through_conversions, click_through_conversion_value, currency
        FROM marts.mart_daily_campaign_metrics ORDER BY metric_date""")
    assert daily == [
        (date(2017, 7, 31), 0, 1, 1, 1, 0, Decimal("0.00"), None),  # the early click proves delivery
        (date(2017, 8, 1), 1, 0, 0, 0, 0, Decimal("0.00"), None),
        (date(2017, 8, 2), 0, 0, 1, 1, 0, Decimal("0.00"), None),
        (date(2017, 8, 3), 0, 0, 0, 0, 1, Decimal("999.00"), "BRL")]
    # One shopper clicked on two days: two per-day unique clickers, one over the range.
    assert rows(settings.warehouse, "SELECT count(DISTINCT user_id) FROM marts.fct_clicks") == [(1,)]

    from orchestration.reporting.csv_export import export_conversions_csv
    from orchestration.days import DayRange

    with duckdb.connect(settings.warehouse, read_only=True) as con:
        csv = export_conversions_csv(con, DayRange(date(2017, 7, 31), date(2017, 8, 3)), settings.reports)
    lines = csv.path.read_bytes().decode("utf-8-sig").split("\r\n")
    assert lines[1].endswith(",999.00,BRL,0ee54ba8c6bc4240a06085dfd89ca015")
