"""The conversions report as a Dagster asset, its on-demand job and the daily schedule.

The asset is the CSV of conversions for a range of local days, emailed once to its recipients;
its run config is the admin's "Send report" form. The schedule launches it at 06:00 local time
for the previous local day.
"""

# No `from __future__ import annotations`: Dagster reads the asset's parameter types at runtime.

from datetime import datetime, timezone

import dagster as dg
from pydantic import Field

from orchestration.reporting.report_range import ReportRange, previous_local_day
from orchestration.resources.mailer import MailerResource
from orchestration.resources.warehouse import WarehouseResource
from orchestration.settings import load_settings

FCT_CONVERSIONS = dg.AssetKey(["marts", "fct_conversions"])
FCT_REMINDERS = dg.AssetKey(["marts", "fct_reminders"])
DAILY_METRICS = dg.AssetKey(["marts", "mart_daily_campaign_metrics"])

REPORT_ASSET = "conversions_report"
SEND_REPORT_JOB = "send_report_job"
DAILY_SCHEDULE = "daily_conversions_report"
START_TAG = "campaigns/report_start"
END_TAG = "campaigns/report_end"


class ConversionsReportConfig(dg.Config):
    """The "Send report" form. Left empty, it sends yesterday's report to $REPORT_RECIPIENTS."""

    start_date: str | None = Field(
        default=None, description="First local day, YYYY-MM-DD (default: end_date, else yesterday "
                                  "in $CAMPAIGNS_TIMEZONE).")
    end_date: str | None = Field(
        default=None, description="Last local day, inclusive, YYYY-MM-DD (default: start_date, "
                                  "else yesterday in $CAMPAIGNS_TIMEZONE).")
    recipients: str | None = Field(
        default=None, description="Comma-separated addresses (default: $REPORT_RECIPIENTS).")
    force: bool = Field(default=False,
                        description="Send even if this exact report was sent already.")


@dg.asset(
    name=REPORT_ASSET,
    group_name="reporting",
    deps=[FCT_CONVERSIONS, FCT_REMINDERS, DAILY_METRICS],
    kinds={"csv", "email"},
)
def conversions_report(
    context: dg.AssetExecutionContext,
    config: ConversionsReportConfig,
    warehouse: WarehouseResource,
    mailer: MailerResource,
) -> dg.MaterializeResult:
    """The conversions of a range of local days as `$CAMPAIGNS_REPORTS/conversions_<D1>_<D2>.csv`
    (one row per attributed purchase, SPEC section 4), emailed with the range's campaign totals
    through SendGrid or to the outbox, once per content and recipients (the delivery ledger is
    `raw.report_deliveries`)."""
    # The report path (DuckDB, the mailer) is imported when a report runs, not when the code
    # location loads (see orchestration/definitions.py).
    from orchestration.reporting.service import send_report

    settings = load_settings()
    outcome = send_report(
        warehouse, mailer, config.start_date, config.end_date,
        config.recipients if config.recipients not in (None, "") else settings.report_recipients,
        config.force,
        reports_dir=settings.reports, timezone=settings.timezone, log=context.log,
    )
    metadata = {
        "path": dg.MetadataValue.path(str(outcome.csv_path)),
        "start_date": outcome.report_range.start.isoformat(),
        "end_date": outcome.report_range.end.isoformat(),
        "rows": dg.MetadataValue.int(outcome.rows),
        "recipients": dg.MetadataValue.int(len(outcome.recipients)),
        "delivery_status": outcome.status,
        "backend": outcome.backend,
        "delivery_id": outcome.delivery_id,
        "content_hash": outcome.content_hash,
    }
    if outcome.sendgrid_message_id:
        metadata["sendgrid_message_id"] = outcome.sendgrid_message_id
    if outcome.outbox_file:
        metadata["outbox_file"] = dg.MetadataValue.path(outcome.outbox_file)
    return dg.MaterializeResult(metadata=metadata)


send_report_job = dg.define_asset_job(
    SEND_REPORT_JOB,
    selection=dg.AssetSelection.assets(conversions_report),
    description="Send report: email the conversions CSV of a date range (run config: start_date, "
                "end_date, recipients, force) from the marts as they are.",
)


def report_run_config(report_range: ReportRange, recipients: str | None = None,
                      force: bool = False) -> dict:
    """Run config for any job that holds the report asset."""
    config: dict = {"start_date": report_range.start.isoformat(),
                    "end_date": report_range.end.isoformat(), "force": force}
    if recipients:
        config["recipients"] = recipients
    return {"ops": {REPORT_ASSET: {"config": config}}}


def build_daily_schedule(
    job,  # a JobDefinition or define_asset_job(...) that holds the report asset
    timezone_name: str | None = None,
    *,
    name: str = DAILY_SCHEDULE,
    hour: int = 6,
    default_status: dg.DefaultScheduleStatus = dg.DefaultScheduleStatus.RUNNING,
) -> dg.ScheduleDefinition:
    """A schedule that runs `job` (which must hold the report asset) every day at `hour`:00 in
    `timezone_name` (default $CAMPAIGNS_TIMEZONE) for the previous local day.

    The day is fixed in the run config when the tick fires, so a retry or a re-execution of
    the run reports the same day, and the ledger keeps it from being mailed twice.
    """
    zone = timezone_name or load_settings().timezone

    @dg.schedule(name=name, cron_schedule=f"0 {hour} * * *", job=job, execution_timezone=zone,
                 default_status=default_status,
                 description=f"Every day at {hour:02d}:00 {zone}: the previous local day's report "
                             "to $REPORT_RECIPIENTS.")
    def daily_report(context: dg.ScheduleEvaluationContext) -> dg.RunRequest:
        tick = context.scheduled_execution_time or datetime.now(timezone.utc)
        day = previous_local_day(tick, zone)
        report_range = ReportRange(day, day)
        return dg.RunRequest(
            run_key=None,
            run_config=report_run_config(report_range, load_settings().report_recipients or None),
            tags={START_TAG: day.isoformat(), END_TAG: day.isoformat()},
        )

    return daily_report
