"""The conversions report as a Dagster asset, its on-demand job and the daily schedule.

The asset is the CSV of conversions for a range of local days, emailed once to its recipients;
its run config is the admin's "Send report" form, whose launchpad opens on yesterday and
$REPORT_RECIPIENTS. The schedule launches it at 06:00 local time for the previous local day,
and that run also sends the days of the week before that were not sent (the catch-up).
"""

# No `from __future__ import annotations`: Dagster reads the asset's parameter types at runtime.

from datetime import datetime

import dagster as dg
from pydantic import Field

from orchestration.days import REPORT_TAGS, DayRange
from orchestration.resources.local_days import LocalDays
from orchestration.resources.mailer import MailerResource
from orchestration.resources.reports_folder import ReportsFolder
from orchestration.resources.warehouse import WarehouseResource
from orchestration.settings import Settings

FCT_CONVERSIONS = dg.AssetKey(["marts", "fct_conversions"])
FCT_REMINDERS = dg.AssetKey(["marts", "fct_reminders"])
DAILY_METRICS = dg.AssetKey(["marts", "mart_daily_campaign_metrics"])
FCT_CLICKS = dg.AssetKey(["marts", "fct_clicks"])
DIM_CAMPAIGNS = dg.AssetKey(["marts", "dim_campaigns"])
# The report reads the marts after the publish step: on the spark engine that step is what
# serves them into the warehouse file the report reads (assets/publishing.py).
PUBLISHED_MARTS = dg.AssetKey(["publish", "bi_marts"])

REPORT_ASSET = "conversions_report"
SEND_REPORT_JOB = "send_report_job"
DAILY_SCHEDULE = "daily_conversions_report"


class ConversionsReportConfig(dg.Config):
    """The "Send report" form. The launchpad opens on yesterday and $REPORT_RECIPIENTS."""

    start_date: str | None = Field(
        default=None, description="First local day, YYYY-MM-DD. Opens on yesterday in "
                                  "$CAMPAIGNS_TIMEZONE; empty takes end_date (both empty: "
                                  "yesterday).")
    end_date: str | None = Field(
        default=None, description="Last local day, inclusive, YYYY-MM-DD. Opens on yesterday in "
                                  "$CAMPAIGNS_TIMEZONE; empty takes start_date.")
    recipients: str | None = Field(
        default=None, description="Comma-separated addresses. Opens on $REPORT_RECIPIENTS; "
                                  "empty sends to $REPORT_RECIPIENTS.")
    force: bool = Field(default=False,
                        description="Send even if this exact report was sent already.")
    catch_up: bool = Field(
        default=False, description="Set by the daily schedule, for one day: also send, oldest "
                                   "first, each of the 6 days before it that these recipients "
                                   "have not received and the marts hold data for.")


@dg.asset(
    name=REPORT_ASSET,
    group_name="reporting",
    deps=[FCT_CONVERSIONS, FCT_REMINDERS, DAILY_METRICS, FCT_CLICKS, DIM_CAMPAIGNS, PUBLISHED_MARTS],
    kinds={"csv", "email"},
)
def conversions_report(
    context: dg.AssetExecutionContext,
    config: ConversionsReportConfig,
    warehouse: WarehouseResource,
    mailer: MailerResource,
    reports: ReportsFolder,
    local_days: LocalDays,
) -> dg.MaterializeResult:
    """The conversions of a range of local days as `$CAMPAIGNS_REPORTS/conversions_<D1>_<D2>.csv`
    (one row per attributed purchase, docs/spec.md section 4), emailed with the range's campaign totals
    through SendGrid or to the outbox, once per content and recipients (the delivery ledger is
    `raw.report_deliveries`)."""
    # The report path (DuckDB, the mailer) is imported when a report runs, not when the code
    # location loads (see orchestration/definitions.py).
    from orchestration.reporting.catch_up import send_scheduled_reports
    from orchestration.reporting.service import send_report

    report_range, recipients = _checked_request(config, local_days.timezone, mailer.default_recipients)
    if config.catch_up:
        outcomes = send_scheduled_reports(
            warehouse, mailer, report_range.end, recipients, reports_dir=reports.root,
            timezone=local_days.timezone, log=context.log)
    else:
        outcomes = [send_report(
            warehouse, mailer, report_range.start, report_range.end, recipients, config.force,
            reports_dir=reports.root, timezone=local_days.timezone, log=context.log)]
    return dg.MaterializeResult(metadata=_describe(outcomes))


