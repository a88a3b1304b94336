"""The daily schedule's catch-up (docs/spec.md section 4): a day whose scheduled report was not sent (a
failed or blocked run, the machine off) is sent by the next scheduled run that succeeds, oldest
first, at most 7 days back; none is sent twice.

The ledger says what went out: a day is sent when `raw.report_deliveries` holds a `sent`
delivery of that one day to the same recipients, whatever its content or backend (a later
change to the data does not send a day again). Of the window's earlier days, only those the
marts hold data for are sent: a day before the first landed event or after the last one would
be an empty report each morning (a new install, a quiet feed). The last day, yesterday, always
goes, empty or not, as the schedule has always sent it. See docs/decisions.md.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from datetime import date, timedelta

import duckdb

from orchestration.reporting import ledger
from orchestration.reporting.errors import ReportError
from orchestration.reporting.recipients import parse_recipients
from orchestration.reporting.service import ReportOutcome, require_warehouse, send_report
from orchestration.resources.mailer import MailerResource
from orchestration.resources.warehouse import WarehouseResource

CATCH_UP_DAYS = 7  # the last day and the 6 before it: tick day - 7 to tick day - 1

_log = logging.getLogger(__name__)


def catch_up_window(last_day: date, days: int = CATCH_UP_DAYS) -> list[date]:
    return [last_day - timedelta(days=back) for back in range(days - 1, -1, -1)]


def days_to_send(con: duckdb.DuckDBPyConnection, last_day: date, recipients: tuple[str, ...],
                 log: logging.Logger | None = None) -> list[date]:
    """The window's days not yet sent to `recipients`, oldest first (see the module's rule)."""
    log = log or _log
    window = catch_up_window(last_day)
    sent = {row[0] for row in con.execute(f"""
        SELECT DISTINCT report_start FROM {ledger.TABLE}
        WHERE report_start = report_end AND report_start BETWEEN ? AND ?
          AND recipients = ? AND status = 'sent'
    """, [window[0], last_day, ",".join(sorted(recipients))]).fetchall()}
    try:
        first, last = con.execute(
            "SELECT min(metric_date), max(metric_date) FROM marts.mart_daily_campaign_metrics"
        ).fetchone()
    except duckdb.CatalogException:
        first = last = None  # no marts yet: only the last day, whose send says what is missing
    days = []
    for day in window:
        if day in sent:
            continue
        if day != last_day and (first is None or not first <= day <= last):
            log.info(f"catch-up: {day} not sent, the marts hold no data for it")
            continue
        days.append(day)
    return days


def send_scheduled_reports(warehouse: WarehouseResource, mailer: MailerResource, last_day: date,
                           recipients: str | Iterable[str] | None, *, reports_dir: str,
                           timezone: str | None = None,
                           log: logging.Logger | None = None) -> list[ReportOutcome]:
    """Send each day of the catch-up window not yet sent to `recipients`, oldest first, each its
    own report (`conversions_<D>_<D>.csv`) and email. A failed day stops the run there (it
    raises): the days after it wait, oldest first, for the next scheduled run."""
    log = log or _log
    addresses = parse_recipients(recipients)
    require_warehouse(warehouse)
    with warehouse.connect() as con:
        ledger.ensure_ledger(con)
        days = days_to_send(con, last_day, addresses, log)
    if days:
        log.info("catch-up: sending " + ", ".join(day.isoformat() for day in days))
    else:
        log.info(f"catch-up: every day from {catch_up_window(last_day)[0]} to {last_day} "
                 f"was sent to {', '.join(addresses)} already")
    outcomes = []
    for day in days:
        try:
            outcomes.append(send_report(warehouse, mailer, day, day, addresses,
                                        reports_dir=reports_dir, timezone=timezone, log=log))
        except ReportError as error:
            left = [later.isoformat() for later in days if later > day]
            waiting = f"; {', '.join(left)} wait for the next run" if left else ""
            raise type(error)(f"{day}: {error}{waiting}") from None
    return outcomes
