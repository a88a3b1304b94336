"""The window of local days a run covers, carried as run tags so every step (and the UI) sees it.

`campaigns run --start D1 --end D2` sets them; a run without them covers all landed data.
Dates are inclusive for users and half-open (`>= start and < end + 1 day`) inside.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta

START_TAG = "campaigns/start_date"
END_TAG = "campaigns/end_date"


class DateArgumentError(ValueError):
    pass


def parse_date(value: str, name: str) -> date:
    try:
        return date.fromisoformat(value)
    except (TypeError, ValueError):
        raise DateArgumentError(f"{name} must be a date as YYYY-MM-DD, got {value!r}") from None


@dataclass(frozen=True)
class RunWindow:
    start: date | None = None
    end: date | None = None  # inclusive

    def __post_init__(self):
        if self.start and self.end and self.start > self.end:
            raise DateArgumentError(f"--start {self.start} is after --end {self.end}")

    @property
    def end_exclusive(self) -> date | None:
        return self.end + timedelta(days=1) if self.end else None

    def tags(self) -> dict[str, str]:
        tags = {}
        if self.start:
            tags[START_TAG] = self.start.isoformat()
        if self.end:
            tags[END_TAG] = self.end.isoformat()
        return tags

    @classmethod
    def from_tags(cls, tags: dict[str, str]) -> RunWindow:
        start, end = tags.get(START_TAG), tags.get(END_TAG)
        return cls(parse_date(start, START_TAG) if start else None, parse_date(end, END_TAG) if end else None)
