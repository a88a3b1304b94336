"""`send_report`: the one path from the marts to a delivered report, for the CLI, the
on-demand job and the daily schedule alike.

1. Check the range and the recipients before any work.
2. Under the warehouse lock: write the CSV, read the range's metrics, hash the content, and
   claim the delivery in the ledger unless the same report went out already.
3. Outside the lock (a send may wait minutes on retries): draw the chart, compose the email,
   deliver it.
4. Under the lock again: record the delivery as sent, or as failed with its reason.
"""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date
from pathlib import Path

from orchestration.reporting import ledger
from orchestration.reporting.chart import render_daily_chart
from orchestration.reporting.csv_export import export_conversions_csv
from orchestration.reporting.delivery import deliver, sender_address
from orchestration.reporting.email_body import compose_report_email
from orchestration.reporting.errors import DeliveryError, DeliveryInProgress, ReportError
from orchestration.reporting.metrics import read_range_metrics
from orchestration.reporting.recipients import parse_recipients
from orchestration.days import DayRange
from orchestration.resources.mailer import MailerResource
from orchestration.resources.warehouse import WarehouseResource

_log = logging.getLogger(__name__)

SENT = "sent"
ALREADY_SENT = "already_sent"


@dataclass(frozen=True)
class ReportOutcome:
    report_range: DayRange
    csv_path: Path
    rows: int
    recipients: tuple[str, ...]
    content_hash: str
    status: str  # sent | already_sent
    backend: str  # sendgrid | outbox
    delivery_id: str  # the ledger row that delivered it (an earlier one when already_sent)
    attempts: int = 0
    sendgrid_message_id: str | None = None
    outbox_file: str | None = None

    def summary(self) -> str:
        """One line for the CLI."""
        to = ", ".join(self.recipients)
        if self.backend == "outbox":
            how = f"written to the outbox as {self.outbox_file}"
        else:
            how = "sent through SendGrid" + (f" (message id {self.sendgrid_message_id})"
                                             if self.sendgrid_message_id else "")
        what = f"report {self.report_range} for {to}"
        csv = f"{self.csv_path} ({self.rows} conversions)"
        if self.status == ALREADY_SENT:
            return (f"{what} was already {how} with the same content, so it was not sent again "
                    f"(force sends it anyway): {csv}")
        return f"{what} {how}: {csv}"


def content_hash(csv_sha256: str, subject: str, metrics_fingerprint: str,
                 timezone: str | None = None) -> str:
    """What the recipients get: the CSV, the subject, the body's figures and its zone line."""
    digest = hashlib.sha256()
    for part in ("csv", csv_sha256, "subject", subject, "metrics", metrics_fingerprint,
                 "timezone", timezone or ""):
        digest.update(part.encode("utf-8") + b"\0")
    return digest.hexdigest()


def send_report(warehouse: WarehouseResource, mailer: MailerResource, start: date | str | None,
                end: date | str | None, recipients: str | Iterable[str] | None,
                force: bool = False, *, reports_dir: str | Path, timezone: str | None = None,
                log: logging.Logger | None = None) -> ReportOutcome:
    """Write `<reports_dir>/conversions_<start>_<end>.csv` and email it once to `recipients`.

    `start`/`end` are local days (YYYY-MM-DD or dates; one missing takes the other, both
    missing mean yesterday in `timezone`). Raises ReportError (one line) when the input is
    bad, the marts are missing or the mail could not be delivered; a failed delivery is in the
    ledger and the next call sends again.
    """
    log = log or _log
    report_range = DayRange.resolve(start, end, timezone or "UTC")
    addresses = parse_recipients(recipients)
    sender_address(mailer)
    backend = mailer.backend()
    require_warehouse(warehouse)

    with warehouse.connect() as con:
        ledger.ensure_ledger(con)
        csv = export_conversions_csv(con, report_range, reports_dir)
        metrics = read_range_metrics(con, report_range)
        digest = content_hash(csv.sha256, report_range.subject, metrics.fingerprint(), timezone)
        key = ledger.DeliveryKey(report_range.start, report_range.end, addresses, digest, backend)
        previous = None if force else ledger.latest_blocking_entry(con, key)
        if previous is None:
            delivery_id = ledger.claim(con, key, forced=force, csv_path=str(csv.path),
                                       csv_rows=csv.rows)
    log.info(f"wrote {csv.path} ({csv.rows} conversions, {report_range})")

    if previous is not None and previous.status == "sent":
        log.info(f"report {report_range} went to {key.recipients_text} through {backend} at "
                 f"{previous.finished_at:%Y-%m-%d %H:%M:%S} UTC (delivery {previous.delivery_id}) "
                 "with the same content; not sending it again")
        return ReportOutcome(report_range, csv.path, csv.rows, addresses, digest, ALREADY_SENT,
                             backend, previous.delivery_id, previous.attempts,
                             previous.sendgrid_message_id, previous.outbox_file)
    if previous is not None:
        raise DeliveryInProgress(
            f"a delivery of report {report_range} to {key.recipients_text} started at "
            f"{previous.started_at:%Y-%m-%d %H:%M:%S} UTC has not finished: another run is "
            "sending it, or one was stopped mid-send and the mail may have gone out; check, "
            "then send with force")

    try:
        email = compose_report_email(report_range, csv, metrics, render_daily_chart(metrics),
                                     max_message_bytes=mailer.max_message_bytes,
                                     timezone=timezone)
        delivery = deliver(mailer, email, addresses, backend, log=log)
    except BaseException as error:
        _record_failure(warehouse, delivery_id, error, log)
        raise
    with warehouse.connect() as con:
        ledger.mark_sent(con, delivery_id, attempts=delivery.attempts,
                         sendgrid_message_id=delivery.sendgrid_message_id,
                         outbox_file=delivery.outbox_file)
    outcome = ReportOutcome(report_range, csv.path, csv.rows, addresses, digest, SENT, backend,
                            delivery_id, delivery.attempts, delivery.sendgrid_message_id,
                            delivery.outbox_file)
    log.info(outcome.summary())
    return outcome


def require_warehouse(warehouse: WarehouseResource) -> None:
    """Refuse a missing warehouse: connecting would create an empty file (and its lock) first."""
    if not warehouse.exists():
        raise ReportError(f"no warehouse at {warehouse.database}: build it first with "
                          "`campaigns run`")


def _record_failure(warehouse: WarehouseResource, delivery_id: str, error: BaseException,
                    log: logging.Logger) -> None:
    """Mark the claimed delivery failed; the caller re-raises the error itself."""
    if isinstance(error, ReportError):
        reason = str(error)
    else:  # not ours: its text may hold anything, so the ledger keeps the type alone
        reason = f"unexpected {type(error).__name__}"
    attempts = error.attempts if isinstance(error, DeliveryError) else 0
    try:
        with warehouse.connect() as con:
            ledger.mark_failed(con, delivery_id, attempts=attempts, error=reason)
    except Exception as ledger_error:  # the delivery's own error matters more
        log.warning(f"could not record the failed delivery {delivery_id} in the ledger: "
                    f"{type(ledger_error).__name__}")
