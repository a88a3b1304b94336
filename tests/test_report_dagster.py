"""The report in Dagster: the "Send report" job with run config, and the 06:00 daily schedule."""

from datetime import datetime, timezone
from email import message_from_bytes, policy
from pathlib import Path
from zoneinfo import ZoneInfo

import dagster as dg
import duckdb
import pytest

from fake_sendgrid import FakeSendGrid, Reply
from orchestration.assets.reporting import (
    build_daily_schedule,
    build_send_report_job,
    conversions_report,
    report_run_config,
)
from orchestration.definitions import build_defs
from orchestration.days import DayRange, previous_local_day
from orchestration.resources.local_days import LocalDays
from orchestration.resources.mailer import MailerResource
from orchestration.resources.reports_folder import ReportsFolder
from orchestration.settings import load_settings

API_KEY = "SG.dagster-test-key.NeverInDagsterLogs-42"
NEW_YORK = "America/New_York"


TEAM = "team@shop.example"


@pytest.fixture
def fake():
    server = FakeSendGrid().start()
    yield server
    server.stop()


def definitions(report_warehouse, tmp_path, fake=None):
    mailer = MailerResource(report_from="reports@shop.example", outbox=str(tmp_path / "outbox"),
                            default_recipients=TEAM, sendgrid_api_key=API_KEY if fake else None,
                            sendgrid_host=fake.url if fake else None, backoff_base_seconds=0.01, max_attempts=2)
    return dg.Definitions(assets=[conversions_report], jobs=[send_report_job()],
                          resources={"warehouse": report_warehouse, "mailer": mailer,
                                     "reports": ReportsFolder(root=str(tmp_path / "reports")),
                                     "local_days": LocalDays(timezone=NEW_YORK)})


def send_report_job(recipients: str = TEAM):
    """The job as the code location builds it, from this test's settings."""
    return build_send_report_job(load_settings({"CAMPAIGNS_TIMEZONE": NEW_YORK, "REPORT_RECIPIENTS": recipients}))


def run(defs, run_config=None):
    job = defs.resolve_job_def("send_report_job")
    return job.execute_in_process(run_config=run_config or {}, raise_on_error=False)


def metadata(result):
    materialization, = result.asset_materializations_for_node("conversions_report")
    return {key: value.value for key, value in materialization.metadata.items()}


def failure_message(result):
    """The innermost error of the run's one failed step: what went wrong, not where Dagster caught it."""
    failure, = [event for event in result.all_events if event.is_step_failure]
    error = failure.step_failure_data.error
    while error.cause is not None:
        error = error.cause
    return error.message


def range_config(start, end, **extra):
    return {"ops": {"conversions_report": {"config": {"start_date": start, "end_date": end, **extra}}}}


def test_send_report_job_emails_the_range_once_and_describes_it(report_warehouse, tmp_path, fake):
    defs = definitions(report_warehouse, tmp_path, fake)

    first = run(defs, range_config("2024-06-25", "2024-06-26", recipients="a@x.com,b@y.com"))
    second = run(defs, range_config("2024-06-25", "2024-06-26", recipients="b@y.com,a@x.com"))

    assert first.success and second.success
    described = metadata(first)
    assert described["path"] == str(tmp_path / "reports" / "conversions_2024-06-25_2024-06-26.csv")
    assert Path(described["path"]).is_file()
    assert (described["rows"], described["recipients"], described["delivery_status"]) == (3, 2, "sent")
    assert described["backend"] == "sendgrid" and described["sendgrid_message_id"] == "fake-message-1"
    assert metadata(second)["delivery_status"] == "already_sent"
    assert len(fake.requests) == 1
    assert fake.requests[0].json["personalizations"][0]["to"] == [{"email": "a@x.com"}, {"email": "b@y.com"}]


