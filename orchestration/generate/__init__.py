"""`campaigns generate`: deterministic, realistic sample landing feeds (docs/spec.md sections 1 and 5).

    generate(out, start, days, reminders_per_day, seed) -> GenerateSummary

writes `<out>/<source>/dt=YYYY-MM-DD/<source>-YYYYMMDD[-late|-reupload].jsonl[.gz]` for the
sources sends, whatsapp, clicks, orders and campaigns. The same arguments give byte-identical
files: every random draw comes from numpy PCG64 streams spawned from the seed, in a fixed order.

Modules, one job each:
- rates: every rate and delay (named constants); catalog: stores, campaigns, products, texts;
- campaigns: the admin history and who may send when; users: shoppers;
- reminders: the sends; engagement: statuses, taps, replies, clicks; purchases: VTEX orders;
- feeds: line tables and their JSON rendering; corrupt: malformed lines;
- landing: routing lines to dt folders and files, writing them; text: vectorised strings.
"""

from __future__ import annotations

import sys
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import date, datetime, timezone
from pathlib import Path

import numpy as np
from tqdm import tqdm

from orchestration.generate import rates as R
from orchestration.generate.campaigns import plan_campaigns
from orchestration.generate.engagement import simulate_engagement
from orchestration.generate.feeds import campaigns_feed, clicks_feed, orders_feed, sends_feed, whatsapp_feed
from orchestration.generate.landing import write_feed
from orchestration.generate.purchases import simulate_orders
from orchestration.generate.reminders import simulate_reminders

SOURCES = ("sends", "whatsapp", "clicks", "orders", "campaigns")

__all__ = ["SOURCES", "GenerateSummary", "generate"]


@dataclass(frozen=True)
class GenerateSummary:
    out: str
    reminders: int  # distinct reminders sent
    files: tuple[str, ...]  # paths below `out`, in writing order
    lines: dict[str, int] = field(default_factory=dict)  # per source, malformed lines included
    malformed: dict[str, int] = field(default_factory=dict)  # per source: lines that break the contract
    bytes_written: int = 0

    @property
    def total_lines(self) -> int:
        return sum(self.lines.values())

    def __str__(self) -> str:
        per_source = ", ".join(f"{s} {self.lines.get(s, 0):,}" for s in SOURCES)
        bad = sum(self.malformed.values())
        return (f"{self.reminders:,} reminders; {len(self.files)} files, {self.total_lines:,} lines "
                f"({per_source}), {bad} malformed on purpose, {self.bytes_written / 1e6:,.1f} MB")


def _check(days: int, reminders_per_day: int, seed: int, campaigns: int) -> None:
    for name, value, minimum in (("days", days, 1), ("reminders_per_day", reminders_per_day, 1),
                                 ("seed", seed, 0), ("campaigns", campaigns, 1)):
        if isinstance(value, bool) or not isinstance(value, (int, np.integer)):
            raise ValueError(f"{name} must be a whole number, got {value!r}")
        if value < minimum:
            raise ValueError(f"{name} must be at least {minimum}, got {value}")


def generate(out: str | Path, start: date, days: int, reminders_per_day: int, seed: int,
             progress: bool = True, campaigns: int = 4) -> GenerateSummary:
    """Write the sample landing feeds for `days` days from `start` (UTC), `reminders_per_day`
    reminders a day, deterministic for `seed`. Existing files of the same names are replaced;
    other files under `out` are left alone."""
    _check(days, reminders_per_day, seed, campaigns)
    if not isinstance(start, date):
        raise ValueError(f"start must be a date, got {start!r}")
    if "://" in str(out):
        raise ValueError(f"generate writes to a local folder, not {out}")
    start = date(start.year, start.month, start.day)
    out = Path(out)
    start_ms = int(datetime(start.year, start.month, start.day, tzinfo=timezone.utc).timestamp()) * 1000
    end_ms = start_ms + days * R.DAY_MS

    streams = [np.random.Generator(np.random.PCG64(s)) for s in np.random.SeedSequence(seed).spawn(16)]
    stages = tqdm(total=4, desc="simulate ", unit="step", file=sys.stderr, disable=not progress)
    with stages:
        plan = plan_campaigns(streams[0], campaigns, start_ms, days)
        rem, users, catalog = simulate_reminders(streams[1], plan, start_ms, days, reminders_per_day)
        stages.update(1)
        engagement = simulate_engagement(streams[2], rem, users, end_ms)
        stages.update(1)
        orders = simulate_orders(streams[3], rem, engagement, users, catalog, start_ms, days)
        stages.update(1)
        feeds = [
            sends_feed(streams[4], rem, users, catalog, plan),
            whatsapp_feed(streams[5], rem, engagement, users),
            clicks_feed(rem, engagement, users, plan),
            orders_feed(orders, users, catalog),
            campaigns_feed(streams[6], plan),
        ]
        stages.update(1)

    out.mkdir(parents=True, exist_ok=True)
    files: list[str] = []
    lines: dict[str, int] = {}
    malformed: dict[str, int] = {}
    written = 0
    with ThreadPoolExecutor(max_workers=1, thread_name_prefix="landing-writer") as writer:
        for i, feed in enumerate(feeds):
            result = write_feed(out, feed, start, start_ms, streams[8 + i], progress, writer)
            files += result.files
            lines[feed.source] = result.lines
            malformed[feed.source] = result.malformed
            written += result.bytes
    return GenerateSummary(str(out), rem.n, tuple(files), lines, malformed, written)
