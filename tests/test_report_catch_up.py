"""The daily schedule's catch-up (docs/spec.md section 4): each day not sent is sent by the next scheduled
run that succeeds, oldest first, at most 7 days back, never twice. The real schedule is evaluated
at a tick, and the real report asset runs the request it returns against a hand-made warehouse."""

from datetime import date, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import dagster as dg
import duckdb

from fake_sendgrid import FakeSendGrid, Reply, add_campaign, add_conversion, add_daily_metrics, create_marts
from orchestration.assets.reporting import build_daily_schedule, build_send_report_job, conversions_report
from orchestration.resources.local_days import LocalDays
from orchestration.resources.mailer import MailerResource
from orchestration.resources.reports_folder import ReportsFolder
from orchestration.resources.warehouse import WarehouseResource
from orchestration.settings import load_settings

NEW_YORK = "America/New_York"
TEAM = "team@shop.example"


def warehouse_with_days(tmp_path, first: str, last: str) -> WarehouseResource:
    """Marts holding one campaign's daily rows from `first` to `last`, a conversion each day."""
    warehouse = WarehouseResource(database=str(tmp_path / "warehouse.duckdb"))
    with warehouse.connect() as con:
        create_marts(con)
        add_campaign(con, "cmp_cart_es", "Carrito abandonado")
        day = date.fromisoformat(first)
        while day <= date.fromisoformat(last):
            add_daily_metrics(con, day.isoformat(), messages_sent=10, messages_delivered=9, assisted_conversions=1,
                              total_conversions=1, assisted_conversion_value="10.00", total_conversion_value="10.00")
            add_conversion(con, f"g{day:%m%d}", order_form_id=f"{day:%m%d}".ljust(32, "0"),
                           order_created_at=f"{day} 15:00:00", order_date=day.isoformat(), order_total="10.00")
            day += timedelta(days=1)
    return warehouse


class Scheduled:
    """The code location's parts for the report: its job, its schedule, and a run of a tick."""

    def __init__(self, warehouse, tmp_path, fake=None, recipients=TEAM):
        job = build_send_report_job(load_settings({"CAMPAIGNS_TIMEZONE": NEW_YORK, "REPORT_RECIPIENTS": recipients}))
        mailer = MailerResource(report_from="reports@shop.example", outbox=str(tmp_path / "outbox"),
                                default_recipients=recipients,
                                sendgrid_api_key="SG.catch-up-test-key" if fake else None,
                                sendgrid_host=fake.url if fake else None, backoff_base_seconds=0.01,
                                max_attempts=2)
        self.defs = dg.Definitions(assets=[conversions_report], jobs=[job],
                                   resources={"warehouse": warehouse, "mailer": mailer,
                                              "reports": ReportsFolder(root=str(tmp_path / "reports")),
                                              "local_days": LocalDays(timezone=NEW_YORK)})
        self.schedule = build_daily_schedule(job, NEW_YORK, recipients)
        self.warehouse = warehouse
        self.instance = dg.DagsterInstance.ephemeral()

    def tick(self, day: str):
        """Evaluate the 06:00 tick of `day` and run what it asks for, as the daemon would."""
        instant = datetime.fromisoformat(f"{day} 06:00").replace(tzinfo=ZoneInfo(NEW_YORK))
        request, = self.schedule.evaluate_tick(
            dg.build_schedule_context(scheduled_execution_time=instant)).run_requests
        job = self.defs.resolve_job_def("send_report_job")
        return job.execute_in_process(run_config=request.run_config, tags=request.tags, instance=self.instance,
                                      raise_on_error=False)

    def log_lines(self, result):
        return [entry.user_message for entry in self.instance.all_logs(result.run_id)]

    def send_by_hand(self, day: str, recipients: str = TEAM):
        config = {"start_date": day, "end_date": day, "recipients": recipients}
        job = self.defs.resolve_job_def("send_report_job")
        result = job.execute_in_process(run_config={"ops": {"conversions_report": {"config": config}}})
        assert result.success

    def deliveries(self):
        """(day, status) of every delivery, in the order they started."""
        con = duckdb.connect(self.warehouse.database, read_only=True)
        rows = con.execute("SELECT report_start, report_end, status FROM raw.report_deliveries "
                           "ORDER BY started_at").fetchall()
        con.close()
        assert all(start == end for start, end, _ in rows)
        return [(start.isoformat(), status) for start, _, status in rows]


def days_sent(result):
    materialization, = result.asset_materializations_for_node("conversions_report")
    return materialization.metadata["days_sent"].value


