"""The local days a report covers: inclusive for users, as in `--start D1 --end D2`."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta, timezone
from zoneinfo import ZoneInfo

from orchestration.reporting.errors import ReportArgumentError


def parse_report_date(value: str | date, name: str) -> date:
    if isinstance(value, datetime):
        raise ReportArgumentError(f"{name} must be a date as YYYY-MM-DD, got the instant {value}")
    if isinstance(value, date):
        return value
    try:
        return date.fromisoformat(str(value).strip())
    except ValueError:
        raise ReportArgumentError(f"{name} must be a date as YYYY-MM-DD, got {value!r}") from None


def previous_local_day(instant: datetime, timezone_name: str) -> date:
    """The local day before the one `instant` falls on in `timezone_name` (naive means UTC)."""
    if instant.tzinfo is None:
        instant = instant.replace(tzinfo=timezone.utc)
    return instant.astimezone(ZoneInfo(timezone_name)).date() - timedelta(days=1)


@dataclass(frozen=True)
class ReportRange:
    start: date
    end: date  # inclusive

    def __post_init__(self):
        if self.start > self.end:
            raise ReportArgumentError(
                f"the report starts on {self.start}, after its end {self.end}")

    @classmethod
    def resolve(cls, start: str | date | None, end: str | date | None, timezone_name: str,
                now: datetime | None = None) -> ReportRange:
        """The range asked for; a missing bound takes the other, and none at all the previous
        local day (what the daily schedule sends)."""
        first = parse_report_date(start, "start_date") if start not in (None, "") else None
        last = parse_report_date(end, "end_date") if end not in (None, "") else None
        if first is None and last is None:
            first = last = previous_local_day(now or datetime.now(timezone.utc), timezone_name)
        return cls(first or last, last or first)

    @property
    def days(self) -> int:
        return (self.end - self.start).days + 1

    @property
    def subject(self) -> str:
        return f"WhatsApp campaign report {self.start.isoformat()} to {self.end.isoformat()}"

    @property
    def csv_name(self) -> str:
        return f"conversions_{self.start.isoformat()}_{self.end.isoformat()}.csv"

    def __str__(self) -> str:
        return f"{self.start.isoformat()} to {self.end.isoformat()}"