def test_a_failed_run_is_recorded_and_its_retry_sends_exactly_once(report_warehouse, tmp_path, fake):
    defs = definitions(report_warehouse, tmp_path, fake)
    fake.reply(Reply(500), Reply(500))

    failed = run(defs, range_config("2024-06-25", "2024-06-25"))

    assert not failed.success
    assert failure_message(failed).startswith(
        "orchestration.reporting.errors.DeliveryError: SendGrid failed 2 times, the last with 500 Internal Server Error")
    for event in failed.all_events:
        assert API_KEY not in str(event)

    retried = run(defs, range_config("2024-06-25", "2024-06-25"))

    assert retried.success and metadata(retried)["delivery_status"] == "sent"
    assert len(fake.requests) == 3
    con = duckdb.connect(report_warehouse.database, read_only=True)
    assert con.execute("SELECT status, attempts FROM raw.report_deliveries ORDER BY started_at").fetchall() == [
        ("failed", 2), ("sent", 1)]
    con.close()


def test_without_run_config_it_sends_yesterday_to_report_recipients(report_warehouse, tmp_path):
    before = previous_local_day(datetime.now(timezone.utc), NEW_YORK)
    result = run(definitions(report_warehouse, tmp_path))
    after = previous_local_day(datetime.now(timezone.utc), NEW_YORK)

    assert result.success
    described = metadata(result)
    assert Path(described["path"]).name in {f"conversions_{day}_{day}.csv" for day in (before, after)}
    assert described["backend"] == "outbox" and described["recipients"] == 1
    eml = message_from_bytes(Path(described["outbox_file"]).read_bytes(), policy=policy.default)
    assert eml["To"] == "team@shop.example"


@pytest.mark.parametrize(("config", "field", "message"), [
    (range_config("2024-06-31", None), "start_date", "start_date must be a date as YYYY-MM-DD, got '2024-06-31'"),
    (range_config("2024-06-25", "June 26"), "end_date", "end_date must be a date as YYYY-MM-DD, got 'June 26'"),
    (range_config("2024-06-25", "2024-06-25", recipients="ops@shop.example, not-an-address"), "recipients",
     "recipients: invalid recipient address 'not-an-address': expected one bare address such as name@example.com"),
    (range_config("2024-06-25", "2024-06-25", recipients="ops@shop.example\r\nBcc: x@y.z"), "recipients",
     "recipients: invalid recipient address"),
])
def test_bad_run_config_fails_the_run_in_one_line_naming_the_field(report_warehouse, tmp_path, config, field,
                                                                   message):
    result = run(definitions(report_warehouse, tmp_path), config)

    assert not result.success
    shown = failure_message(result).strip()
    assert len(shown.splitlines()) == 1 and field in shown and message in shown, shown
    assert not (tmp_path / "reports").exists() and not (tmp_path / "outbox").exists()


def test_the_launchpad_opens_on_yesterday_and_report_recipients():
    before = previous_local_day(datetime.now(timezone.utc), NEW_YORK).isoformat()
    defs = build_defs(load_settings({"CAMPAIGNS_TIMEZONE": NEW_YORK,
                                     "REPORT_RECIPIENTS": "ops@shop.example,ceo@shop.example"}))
    after = previous_local_day(datetime.now(timezone.utc), NEW_YORK).isoformat()

    job = defs.resolve_job_def("send_report_job")

    # The job's default run config is the launchpad's "default" preset: what a user sees first.
    config = job.run_config["ops"]["conversions_report"]["config"]
    assert config["start_date"] == config["end_date"] and config["start_date"] in {before, after}
    assert config["recipients"] == "ops@shop.example,ceo@shop.example" and config["force"] is False
    fields = (job.run_config_schema.config_type.fields["ops"].config_type.fields["conversions_report"]
              .config_type.fields["config"].config_type.fields)
    for name in ("start_date", "end_date", "recipients"):
        assert fields[name].description, name
    assert "$REPORT_RECIPIENTS" in fields["recipients"].description
    assert "yesterday" in fields["start_date"].description


def test_the_launchpads_defaults_send_yesterday_without_editing(report_warehouse, tmp_path):
    # Launching the job as the launchpad opens (its default config, nothing typed) sends.
    defs = definitions(report_warehouse, tmp_path)

    result = run(defs, defs.resolve_job_def("send_report_job").run_config)

    assert result.success and metadata(result)["recipients"] == 1


