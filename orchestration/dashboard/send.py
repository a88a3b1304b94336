"""The page's "Send report" form: the range's report through `send_report`, ledger included.

The call `campaigns report` makes (reporting/standalone.py `report_from_settings`: the
warehouse, the mailer and the folders of the settings), so the page sends the same CSV and
email, and a report already sent with the same content to the same people is not sent again.
The report reads the live warehouse (its ledger is there); the page's figures come from the
published copy. Every failure becomes one line on the page.
"""

from __future__ import annotations

from dataclasses import dataclass

from orchestration.reporting.errors import ReportArgumentError, ReportError
from orchestration.reporting.recipients import parse_recipients
from orchestration.days import DayRange
from orchestration.reporting.service import ALREADY_SENT
from orchestration.reporting.standalone import report_from_settings
from orchestration.resources.warehouse import WarehouseLockTimeout
from orchestration.settings import Settings

# A page request waits this long for a pipeline step holding the warehouse, then says so
# (the CLI waits an hour: it is a batch job, the page is a person waiting).
LOCK_WAIT_SECONDS = 20.0

SENT = "sent"
ALREADY = "already_sent"
REFUSED = "refused"  # bad input: the form's fields
FAILED = "failed"  # the report could not be made or delivered


@dataclass(frozen=True)
class SendResult:
    status: str  # SENT | ALREADY | REFUSED | FAILED
    message: str  # one line for the page
    outbox_file: str | None = None


def send_from_page(settings: Settings, report_range: DayRange, recipients: str,
                   force: bool) -> SendResult:
    if not recipients.strip():
        return SendResult(REFUSED, "Enter at least one recipient address, such as "
                                   "name@example.com (several separated by commas).")
    try:
        parse_recipients(recipients)
    except ReportArgumentError as error:
        return SendResult(REFUSED, f"Not sent: {error}.")
    try:
        outcome = report_from_settings(settings, report_range.start, report_range.end, recipients,
                                       force, lock_wait_seconds=LOCK_WAIT_SECONDS)
    except ReportArgumentError as error:
        return SendResult(REFUSED, f"Not sent: {error}.")
    except (ReportError, WarehouseLockTimeout) as error:
        return SendResult(FAILED, f"Not sent: {error}.")
    except Exception as error:  # a DuckDB or file error: its first line, never a traceback
        lines = [line.strip() for line in str(error).splitlines() if line.strip()]
        return SendResult(FAILED, f"Not sent: {type(error).__name__}: "
                                  f"{lines[0] if lines else 'no message'}.")
    status = ALREADY if outcome.status == ALREADY_SENT else SENT
    return SendResult(status, outcome.summary(), outcome.outbox_file)