def _checked_request(config: ConversionsReportConfig, zone: str, default_recipients: str) -> tuple:
    """The range and recipients asked for, or a one-line ReportArgumentError naming the field."""
    from orchestration.reporting.errors import ReportArgumentError
    from orchestration.reporting.recipients import parse_recipients

    report_range = DayRange.resolve(config.start_date, config.end_date, zone)
    if config.catch_up and report_range.days != 1:
        raise ReportArgumentError(f"catch_up sends one day and the days before it: start_date "
                                  f"and end_date must be the same day, got {report_range}")
    recipients = config.recipients if config.recipients not in (None, "") else default_recipients
    try:
        return report_range, parse_recipients(recipients)
    except ReportArgumentError as error:
        raise ReportArgumentError(f"recipients: {error}") from None


def _describe(outcomes: list) -> dict:
    """The last report sent (or found sent), and the days the run sent."""
    metadata: dict = {"days_sent": ", ".join(outcome.report_range.start.isoformat()
                                             for outcome in outcomes if outcome.status == "sent")}
    if not outcomes:  # a catch-up run that found every day sent
        metadata["delivery_status"] = "nothing_to_send"
        return metadata
    outcome = outcomes[-1]
    metadata.update({
        "path": dg.MetadataValue.path(str(outcome.csv_path)),
        "start_date": outcome.report_range.start.isoformat(),
        "end_date": outcome.report_range.end.isoformat(),
        "rows": dg.MetadataValue.int(outcome.rows),
        "recipients": dg.MetadataValue.int(len(outcome.recipients)),
        "delivery_status": outcome.status,
        "backend": outcome.backend,
        "delivery_id": outcome.delivery_id,
        "content_hash": outcome.content_hash,
    })
    if outcome.sendgrid_message_id:
        metadata["sendgrid_message_id"] = outcome.sendgrid_message_id
    if outcome.outbox_file:
        metadata["outbox_file"] = dg.MetadataValue.path(outcome.outbox_file)
    return metadata


def build_send_report_job(settings: Settings, now: datetime | None = None):
    """The "Send report" job. Its default run config, what the launchpad opens on, holds the
    range and recipients a user is asked for: yesterday in $CAMPAIGNS_TIMEZONE when the code
    location loaded, and $REPORT_RECIPIENTS."""
    return dg.define_asset_job(
        SEND_REPORT_JOB,
        selection=dg.AssetSelection.assets(conversions_report),
        description="Send report: email the conversions CSV of a date range (run config: "
                    "start_date, end_date, recipients, force) from the marts as they are.",
        config=report_run_config(DayRange.yesterday(settings.timezone, now), settings.report_recipients,
                                 keep_empty_recipients=True),
    )


def report_run_config(report_range: DayRange, recipients: str | None = None,
                      force: bool = False, *, catch_up: bool = False,
                      keep_empty_recipients: bool = False) -> dict:
    """Run config for any job that holds the report asset."""
    config: dict = {"start_date": report_range.start.isoformat(),
                    "end_date": report_range.end.isoformat(), "force": force}
    if recipients or keep_empty_recipients:
        config["recipients"] = recipients or ""
    if catch_up:
        config["catch_up"] = True
    return {"ops": {REPORT_ASSET: {"config": config}}}


def build_daily_schedule(
    job,  # a JobDefinition or define_asset_job(...) that holds the report asset
    timezone_name: str,
    recipients: str | None = None,
    *,
    name: str = DAILY_SCHEDULE,
    hour: int = 6,
    default_status: dg.DefaultScheduleStatus = dg.DefaultScheduleStatus.RUNNING,
) -> dg.ScheduleDefinition:
    """A schedule that runs `job` (which must hold the report asset) every day at `hour`:00 in
    `timezone_name` for the previous local day, to `recipients`, catching up the
    days of the week before it that were not sent (orchestration/reporting/catch_up.py).

    The day is fixed in the run config when the tick fires, so a retry or a re-execution of
    the run reports the same days, and the ledger keeps each from being mailed twice. Which
    days are missing is decided by the run, after it built the marts, not by the tick.
    """
    zone = timezone_name

    @dg.schedule(name=name, cron_schedule=f"0 {hour} * * *", job=job, execution_timezone=zone,
                 default_status=default_status,
                 description=f"Every day at {hour:02d}:00 {zone}: the previous local day's report "
                             "to $REPORT_RECIPIENTS, and any of the 6 days before it not sent yet.")
    def daily_report(context: dg.ScheduleEvaluationContext) -> dg.RunRequest:
        report_range = DayRange.yesterday(zone, context.scheduled_execution_time)
        return dg.RunRequest(
            run_key=None,
            run_config=report_run_config(report_range, recipients or None, catch_up=True),
            tags=report_range.tags(REPORT_TAGS),
        )

    return daily_report
