"""What the overview page shows for a range of local days, read from the published marts.

Counts and values are the daily mart's rows summed over the range (per currency for money);
unique clicks are distinct users over the whole range, from `fct_clicks`, since a user who
clicks on two days is one clicker of the range. The rates are the report email's:
delivered / sent, read / delivered, unique clicks / delivered, conversions / delivered, and
conversion value per delivered message (per currency). A rate whose denominator is 0 is None.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal
from typing import TYPE_CHECKING

from orchestration.dashboard.published import DashboardError
from orchestration.reporting.csv_export import CONVERSIONS_SQL
from orchestration.reporting.metrics import read_totals
from orchestration.days import DayRange

if TYPE_CHECKING:
    import duckdb
    import pandas

MARTS_READ = ("mart_daily_campaign_metrics", "fct_clicks", "dim_campaigns", "fct_conversions",
              "fct_reminders")
DEFAULT_DAYS = 7
CONVERSIONS_SHOWN = 1000  # rows in the page's table; the download holds them all

COUNTS = (
    ("messages_sent", "Sent"), ("messages_delivered", "Delivered"), ("messages_read", "Read"),
    ("messages_failed", "Failed"), ("unique_clicks", "Unique clicks"),
    ("total_clicks", "Total clicks"), ("assisted_conversions", "Assisted conversions"),
    ("click_through_conversions", "Click-through conversions"),
    ("total_conversions", "Total conversions"),
)
VALUES = (("total_conversion_value", "Conversion value"),
          ("click_through_conversion_value", "Click-through value"),
          ("assisted_conversion_value", "Assisted value"))
# (name, label, numerator, denominator): the report email's rates.
RATES = (
    ("delivery_rate", "Delivered / sent", "messages_delivered", "messages_sent"),
    ("read_rate", "Read / delivered", "messages_read", "messages_delivered"),
    ("click_rate", "Unique clicks / delivered", "unique_clicks", "messages_delivered"),
    ("conversion_rate", "Conversions / delivered", "total_conversions", "messages_delivered"),
)
_MART = "marts.mart_daily_campaign_metrics"
_IN_RANGE = "metric_date BETWEEN $start AND $end"


@dataclass(frozen=True)
class CurrencyFigures:
    currency: str | None  # None: value on rows without a currency (a data error upstream)
    values: dict[str, Decimal]
    value_per_delivered: Decimal | None


@dataclass(frozen=True)
class Funnel:
    counts: dict[str, int]
    values: tuple[CurrencyFigures, ...]

    def rate(self, name: str) -> float | None:
        _, _, numerator, denominator = next(rate for rate in RATES if rate[0] == name)
        below = self.counts[denominator]
        return self.counts[numerator] / below if below else None


@dataclass(frozen=True)
class Overview:
    report_range: DayRange
    funnel: Funnel
    daily: pandas.DataFrame  # one row per day of the range
    campaigns: pandas.DataFrame  # one row per campaign
    conversions: pandas.DataFrame  # the report's columns, the first CONVERSIONS_SHOWN rows
    conversions_total: int


def check_marts(con: duckdb.DuckDBPyConnection) -> None:
    present = {name for (name,) in con.execute(
        "SELECT table_name FROM information_schema.tables WHERE table_schema = 'marts'").fetchall()}
    missing = [f"marts.{name}" for name in MARTS_READ if name not in present]
    if missing:
        raise DashboardError(f"the published copy lacks {', '.join(missing)}: publish the "
                             "current models with `campaigns run`")


def data_days(con: duckdb.DuckDBPyConnection) -> tuple[date, date] | None:
    """The first and last local day the daily mart holds; None when it is empty."""
    first, last = con.execute(f"SELECT min(metric_date), max(metric_date) FROM {_MART}").fetchone()
    return (first, last) if first is not None else None


def default_range(days: tuple[date, date]) -> DayRange:
    """The last DEFAULT_DAYS local days with data."""
    first, last = days
    return DayRange(max(first, last - timedelta(days=DEFAULT_DAYS - 1)), last)


def has_data(con: duckdb.DuckDBPyConnection, report_range: DayRange) -> bool:
    return con.execute(f"SELECT count(*) > 0 FROM {_MART} WHERE {_IN_RANGE}",
                       _params(report_range)).fetchone()[0]


def read_funnel(con: duckdb.DuckDBPyConnection, report_range: DayRange) -> Funnel:
    """The report email's totals for the range (reporting/metrics.py): the same sums, distinct
    clickers and value per delivered message of each currency's campaigns."""
    totals = read_totals(con, report_range)
    return Funnel(
        counts={name: totals.counts[name] for name, _ in COUNTS},
        values=tuple(CurrencyFigures(entry.currency, {name: entry.values[name] for name, _ in VALUES},
                                     totals.value_per_delivered(entry))
                     for entry in totals.values))


