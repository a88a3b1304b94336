"""A range of local days: the one shape of "which days" for the whole pipeline.

`campaigns run --start D1 --end D2` (the daily marts' rows to recount), `campaigns report`, the
"Send report" launchpad, the daily schedule and the overview page all speak of local days in
$CAMPAIGNS_TIMEZONE (docs/spec.md section 2), inclusive for people, half-open inside
(`>= start and < end + 1 day`, the dbt vars `min_date` / `max_date`). A bound may be open (a run
window without `--start` reaches back to the first day); a report's range is always closed.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta, timezone
from zoneinfo import ZoneInfo

# The run tags that carry a range, so every step of the run (and the UI) sees it: the days a
# pipeline run recounts, and the days a scheduled report sends (kept apart: the daily job does
# both, and its report's day must not narrow its build).
WINDOW_TAGS = ("campaigns/start_date", "campaigns/end_date")
REPORT_TAGS = ("campaigns/report_start", "campaigns/report_end")


class DayRangeError(ValueError):
    """A bad day or range; the message is one line naming the field, meant for the user."""


def parse_day(value: str | date | None, name: str) -> date | None:
    """A local day from `YYYY-MM-DD` (or a date); None when empty."""
    if value is None or (isinstance(value, str) and not value.strip()):
        return None
    if isinstance(value, datetime):
        raise DayRangeError(f"{name} must be a date as YYYY-MM-DD, got the instant {value}")
    if isinstance(value, date):
        return value
    try:
        return date.fromisoformat(str(value).strip())
    except ValueError:
        raise DayRangeError(f"{name} must be a date as YYYY-MM-DD, got {value!r}") from None


def previous_local_day(instant: datetime, timezone_name: str) -> date:
    """The local day before the one `instant` falls on in `timezone_name` (naive means UTC)."""
    if instant.tzinfo is None:
        instant = instant.replace(tzinfo=timezone.utc)
    return instant.astimezone(ZoneInfo(timezone_name)).date() - timedelta(days=1)


@dataclass(frozen=True)
class DayRange:
    start: date | None = None
    end: date | None = None  # inclusive
    # How the user named the bounds (`--start`, `start_date`), for the errors; not part of the range.
    start_name: str = field(default="start_date", compare=False, repr=False)
    end_name: str = field(default="end_date", compare=False, repr=False)

    def __post_init__(self):
        if self.start and self.end and self.start > self.end:
            raise DayRangeError(f"{self.start_name} {self.start} is after {self.end_name} {self.end}")

    @classmethod
    def parse(cls, start: str | date | None, end: str | date | None, *, start_name: str = "start_date",
              end_name: str = "end_date") -> DayRange:
        """The range as typed; an empty bound stays open."""
        return cls(parse_day(start, start_name), parse_day(end, end_name), start_name, end_name)

    @classmethod
    def resolve(cls, start: str | date | None, end: str | date | None, timezone_name: str,
                now: datetime | None = None) -> DayRange:
        """A closed range: a missing bound takes the other, none at all the previous local day
        (what the daily schedule sends)."""
        asked = cls.parse(start, end)
        if asked.start is None and asked.end is None:
            return cls.yesterday(timezone_name, now)
        return cls(asked.start or asked.end, asked.end or asked.start)

    @classmethod
    def yesterday(cls, timezone_name: str, now: datetime | None = None) -> DayRange:
        day = previous_local_day(now or datetime.now(timezone.utc), timezone_name)
        return cls(day, day)

    @classmethod
    def from_tags(cls, tags: Mapping[str, str], names: tuple[str, str] = WINDOW_TAGS) -> DayRange:
        return cls.parse(tags.get(names[0]), tags.get(names[1]), start_name=names[0], end_name=names[1])

    def tags(self, names: tuple[str, str] = WINDOW_TAGS) -> dict[str, str]:
        bounds = zip(names, (self.start, self.end))
        return {name: day.isoformat() for name, day in bounds if day is not None}

    @property
    def is_everything(self) -> bool:
        return self.start is None and self.end is None

    @property
    def end_exclusive(self) -> date | None:
        return self.end + timedelta(days=1) if self.end else None

    def dbt_vars(self) -> dict[str, str]:
        """The half-open bounds dbt reads: `min_date` (>=) and `max_date` (<)."""
        found = {}
        if self.start:
            found["min_date"] = self.start.isoformat()
        if self.end_exclusive:
            found["max_date"] = self.end_exclusive.isoformat()
        return found

    @property
    def days(self) -> int:
        if self.start is None or self.end is None:
            raise DayRangeError("an open range of days has no length")
        return (self.end - self.start).days + 1

    @property
    def subject(self) -> str:
        return f"WhatsApp campaign report {self}"

    @property
    def csv_name(self) -> str:
        return f"conversions_{self.start.isoformat()}_{self.end.isoformat()}.csv"

    def __str__(self) -> str:
        first = self.start.isoformat() if self.start else "the first day"
        last = self.end.isoformat() if self.end else "the last day"
        return f"{first} to {last}"
