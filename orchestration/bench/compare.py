"""The equality checks: the engine floor, the whole floor, the pandas and Polars peers and the
marts must agree, or the timings compare programs that do different things.

Conversions are compared on the contract's key (docs/spec.md section 3): conversion_id (the orderGroup),
message_id, attribution_type and order_total, as multisets. The daily metrics are compared
row for row, every column.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

import duckdb

CONVERSION_COLUMNS = ("conversion_id", "message_id", "attribution_type", "order_total")
DAILY_COLUMNS = (
    "metric_date", "campaign_id", "messages_sent", "messages_delivered", "messages_failed", "messages_read",
    "unique_clicks", "total_clicks", "assisted_conversions", "click_through_conversions", "total_conversions",
    "assisted_conversion_value", "click_through_conversion_value", "total_conversion_value", "currency",
)
_CASTS = {"conversion_id": "VARCHAR", "message_id": "VARCHAR", "attribution_type": "VARCHAR",
          "order_total": "DECIMAL(18, 2)", "metric_date": "DATE", "campaign_id": "VARCHAR", "currency": "VARCHAR",
          "assisted_conversion_value": "DECIMAL(18, 2)", "click_through_conversion_value": "DECIMAL(18, 2)",
          "total_conversion_value": "DECIMAL(18, 2)"}
SHOWN_ROWS = 10


@dataclass
class Check:
    name: str
    ok: bool
    expected_rows: int
    actual_rows: int
    only_expected: int = 0  # rows of the reference (the marts) that the other side lacks
    only_actual: int = 0
    diff: str = ""

    def as_dict(self) -> dict:
        return asdict(self)


def _select(relation: str, columns: tuple[str, ...]) -> str:
    listed = ", ".join(f"CAST({c} AS {_CASTS.get(c, 'BIGINT')}) AS {c}" for c in columns)
    return f"SELECT {listed} FROM {relation}"


def compare(con: duckdb.DuckDBPyConnection, name: str, expected: str, actual: str,
            columns: tuple[str, ...]) -> Check:
    """`expected` and `actual`: relations (table names or `read_csv(...)`) holding `columns`."""
    left, right = _select(expected, columns), _select(actual, columns)
    expected_rows = con.execute(f"SELECT count(*) FROM ({left})").fetchone()[0]
    actual_rows = con.execute(f"SELECT count(*) FROM ({right})").fetchone()[0]
    order = ", ".join(columns)
    only_expected = con.execute(f"({left}) EXCEPT ALL ({right}) ORDER BY {order}").fetchall()
    only_actual = con.execute(f"({right}) EXCEPT ALL ({left}) ORDER BY {order}").fetchall()
    check = Check(name, not only_expected and not only_actual, expected_rows, actual_rows,
                  len(only_expected), len(only_actual))
    if not check.ok:
        lines = [f"{name}: {expected_rows} rows expected (the marts), {actual_rows} found; "
                 f"{len(only_expected)} only in the marts, {len(only_actual)} only in the other side",
                 "  columns: " + " | ".join(columns)]
        for label, rows in (("- marts only", only_expected), ("+ other only", only_actual)):
            for row in rows[:SHOWN_ROWS]:
                lines.append(f"  {label}: " + " | ".join("" if v is None else str(v) for v in row))
            if len(rows) > SHOWN_ROWS:
                lines.append(f"  {label}: ... {len(rows) - SHOWN_ROWS} more")
        check.diff = "\n".join(lines)
    return check


def compare_outputs(con: duckdb.DuckDBPyConnection, label: str, conversions: str, daily_metrics: str,
                    marts_schema: str = "marts") -> list[Check]:
    """The marts (in `con`) against another program's conversions and daily metrics."""
    return [
        compare(con, f"{label} conversions = marts.fct_conversions", f"{marts_schema}.fct_conversions",
                conversions, CONVERSION_COLUMNS),
        compare(con, f"{label} daily metrics = marts.mart_daily_campaign_metrics",
                f"{marts_schema}.mart_daily_campaign_metrics", daily_metrics, DAILY_COLUMNS),
    ]


def peer_relations(out_dir: str) -> tuple[str, str]:
    """A peer's CSV outputs (pandas or Polars) as DuckDB relations."""
    def csv(name: str) -> str:
        path = f"{out_dir}/{name}".replace("'", "''")
        return f"read_csv('{path}', header = true, all_varchar = true)"
    return csv("conversions.csv"), csv("daily_metrics.csv")