def read_daily(con: duckdb.DuckDBPyConnection, report_range: DayRange) -> pandas.DataFrame:
    """Every day of the range, zeros where the mart holds none."""
    return con.execute(f"""
        WITH day AS (
            SELECT CAST(generate_series AS DATE) AS day
            FROM generate_series(CAST($start AS TIMESTAMP), CAST($end AS TIMESTAMP), INTERVAL 1 DAY)
        ), daily AS (
            SELECT metric_date, sum(messages_sent) AS sent, sum(messages_delivered) AS delivered,
                   sum(messages_read) AS read, sum(messages_failed) AS failed,
                   sum(total_clicks) AS clicks, sum(assisted_conversions) AS assisted,
                   sum(click_through_conversions) AS click_through
            FROM {_MART} WHERE {_IN_RANGE} GROUP BY metric_date
        )
        SELECT day.day AS "Day",
               coalesce(sent, 0)::BIGINT AS "Sent", coalesce(delivered, 0)::BIGINT AS "Delivered",
               coalesce(read, 0)::BIGINT AS "Read", coalesce(failed, 0)::BIGINT AS "Failed",
               coalesce(clicks, 0)::BIGINT AS "Total clicks",
               coalesce(assisted, 0)::BIGINT AS "Assisted conversions",
               coalesce(click_through, 0)::BIGINT AS "Click-through conversions"
        FROM day LEFT JOIN daily ON daily.metric_date = day.day
        ORDER BY day.day
    """, _params(report_range)).df()


def read_campaigns(con: duckdb.DuckDBPyConnection, report_range: DayRange) -> pandas.DataFrame:
    """One row per campaign of dim_campaigns (and any the daily mart holds without one), with
    its status as the admin's edit and pause actions left it and its figures for the range."""
    return con.execute(f"""
        WITH figures AS (
            SELECT campaign_id, sum(messages_sent) AS sent, sum(messages_delivered) AS delivered,
                   sum(messages_read) AS read, sum(messages_failed) AS failed,
                   sum(total_clicks) AS clicks, sum(assisted_conversions) AS assisted,
                   sum(click_through_conversions) AS click_through,
                   sum(total_conversions) AS conversions, sum(total_conversion_value) AS value,
                   string_agg(DISTINCT currency, ', ' ORDER BY currency) AS currency
            FROM {_MART} WHERE {_IN_RANGE} GROUP BY campaign_id
        ), clickers AS (
            SELECT campaign_id, count(DISTINCT user_id) AS clickers
            FROM marts.fct_clicks WHERE click_date BETWEEN $start AND $end GROUP BY campaign_id
        )
        SELECT coalesce(campaign.name, campaign_id) AS "Campaign", campaign_id AS "Campaign id",
               campaign.language AS "Language", campaign.message_type AS "Message type",
               coalesce(campaign.status, 'unknown') AS "Status",
               coalesce(sent, 0)::BIGINT AS "Sent", coalesce(delivered, 0)::BIGINT AS "Delivered",
               coalesce(read, 0)::BIGINT AS "Read", coalesce(failed, 0)::BIGINT AS "Failed",
               coalesce(clickers, 0)::BIGINT AS "Unique clicks",
               coalesce(clicks, 0)::BIGINT AS "Total clicks",
               coalesce(assisted, 0)::BIGINT AS "Assisted conversions",
               coalesce(click_through, 0)::BIGINT AS "Click-through conversions",
               coalesce(conversions, 0)::BIGINT AS "Total conversions",
               coalesce(value, 0)::DECIMAL(18, 2) AS "Conversion value",
               coalesce(figures.currency, campaign.currency) AS "Currency"
        FROM marts.dim_campaigns AS campaign
        FULL OUTER JOIN figures USING (campaign_id)
        LEFT JOIN clickers USING (campaign_id)
        ORDER BY "Campaign", "Campaign id"
    """, _params(report_range)).df()


def read_conversions(con: duckdb.DuckDBPyConnection, report_range: DayRange,
                     limit: int = CONVERSIONS_SHOWN) -> tuple[pandas.DataFrame, int]:
    """The first `limit` rows of the report CSV for the range (its SQL, its cells), and how
    many it has in all."""
    params = _params(report_range)
    # Empty cells where the CSV has them (the frame would show None).
    shown = con.execute(f"{CONVERSIONS_SQL} LIMIT {int(limit)}", params).df().fillna("")
    total = con.execute("SELECT count(*) FROM marts.fct_conversions "
                        "WHERE order_date BETWEEN $start AND $end", params).fetchone()[0]
    return shown, int(total)


def read_overview(con: duckdb.DuckDBPyConnection, report_range: DayRange) -> Overview:
    """Everything the page shows for the range: what one range change costs."""
    conversions, total = read_conversions(con, report_range)
    return Overview(report_range, read_funnel(con, report_range), read_daily(con, report_range),
                    read_campaigns(con, report_range), conversions, total)


def _params(report_range: DayRange) -> dict[str, date]:
    return {"start": report_range.start, "end": report_range.end}
