"""The delivery ledger: one row per attempt to deliver a report, in the warehouse.

A report is identified by its range, its recipients, the hash of its content and the backend
that delivers it. Before sending, a run claims the report with a `sending` row, under the
warehouse's writer lock so two runs cannot both claim it; the row becomes `sent` or `failed`
when the backend answers. A report with a `sent` row is not sent again (a Dagster retry, a
rerun of the schedule), nor one with a `sending` row: that is another run at work, or one
killed mid-send whose mail may have gone out. `force` sends anyway.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import date, datetime, timezone

import duckdb

TABLE = "raw.report_deliveries"

DDL = f"""
CREATE TABLE IF NOT EXISTS {TABLE} (
    delivery_id VARCHAR PRIMARY KEY,
    report_start DATE NOT NULL,
    report_end DATE NOT NULL,
    recipients VARCHAR NOT NULL,           -- normalised addresses, sorted, comma-separated
    content_hash VARCHAR NOT NULL,         -- sha256 of the CSV bytes, subject and body figures
    backend VARCHAR NOT NULL,              -- sendgrid | outbox
    status VARCHAR NOT NULL CHECK (status IN ('sending', 'sent', 'failed')),
    forced BOOLEAN NOT NULL,
    attempts INTEGER NOT NULL DEFAULT 0,   -- calls to SendGrid (1 for the outbox)
    csv_path VARCHAR NOT NULL,
    csv_rows BIGINT NOT NULL,
    sendgrid_message_id VARCHAR,           -- SendGrid's X-Message-Id
    outbox_file VARCHAR,                   -- the .eml written without a SendGrid key
    error VARCHAR,                         -- the one-line reason of a failure
    started_at TIMESTAMP NOT NULL,         -- UTC
    finished_at TIMESTAMP                  -- UTC
)
"""


@dataclass(frozen=True)
class DeliveryKey:
    start: date
    end: date
    recipients: tuple[str, ...]
    content_hash: str
    backend: str

    @property
    def recipients_text(self) -> str:
        return ",".join(sorted(self.recipients))


@dataclass(frozen=True)
class LedgerEntry:
    delivery_id: str
    status: str
    attempts: int
    sendgrid_message_id: str | None
    outbox_file: str | None
    started_at: datetime
    finished_at: datetime | None


def _utc_now() -> datetime:
    return datetime.now(timezone.utc).replace(tzinfo=None)


def ensure_ledger(con: duckdb.DuckDBPyConnection) -> None:
    con.execute(DDL)


def latest_blocking_entry(con: duckdb.DuckDBPyConnection, key: DeliveryKey) -> LedgerEntry | None:
    """The delivery that makes sending this report again a duplicate: a `sent` one first,
    else an unfinished `sending` one."""
    row = con.execute(f"""
        SELECT delivery_id, status, attempts, sendgrid_message_id, outbox_file, started_at,
               finished_at
        FROM {TABLE}
        WHERE report_start = ? AND report_end = ? AND recipients = ? AND content_hash = ?
          AND backend = ? AND status IN ('sent', 'sending')
        ORDER BY status = 'sent' DESC, started_at DESC
        LIMIT 1
    """, [key.start, key.end, key.recipients_text, key.content_hash, key.backend]).fetchone()
    return LedgerEntry(*row) if row else None


def claim(con: duckdb.DuckDBPyConnection, key: DeliveryKey, *, forced: bool, csv_path: str,
          csv_rows: int) -> str:
    delivery_id = str(uuid.uuid4())
    con.execute(f"""
        INSERT INTO {TABLE} (delivery_id, report_start, report_end, recipients, content_hash,
                             backend, status, forced, attempts, csv_path, csv_rows, started_at)
        VALUES (?, ?, ?, ?, ?, ?, 'sending', ?, 0, ?, ?, ?)
    """, [delivery_id, key.start, key.end, key.recipients_text, key.content_hash, key.backend,
          forced, csv_path, csv_rows, _utc_now()])
    return delivery_id


def mark_sent(con: duckdb.DuckDBPyConnection, delivery_id: str, *, attempts: int,
              sendgrid_message_id: str | None, outbox_file: str | None) -> None:
    con.execute(f"""
        UPDATE {TABLE} SET status = 'sent', attempts = ?, sendgrid_message_id = ?,
                           outbox_file = ?, error = NULL, finished_at = ?
        WHERE delivery_id = ?
    """, [attempts, sendgrid_message_id, outbox_file, _utc_now(), delivery_id])


def mark_failed(con: duckdb.DuckDBPyConnection, delivery_id: str, *, attempts: int,
                error: str) -> None:
    con.execute(f"""
        UPDATE {TABLE} SET status = 'failed', attempts = ?, error = ?, finished_at = ?
        WHERE delivery_id = ?
    """, [attempts, error[:1000], _utc_now(), delivery_id])