def test_missed_days_are_sent_once_oldest_first_and_never_more_than_seven_days_back(tmp_path):
    scheduled = Scheduled(warehouse_with_days(tmp_path, "2024-06-10", "2024-06-25"), tmp_path)
    scheduled.send_by_hand("2024-06-19")
    scheduled.send_by_hand("2024-06-21")

    first = scheduled.tick("2024-06-26")  # yesterday is the 25th; the window starts on the 19th

    assert first.success
    missed = ["2024-06-20", "2024-06-22", "2024-06-23", "2024-06-24", "2024-06-25"]
    assert days_sent(first) == ", ".join(missed)
    assert scheduled.deliveries() == [(day, "sent") for day in ["2024-06-19", "2024-06-21", *missed]]
    for day in missed:
        assert (tmp_path / "reports" / f"conversions_{day}_{day}.csv").is_file()
    assert len(list((tmp_path / "outbox").glob("*.eml"))) == 2 + len(missed)
    assert not (tmp_path / "reports" / "conversions_2024-06-18_2024-06-18.csv").exists()  # 8 days back

    again = scheduled.tick("2024-06-26")

    assert again.success and days_sent(again) == ""
    assert len(scheduled.deliveries()) == 2 + len(missed)
    assert len(list((tmp_path / "outbox").glob("*.eml"))) == 2 + len(missed)


def test_days_the_machine_was_off_go_with_the_next_tick_and_each_day_goes_once(tmp_path):
    scheduled = Scheduled(warehouse_with_days(tmp_path, "2024-06-01", "2024-06-30"), tmp_path)

    scheduled.tick("2024-06-20")
    scheduled.tick("2024-06-21")
    # the machine is off on the 22nd, 23rd and 24th
    back = scheduled.tick("2024-06-25")

    assert days_sent(back) == "2024-06-21, 2024-06-22, 2024-06-23, 2024-06-24"
    sent = [day for day, status in scheduled.deliveries()]
    assert sent == [(date(2024, 6, 13) + timedelta(days=n)).isoformat() for n in range(12)]  # the 13th to the 24th


def test_days_outside_the_marts_data_are_not_sent_but_yesterday_always_is(tmp_path):
    # A new install: the marts hold the 22nd and the 23rd; nothing landed for the 24th or the 25th yet.
    scheduled = Scheduled(warehouse_with_days(tmp_path, "2024-06-22", "2024-06-23"), tmp_path)

    result = scheduled.tick("2024-06-26")

    assert result.success
    assert days_sent(result) == "2024-06-22, 2024-06-23, 2024-06-25"
    assert "catch-up: 2024-06-24 not sent, the marts hold no data for it" in scheduled.log_lines(result)


def test_another_list_of_recipients_does_not_count_as_sent(tmp_path):
    scheduled = Scheduled(warehouse_with_days(tmp_path, "2024-06-20", "2024-06-25"), tmp_path)
    scheduled.send_by_hand("2024-06-24", recipients="someone.else@shop.example")

    result = scheduled.tick("2024-06-26")

    assert days_sent(result) == "2024-06-20, 2024-06-21, 2024-06-22, 2024-06-23, 2024-06-24, 2024-06-25"


def test_a_day_that_fails_stops_the_run_and_the_next_run_sends_it_and_the_rest(tmp_path):
    fake = FakeSendGrid().start()
    try:
        scheduled = Scheduled(warehouse_with_days(tmp_path, "2024-06-23", "2024-06-25"), tmp_path, fake)
        fake.reply(Reply(202, {"X-Message-Id": "m-23"}), Reply(500), Reply(500))

        failed = scheduled.tick("2024-06-26")

        assert not failed.success
        failure, = [event for event in failed.all_events if event.is_step_failure]
        error = failure.step_failure_data.error
        while error.cause is not None:
            error = error.cause
        assert len(error.message.strip().splitlines()) == 1
        assert "2024-06-24: SendGrid failed 2 times" in error.message
        assert "2024-06-25 wait for the next run" in error.message

        retried = scheduled.tick("2024-06-26")

        assert retried.success and days_sent(retried) == "2024-06-24, 2024-06-25"
        assert scheduled.deliveries() == [("2024-06-23", "sent"), ("2024-06-24", "failed"),
                                          ("2024-06-24", "sent"), ("2024-06-25", "sent")]
        subjects = [request.json["subject"] for request in fake.requests]
        assert subjects == ["WhatsApp campaign report 2024-06-23 to 2024-06-23"] + [
            "WhatsApp campaign report 2024-06-24 to 2024-06-24"] * 3 + [
            "WhatsApp campaign report 2024-06-25 to 2024-06-25"]
    finally:
        fake.stop()


def test_the_tick_asks_for_yesterday_with_catch_up(tmp_path):
    scheduled = Scheduled(warehouse_with_days(tmp_path, "2024-06-25", "2024-06-25"), tmp_path)
    instant = datetime(2024, 6, 26, 6, 0, tzinfo=ZoneInfo(NEW_YORK))

    request, = scheduled.schedule.evaluate_tick(dg.build_schedule_context(scheduled_execution_time=instant)).run_requests

    assert request.run_config["ops"]["conversions_report"]["config"] == {
        "start_date": "2024-06-25", "end_date": "2024-06-25", "force": False, "recipients": TEAM,
        "catch_up": True}
    assert Path(scheduled.warehouse.database).is_file()
