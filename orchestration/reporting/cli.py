"""`campaigns report --start D1 --end D2 [--to ...] [--force]`: send_report from the shell."""

from __future__ import annotations

import logging
import sys
from datetime import date

import duckdb

from orchestration.reporting.errors import ReportArgumentError, ReportError
from orchestration.reporting.service import ReportOutcome, send_report
from orchestration.resources.mailer import MailerResource
from orchestration.resources.warehouse import WarehouseLockTimeout, WarehouseResource
from orchestration.settings import Settings


def report_from_settings(settings: Settings, start: date | str, end: date | str,
                         to: str | None = None, force: bool = False,
                         log: logging.Logger | None = None) -> ReportOutcome:
    """send_report with the resources the settings describe; recipients default to
    $REPORT_RECIPIENTS."""
    return send_report(
        WarehouseResource(database=settings.warehouse),
        MailerResource.from_settings(settings),
        start, end,
        to if to is not None else settings.report_recipients,
        force,
        reports_dir=settings.reports,
        timezone=settings.timezone,
        log=log,
    )


def run_report_command(settings: Settings, start: date | str, end: date | str, to: str | None,
                       force: bool) -> int:
    """The CLI command: prints the outcome, exit code 0; a ReportError becomes the CLI's one-line
    error (exit 2 for a bad argument, 1 for a failed delivery)."""
    from orchestration.cli import CommandFailed, UsageError

    try:
        outcome = report_from_settings(settings, start, end, to, force, log=_stderr_logger())
    except ReportArgumentError as error:
        raise UsageError(str(error)) from None
    except ReportError as error:
        raise CommandFailed(str(error)) from None
    except (WarehouseLockTimeout, duckdb.Error) as error:
        raise CommandFailed(" ".join(str(error).split())) from None
    print(outcome.summary())
    return 0


def _stderr_logger() -> logging.Logger:
    """Retries and progress on stderr, so stdout holds only the outcome."""
    logger = logging.getLogger("campaigns.report")
    if not logger.handlers:
        handler = logging.StreamHandler(sys.stderr)
        handler.setFormatter(logging.Formatter("campaigns: %(message)s"))
        logger.addHandler(handler)
        logger.setLevel(logging.WARNING)
        logger.propagate = False
    return logger
