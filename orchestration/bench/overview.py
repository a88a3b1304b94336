"""The overview page answering a range change, on the published marts (docs/spec.md section 8: under 2 s at M).

One page request for a range does what app.py does before it draws: resolve `current`, open
that version's bi.duckdb read-only, check the marts, read the days they hold, and read every
figure, chart row, campaign row and conversion the page shows (overview.read_overview). It is
measured in a fresh process (worker step `overview`) on the copy `campaigns run` published
during the bench, for the last 7 and the last 30 days with data: the first request (the file
read cold by this process) and the median of the next REPEATS. Streamlit's own rendering is not
in it: that is the browser's side, the same at any scale.
"""

from __future__ import annotations

import statistics
import time
from datetime import timedelta

from orchestration.dashboard import overview
from orchestration.dashboard.published import DashboardError, open_published
from orchestration.days import DayRange

RANGE_DAYS = (7, 30)
REPEATS = 5


def page_request(publish_root: str, days: int) -> int:
    """One request for the last `days` days with data; the conversions it lists."""
    with open_published(publish_root) as (_, con):
        overview.check_marts(con)
        held = overview.data_days(con)
        if held is None:
            raise DashboardError("the published marts hold no day")
        first, last = held
        report_range = DayRange(max(first, last - timedelta(days=days - 1)), last)
        if not overview.has_data(con, report_range):
            raise DashboardError(f"no data in {report_range}")
        return overview.read_overview(con, report_range).conversions_total


def measure_overview(publish: str) -> dict:
    per_range = {}
    try:
        for days in RANGE_DAYS:
            timings = []
            for _ in range(1 + REPEATS):
                started = time.perf_counter()
                conversions = page_request(publish, days)
                timings.append(time.perf_counter() - started)
            per_range[f"{days}_days"] = {"first_seconds": timings[0],
                                         "median_seconds": statistics.median(timings[1:]),
                                         "conversions": conversions}
    except DashboardError as error:
        return {"skipped": str(error)}
    # The figure: the slower range's typical request.
    return {"seconds": max(entry["median_seconds"] for entry in per_range.values()),
            "per_range": per_range}
