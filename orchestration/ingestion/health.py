"""The health of the feeds, read from the ledger of loaded files: what the asset checks report.

- rejected rate: the share of this load's lines that were rejected (warn above 1%, error above
  10% of a load of 100 lines or more; an error blocks everything downstream, the report included);
- freshness: hours since a new file of the source last arrived (warn past 36 hours);
- volume: the last received day's lines against the average of the seven days before it (warn
  below half of it).
"""

from __future__ import annotations

from dataclasses import dataclass

import duckdb

REJECTED_WARN = 0.01
REJECTED_ERROR = 0.10
REJECTED_ERROR_MIN_LINES = 100  # a rate over a handful of lines says little: below, it only warns
FRESHNESS_HOURS = 36
VOLUME_DAYS = 7
VOLUME_FLOOR = 0.5


@dataclass(frozen=True)
class Health:
    passed: bool
    severity: str  # WARN | ERROR (when not passed)
    description: str
    metadata: dict


def rejected_rate(lines: int, rejected: int) -> Health:
    rate = rejected / lines if lines else 0.0
    metadata = {"lines": lines, "rejected": rejected, "rejected_rate": round(rate, 6)}
    if rate > REJECTED_ERROR and lines >= REJECTED_ERROR_MIN_LINES:
        return Health(False, "ERROR", f"{rate:.1%} of the lines were rejected (over {REJECTED_ERROR:.0%}): "
                      "see raw.rejected_records before trusting the marts", metadata)
    if rate > REJECTED_WARN:
        return Health(False, "WARN", f"{rate:.1%} of the lines were rejected (over {REJECTED_WARN:.0%})", metadata)
    return Health(True, "WARN", f"{rate:.2%} of the lines were rejected", metadata)


def freshness(con: duckdb.DuckDBPyConnection, source: str) -> Health:
    hours = con.execute(
        "SELECT date_diff('second', max(loaded_at), now()::TIMESTAMP) / 3600.0 FROM raw.loaded_files WHERE source = ?",
        [source]).fetchone()[0]
    if hours is None:
        return Health(False, "WARN", f"no file of {source} has ever landed", {})
    metadata = {"hours_since_last_new_file": round(hours, 2)}
    if hours > FRESHNESS_HOURS:
        return Health(False, "WARN", f"no new {source} file for {hours:.0f} hours (over {FRESHNESS_HOURS})", metadata)
    return Health(True, "WARN", f"last new {source} file {hours:.1f} hours ago", metadata)


def volume(con: duckdb.DuckDBPyConnection, source: str) -> Health:
    rows = con.execute(
        """
        WITH days AS (SELECT received_dt, sum(lines) AS lines FROM raw.loaded_files
                      WHERE source = ? AND received_dt IS NOT NULL GROUP BY received_dt),
             last AS (SELECT max(received_dt) AS day FROM days)
        SELECT last.day,
               (SELECT lines FROM days WHERE received_dt = last.day),
               (SELECT avg(lines) FROM days WHERE received_dt >= last.day - ?::INTEGER AND received_dt < last.day),
               (SELECT count(*) FROM days WHERE received_dt >= last.day - ?::INTEGER AND received_dt < last.day)
        FROM last
        """, [source, VOLUME_DAYS, VOLUME_DAYS]).fetchone()
    day, lines, average, history = rows
    if day is None or not history:
        return Health(True, "WARN", "not enough history to compare a day's volume", {})
    metadata = {"day": str(day), "lines": int(lines), "recent_daily_average": round(float(average), 1)}
    if lines < VOLUME_FLOOR * float(average):
        return Health(False, "WARN", f"{source} received {lines} lines on {day}, under half the recent "
                      f"daily average of {average:.0f}", metadata)
    return Health(True, "WARN", f"{source} received {lines} lines on {day}", metadata)