@pytest.mark.parametrize(("tick", "expected_day"), [
    (datetime(2024, 3, 10, 6, 0, tzinfo=ZoneInfo(NEW_YORK)), "2024-03-09"),   # the first day of EDT
    (datetime(2024, 3, 11, 6, 0, tzinfo=ZoneInfo(NEW_YORK)), "2024-03-10"),   # the 23-hour day
    (datetime(2024, 11, 3, 6, 0, tzinfo=ZoneInfo(NEW_YORK)), "2024-11-02"),   # the first day of EST
    (datetime(2024, 11, 4, 6, 0, tzinfo=ZoneInfo(NEW_YORK)), "2024-11-03"),   # the 25-hour day
    (datetime(2024, 3, 11, 3, 30, tzinfo=timezone.utc), "2024-03-09"),        # 23:30 on the 10th in New York
])
def test_the_schedule_asks_for_the_previous_local_day_across_dst(tick, expected_day):
    schedule = build_daily_schedule(send_report_job(), NEW_YORK, TEAM)

    data = schedule.evaluate_tick(dg.build_schedule_context(scheduled_execution_time=tick))

    request, = data.run_requests
    config = request.run_config["ops"]["conversions_report"]["config"]
    assert (config["start_date"], config["end_date"]) == (expected_day, expected_day)
    assert config["recipients"] == "team@shop.example"
    assert schedule.cron_schedule == "0 6 * * *" and schedule.execution_timezone == NEW_YORK


def test_the_scheduled_run_sends_the_previous_day(report_warehouse, tmp_path):
    defs = definitions(report_warehouse, tmp_path)
    schedule = build_daily_schedule(send_report_job(), NEW_YORK, TEAM)
    tick = datetime(2024, 6, 26, 6, 0, tzinfo=ZoneInfo(NEW_YORK))

    request, = schedule.evaluate_tick(dg.build_schedule_context(scheduled_execution_time=tick)).run_requests
    result = run(defs, request.run_config)

    assert result.success
    described = metadata(result)
    assert Path(described["path"]).name == "conversions_2024-06-25_2024-06-25.csv"
    assert described["rows"] == 2


def test_run_config_helper_matches_the_job(report_warehouse, tmp_path):
    config = report_run_config(DayRange.resolve("2024-06-26", None, NEW_YORK), "a@x.com", force=True)

    result = run(definitions(report_warehouse, tmp_path), config)

    assert result.success and metadata(result)["rows"] == 1


def test_the_code_locations_mailer_takes_the_key_from_the_environment_and_stores_it_nowhere(
        report_warehouse, tmp_path, fake, monkeypatch):
    """The key is set the way a user sets it (the environment); the code location's mailer holds
    dg.EnvVar("SENDGRID_API_KEY"), which Dagster resolves when the step runs: the run's config,
    its events and the resource's shown config carry the variable's name, never its value."""
    monkeypatch.setenv("SENDGRID_API_KEY", API_KEY)
    settings = load_settings({"SENDGRID_API_KEY": API_KEY, "SENDGRID_HOST": fake.url,
                              "CAMPAIGNS_WAREHOUSE": report_warehouse.database,
                              "CAMPAIGNS_REPORTS": str(tmp_path / "reports"), "CAMPAIGNS_TIMEZONE": NEW_YORK})
    assert API_KEY not in repr(settings)
    defs = build_defs(settings)
    mailer = defs.resources["mailer"]
    assert isinstance(mailer.sendgrid_api_key, dg.EnvVar) and API_KEY not in repr(mailer)
    instance = dg.DagsterInstance.ephemeral()

    result = defs.resolve_job_def("send_report_job").execute_in_process(
        run_config=range_config("2024-06-25", "2024-06-25", recipients="a@x.com"), instance=instance)

    assert result.success and metadata(result)["backend"] == "sendgrid"
    assert fake.requests[0].headers["Authorization"] == f"Bearer {API_KEY}"
    stored = [str(record.event_log_entry) for record in instance.get_records_for_run(result.run_id).records]
    assert stored and not [entry for entry in stored if API_KEY in entry]
    assert API_KEY not in str(instance.get_run_by_id(result.run_id))
