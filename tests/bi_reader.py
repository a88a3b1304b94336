"""A BI tool in a separate process: reads the published marts in a loop until told to stop.

Each read opens the published bi.duckdb, checks one invariant between two marts of the same
version (the conversions in fct_conversions are those counted by the daily metrics), and prints
one line: `ok <conversions>` or `error <message>`.
"""

import sys
import time
from pathlib import Path

import duckdb


def main(snapshot: str, stop_file: str) -> None:
    while not Path(stop_file).exists():
        if not Path(snapshot).exists():
            time.sleep(0.05)
            continue
        try:
            con = duckdb.connect(snapshot, read_only=True)
            try:
                conversions = con.execute("SELECT count(*) FROM marts.fct_conversions").fetchone()[0]
                counted = con.execute(
                    "SELECT coalesce(sum(total_conversions), 0) FROM marts.mart_daily_campaign_metrics").fetchone()[0]
            finally:
                con.close()
            print(f"ok {conversions}" if conversions == counted else f"error inconsistent {conversions} != {counted}",
                  flush=True)
        except Exception as error:  # a reader must never fail: report it
            print(f"error {type(error).__name__}: {' '.join(str(error).split())[:200]}", flush=True)
        time.sleep(0.02)


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2])
