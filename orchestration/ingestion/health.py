"""The health of the feeds, read from the ledger of loaded files: what the asset checks report.

- rejected rate: the share of this load's lines that were rejected. It warns over 1% and errors
  over 10% (an error blocks everything downstream, the report included), but only when the
  rejects are more than chance explains at that rate: a binomial tail under 1% (a load of 100
  lines or more errors over 10% whatever the tail). One bad line in eleven passes; half of a
  twenty-line file errors.
- freshness: hours since a new file of the source last arrived (warn past 36 hours);
- volume: the newest *complete* received day (one whose next day's folder has begun; the newest
  folder is still filling, and the days after a gap hold late uploads) against the average of
  the seven days before it: warns below half of it, when a Poisson count at that average falls
  so low less than once in a thousand days (a source of three lines a day may get one).

The judging (`rejected_rate`, `judge_freshness`, `judge_volume`) knows no engine: each engine
only reads the ledger's figures (DuckDB's reads are below; the spark engine's are in
orchestration/spark/health.py).
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, timedelta
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import duckdb

    from orchestration.ingestion.writer import LoadResult

REJECTED_WARN = 0.01
REJECTED_ERROR = 0.10
REJECTED_ERROR_MIN_LINES = 100  # from this size on, over 10% is an error whatever chance says
REJECTED_CHANCE = 0.01  # the binomial tail under which a rate is more than chance
FRESHNESS_HOURS = 36
VOLUME_DAYS = 7
VOLUME_FLOOR = 0.5
VOLUME_CHANCE = 0.001  # the Poisson tail under which a low day is more than chance


@dataclass(frozen=True)
class CheckOutcome:
    passed: bool
    severity: str  # WARN | ERROR (when not passed)
    description: str
    metadata: dict


Health = CheckOutcome  # its former name


def binomial_tail_at_least(k: int, n: int, p: float) -> float:
    """P(X >= k) for X ~ Binomial(n, p): how often a feed rejecting a share p of its lines
    gives k or more rejects in n lines."""
    if k <= n * p:
        return 1.0  # at or below the expected count: not evidence of anything (the tail is about half or more)
    log_p, log_q = math.log(p), math.log1p(-p)
    total = 0.0
    first = None
    for i in range(k, n + 1):  # past the mean the terms only shrink: stop once they stop counting
        term = math.lgamma(n + 1) - math.lgamma(i + 1) - math.lgamma(n - i + 1) + i * log_p + (n - i) * log_q
        first = term if first is None else first
        if term < first - 40:
            break
        total += math.exp(term - first)
    return min(1.0, math.exp(first) * total)


def poisson_tail_at_most(k: int, mean: float) -> float:
    """P(X <= k) for X ~ Poisson(mean): how often a day of that average volume holds k lines or fewer."""
    if mean <= 0:
        return 1.0
    if mean >= 1000 and k < VOLUME_FLOOR * mean:
        return 0.0  # fifteen standard deviations or more below: no need to sum
    terms = [-mean + i * math.log(mean) - math.lgamma(i + 1) for i in range(0, k + 1)]
    top = max(terms)
    return min(1.0, math.exp(top) * sum(math.exp(t - top) for t in terms))


def rejected_rate(lines: int, rejected: int) -> CheckOutcome:
    rate = rejected / lines if lines else 0.0
    metadata = {"lines": lines, "rejected": rejected, "rejected_rate": round(rate, 6)}
    if rate > REJECTED_ERROR and (lines >= REJECTED_ERROR_MIN_LINES
                                  or binomial_tail_at_least(rejected, lines, REJECTED_ERROR) < REJECTED_CHANCE):
        return CheckOutcome(False, "ERROR", f"{rate:.1%} of the lines were rejected (over {REJECTED_ERROR:.0%}): "
                      "see raw.rejected_records before trusting the marts", metadata)
    if rate > REJECTED_WARN and binomial_tail_at_least(rejected, lines, REJECTED_WARN) < REJECTED_CHANCE:
        return CheckOutcome(False, "WARN", f"{rate:.1%} of the lines were rejected (over {REJECTED_WARN:.0%})", metadata)
    if rate > REJECTED_WARN:
        return CheckOutcome(True, "WARN", f"{rate:.2%} of the lines were rejected ({rejected} of {lines}: "
                      "within chance for a load this small)", metadata)
    return CheckOutcome(True, "WARN", f"{rate:.2%} of the lines were rejected", metadata)


def judge_freshness(source: str, hours: float | None) -> CheckOutcome:
    """`hours`: since the newest file of the source was loaded (None: never)."""
    if hours is None:
        return CheckOutcome(False, "WARN", f"no file of {source} has ever landed", {})
    metadata = {"hours_since_last_new_file": round(hours, 2)}
    if hours > FRESHNESS_HOURS:
        return CheckOutcome(False, "WARN", f"no new {source} file for {hours:.0f} hours (over {FRESHNESS_HOURS})",
                            metadata)
    return CheckOutcome(True, "WARN", f"last new {source} file {hours:.1f} hours ago", metadata)


def judge_volume(source: str, daily_lines: Mapping[date, int]) -> CheckOutcome:
    """`daily_lines`: the lines of the source's files by received day."""
    # The judged day is the newest one whose next day's folder has begun: the newest folder is
    # still filling (a run at 06:00 sees a quarter of today), and folders after a gap in the
    # days hold late uploads of a feed that has moved on, not a day's own traffic.
    day = max((d for d in daily_lines if d + timedelta(days=1) in daily_lines), default=None)
    history = [] if day is None else [n for d, n in daily_lines.items()
                                      if day - timedelta(days=VOLUME_DAYS) <= d < day]
    if not history:
        return CheckOutcome(True, "WARN", "not enough complete days to compare a day's volume", {})
    lines, average = daily_lines[day], sum(history) / len(history)
    metadata = {"day": str(day), "lines": int(lines), "recent_daily_average": round(average, 1)}
    if lines < VOLUME_FLOOR * average and poisson_tail_at_most(int(lines), average) < VOLUME_CHANCE:
        return CheckOutcome(False, "WARN", f"{source} received {lines} lines on {day}, under half the recent "
                            f"daily average of {average:.0f}", metadata)
    return CheckOutcome(True, "WARN", f"{source} received {lines} lines on {day} (recent daily average "
                        f"{average:.0f})", metadata)


# The DuckDB engine's reads of the ledger (the spark engine's: orchestration/spark/health.py).

def freshness(con: duckdb.DuckDBPyConnection, source: str) -> CheckOutcome:
    hours = con.execute(
        "SELECT date_diff('second', max(loaded_at), now()::TIMESTAMP) / 3600.0 FROM raw.loaded_files WHERE source = ?",
        [source]).fetchone()[0]
    return judge_freshness(source, hours)


def volume(con: duckdb.DuckDBPyConnection, source: str) -> CheckOutcome:
    rows = con.execute(
        """SELECT received_dt, sum(lines) FROM raw.loaded_files
           WHERE source = ? AND received_dt IS NOT NULL GROUP BY received_dt""", [source]).fetchall()
    return judge_volume(source, {day: int(lines) for day, lines in rows})


def duckdb_health_checks(con: duckdb.DuckDBPyConnection, source: str, result: LoadResult) -> dict[str, CheckOutcome]:
    """The three checks of a load on the DuckDB engine, by check name."""
    return {"rejected_rate": rejected_rate(result.lines, result.records_rejected),
            "landing_freshness": freshness(con, source),
            "daily_volume": volume(con, source)}
