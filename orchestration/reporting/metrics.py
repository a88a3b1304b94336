"""The range's totals of every daily metric, from `marts.mart_daily_campaign_metrics`.

Counts add up across campaigns and days; money adds up only within one currency, so the
values are totalled per currency.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import date
from decimal import Decimal

import duckdb

from orchestration.reporting.errors import ReportError
from orchestration.reporting.report_range import ReportRange

COUNT_METRICS = (
    "messages_sent", "messages_delivered", "messages_failed", "messages_read",
    "unique_clicks", "total_clicks",
    "assisted_conversions", "click_through_conversions", "total_conversions",
)
VALUE_METRICS = (
    "assisted_conversion_value", "click_through_conversion_value", "total_conversion_value",
)
METRIC_LABELS = {
    "messages_sent": "Messages sent",
    "messages_delivered": "Messages delivered",
    "messages_failed": "Messages failed",
    "messages_read": "Messages read",
    "unique_clicks": "Unique clicks",
    "total_clicks": "Total clicks",
    "assisted_conversions": "Assisted conversions",
    "click_through_conversions": "Click-through conversions",
    "total_conversions": "Total conversions",
    "assisted_conversion_value": "Assisted conversion value",
    "click_through_conversion_value": "Click-through conversion value",
    "total_conversion_value": "Total conversion value",
}

_MART = "marts.mart_daily_campaign_metrics"
_IN_RANGE = "metric_date BETWEEN $start AND $end"


@dataclass(frozen=True)
class CurrencyValues:
    currency: str | None  # None: values on rows without a currency (a data error upstream)
    values: dict[str, Decimal]


@dataclass(frozen=True)
class DailyConversions:
    day: date
    conversions: int
    value_by_currency: dict[str, Decimal]


@dataclass(frozen=True)
class RangeMetrics:
    counts: dict[str, int]
    values: tuple[CurrencyValues, ...]
    daily: tuple[DailyConversions, ...]

    def fingerprint(self) -> str:
        """Canonical text of everything the email body shows, for the delivery ledger's hash."""
        return json.dumps({
            "counts": self.counts,
            "values": [[entry.currency, {k: str(v) for k, v in entry.values.items()}]
                       for entry in self.values],
            "daily": [[point.day.isoformat(), point.conversions,
                       {k: str(v) for k, v in sorted(point.value_by_currency.items())}]
                      for point in self.daily],
        }, sort_keys=True, separators=(",", ":"))


def read_range_metrics(con: duckdb.DuckDBPyConnection, report_range: ReportRange) -> RangeMetrics:
    params = {"start": report_range.start, "end": report_range.end}
    try:
        counts_row = con.execute(
            "SELECT " + ", ".join(f"coalesce(sum({name}), 0)::BIGINT" for name in COUNT_METRICS)
            + f" FROM {_MART} WHERE {_IN_RANGE}", params).fetchone()
        value_rows = con.execute(
            "SELECT currency, " + ", ".join(f"coalesce(sum({name}), 0)::DECIMAL(18, 2)"
                                            for name in VALUE_METRICS)
            + f" FROM {_MART} WHERE {_IN_RANGE} GROUP BY currency"
            " HAVING currency IS NOT NULL OR sum(total_conversions) > 0"
            " OR sum(total_conversion_value) <> 0"
            " ORDER BY currency NULLS LAST", params).fetchall()
        daily_rows = con.execute(f"""
            WITH day AS (
                SELECT CAST(generate_series AS DATE) AS day
                FROM generate_series(CAST($start AS TIMESTAMP), CAST($end AS TIMESTAMP),
                                     INTERVAL 1 DAY)
            ), by_currency AS (
                SELECT metric_date, currency, sum(total_conversions) AS conversions,
                       sum(total_conversion_value) AS value
                FROM {_MART} WHERE {_IN_RANGE}
                GROUP BY metric_date, currency
            )
            SELECT day.day,
                   coalesce(sum(by_currency.conversions), 0)::BIGINT,
                   list(struct_pack(currency := by_currency.currency,
                                    value := CAST(by_currency.value AS DECIMAL(18, 2))))
                       FILTER (WHERE by_currency.currency IS NOT NULL)
            FROM day LEFT JOIN by_currency ON by_currency.metric_date = day.day
            GROUP BY day.day ORDER BY day.day
        """, params).fetchall()
    except duckdb.CatalogException as error:
        first = str(error).strip().splitlines()[0] if str(error).strip() else type(error).__name__
        raise ReportError(f"the warehouse lacks a mart the report reads ({first}): "
                          "build the models first with `campaigns run`") from None
    return RangeMetrics(
        counts=dict(zip(COUNT_METRICS, (int(value) for value in counts_row))),
        values=tuple(CurrencyValues(row[0], dict(zip(VALUE_METRICS, row[1:])))
                     for row in value_rows),
        daily=tuple(
            DailyConversions(day, conversions,
                             {entry["currency"]: entry["value"] for entry in (entries or [])})
            for day, conversions, entries in daily_rows),
    )
