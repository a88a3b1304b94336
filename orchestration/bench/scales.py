"""The benchmark scales: how many reminders the history holds, over how many days."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from datetime import date, timedelta

BENCH_START = date(2024, 6, 1)
BENCH_SEED = 20240601


@dataclass(frozen=True)
class Scale:
    name: str
    days: int  # days of history; one more day is generated and held back for the incremental run
    reminders_per_day: int
    seed: int = BENCH_SEED
    start: date = BENCH_START
    pipeline_only: bool = False  # measure the `campaigns run` figures only (see run_bench)

    @property
    def reminders(self) -> int:
        return self.days * self.reminders_per_day

    @property
    def incremental_day(self) -> date:
        """The UTC day whose landing folders (dt=) are held back and landed by the incremental run."""
        return self.start + timedelta(days=self.days)

    def describe(self) -> dict:
        # What the feeds are made for: a cache made for these is reused.
        fields = {k: v for k, v in asdict(self).items() if k != "pipeline_only"}
        return {**fields, "start": self.start.isoformat(), "reminders": self.reminders,
                "incremental_day": self.incremental_day.isoformat()}


SCALES = {
    "XS": Scale("XS", days=2, reminders_per_day=200),  # the smoke test
    "S": Scale("S", days=30, reminders_per_day=3_334),  # 100 thousand reminders
    "M": Scale("M", days=30, reminders_per_day=100_000),  # 3 million
    "L": Scale("L", days=30, reminders_per_day=333_334),  # 10 million
    # M's days on twice its history: a day's run must not cost more as the history grows. Only
    # the runs are measured: the floors and peers are M's.
    "M2": Scale("M2", days=60, reminders_per_day=100_000, pipeline_only=True),  # 6 million
}


def get_scale(name: str) -> Scale:
    try:
        return SCALES[name.upper()]
    except KeyError:
        raise ValueError(f"unknown scale {name!r}: use one of {', '.join(SCALES)}") from None
