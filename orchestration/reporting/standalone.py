"""The report outside Dagster (`campaigns report`, the overview page's "Send report"): send_report
with the resources the settings describe."""

from __future__ import annotations

import logging
import sys
from datetime import date

from orchestration.reporting.service import ReportOutcome, send_report
from orchestration.resources.mailer import MailerResource
from orchestration.resources.warehouse import WarehouseResource
from orchestration.settings import Settings


def report_from_settings(settings: Settings, start: date | str, end: date | str,
                         to: str | None = None, force: bool = False,
                         log: logging.Logger | None = None,
                         lock_wait_seconds: float | None = None) -> ReportOutcome:
    """send_report with the resources the settings describe; recipients default to
    $REPORT_RECIPIENTS. `lock_wait_seconds` bounds the wait for a pipeline step holding the
    warehouse (default: the resource's, an hour)."""
    wait = {} if lock_wait_seconds is None else {"lock_timeout_seconds": lock_wait_seconds}
    return send_report(
        WarehouseResource(database=settings.warehouse, **wait),
        MailerResource.from_settings(settings),
        start, end,
        to if to is not None else settings.report_recipients,
        force,
        reports_dir=settings.reports,
        timezone=settings.timezone,
        log=log,
    )


def stderr_logger() -> logging.Logger:
    """Retries and progress on stderr, so stdout holds only the outcome."""
    logger = logging.getLogger("campaigns.report")
    if not logger.handlers:
        handler = logging.StreamHandler(sys.stderr)
        handler.setFormatter(logging.Formatter("campaigns: %(message)s"))
        logger.addHandler(handler)
        logger.setLevel(logging.WARNING)
        logger.propagate = False
    return logger
