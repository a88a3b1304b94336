"""The conversions report CSV (docs/spec.md section 4), selected and formatted by DuckDB.

The engine does the range filter, the join to the reminder for `hasClickedOnReminder`, the
ordering and every cell's text; Python only streams the rows through the csv module, which
quotes as RFC 4180 asks, into a temporary file that replaces the report in one rename.
"""

from __future__ import annotations

import csv
import hashlib
import io
import os
from dataclasses import dataclass
from pathlib import Path
from typing import TextIO

import duckdb

from orchestration.reporting.atomic import atomic_file
from orchestration.reporting.errors import ReportError
from orchestration.days import DayRange

HEADER = (
    "userId", "deliveredReminderAt", "readReminderAt", "orderCreatedAt", "hasClickedOnReminder",
    "checkoutItems", "orderItems", "orderTotal", "currency", "orderFormId",
)
FETCH_ROWS = 10_000


def _instant(column: str) -> str:
    """ISO 8601 UTC with milliseconds; the marts keep instants as naive UTC timestamps."""
    return f"strftime({column}, '%Y-%m-%dT%H:%M:%S.%gZ')"


def _text(expression: str) -> str:
    """A text cell, with a leading ' when a spreadsheet would read it as a formula."""
    return (f"CASE WHEN left({expression}, 1) IN ('=', '+', '-', '@', chr(9), chr(13)) "
            f"THEN '''' || {expression} ELSE {expression} END")


CONVERSIONS_SQL = f"""
WITH conversion AS (
    SELECT
        conversion.*,
        -- the report shows milliseconds: rows are ordered by what the reader sees
        date_trunc('millisecond', conversion.order_created_at) AS order_created_shown,
        coalesce(conversion.clicked_at < conversion.order_created_at, false)
            OR coalesce(reminder.first_clicked_at < conversion.order_created_at, false)
            AS has_clicked_on_reminder
    FROM marts.fct_conversions AS conversion
    LEFT JOIN marts.fct_reminders AS reminder ON reminder.message_id = conversion.message_id
    WHERE conversion.order_date BETWEEN $start AND $end
)
SELECT
    {_text("CAST(user_id AS VARCHAR)")} AS "userId",
    {_instant("delivered_at")} AS "deliveredReminderAt",
    {_instant("read_at")} AS "readReminderAt",
    {_instant("order_created_at")} AS "orderCreatedAt",
    CASE WHEN has_clicked_on_reminder THEN 'true' ELSE 'false' END AS "hasClickedOnReminder",
    {_text("CAST(checkout_items AS VARCHAR)")} AS "checkoutItems",
    {_text("CAST(order_items AS VARCHAR)")} AS "orderItems",
    CAST(CAST(order_total AS DECIMAL(18, 2)) AS VARCHAR) AS "orderTotal",
    {_text("CAST(currency AS VARCHAR)")} AS "currency",
    {_text("CAST(order_form_id AS VARCHAR)")} AS "orderFormId"
FROM conversion
-- conversion_id last: rows alike in both keys keep one order, so the same data gives the same
-- bytes and the ledger never re-sends an unchanged report
ORDER BY order_created_shown NULLS LAST, order_form_id NULLS LAST, conversion_id
"""


@dataclass(frozen=True)
class ConversionsCsv:
    path: Path
    rows: int
    sha256: str
    size: int

    def read_bytes(self) -> bytes:
        return self.path.read_bytes()


def export_conversions_csv(con: duckdb.DuckDBPyConnection, report_range: DayRange,
                           folder: str | os.PathLike) -> ConversionsCsv:
    """Write `<folder>/conversions_<D1>_<D2>.csv` atomically and describe it."""
    target = Path(folder) / report_range.csv_name
    target.parent.mkdir(parents=True, exist_ok=True)
    cursor = _select_conversions(con, report_range)
    # utf-8-sig writes the byte-order mark Excel needs to read accents right.
    with atomic_file(target, "w", encoding="utf-8-sig", newline="") as out:
        rows = _write_rows(cursor, out)
    digest = hashlib.sha256(target.read_bytes()).hexdigest()
    return ConversionsCsv(path=target, rows=rows, sha256=digest, size=target.stat().st_size)


def render_conversions_csv(con: duckdb.DuckDBPyConnection, report_range: DayRange) -> bytes:
    """The bytes export_conversions_csv writes, in memory: the overview page's download."""
    out = io.StringIO(newline="")
    _write_rows(_select_conversions(con, report_range), out)
    return out.getvalue().encode("utf-8-sig")


def _select_conversions(con: duckdb.DuckDBPyConnection,
                        report_range: DayRange) -> duckdb.DuckDBPyConnection:
    try:
        return con.execute(CONVERSIONS_SQL, {"start": report_range.start, "end": report_range.end})
    except duckdb.CatalogException as error:
        raise ReportError(f"the warehouse lacks a mart the report reads ({_first_line(error)}): "
                          "build the models first with `campaigns run`") from None


def _write_rows(cursor: duckdb.DuckDBPyConnection, out: TextIO) -> int:
    writer = csv.writer(out, lineterminator="\r\n", quoting=csv.QUOTE_MINIMAL)
    writer.writerow(HEADER)
    rows = 0
    while batch := cursor.fetchmany(FETCH_ROWS):
        writer.writerows(batch)
        rows += len(batch)
    return rows


def _first_line(error: Exception) -> str:
    lines = [line.strip() for line in str(error).splitlines() if line.strip()]
    return lines[0] if lines else type(error).__name__
