"""The figures of a range of local days, for the report email and any page that shows a range.

Read from the marts with SQL, from the live warehouse or the published `bi.duckdb` alike (both
hold schema `marts`): the daily metrics summed over the range, except unique clicks, which are
the distinct users who clicked in the range (`marts.fct_clicks`): a user clicking on two days is
one clicker, not two. Counts add up across campaigns and days; money adds up only within one
currency, so values are totalled per currency. One row per campaign with its name and status
(`marts.dim_campaigns`), and the conversions of each day for the chart.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass
from datetime import date
from decimal import Decimal

import duckdb

from orchestration.reporting.errors import ReportError
from orchestration.days import DayRange

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
    "unique_clicks": "Unique clicks (distinct users)",
    "total_clicks": "Total clicks",
    "assisted_conversions": "Assisted conversions",
    "click_through_conversions": "Click-through conversions",
    "total_conversions": "Total conversions",
    "assisted_conversion_value": "Assisted conversion value",
    "click_through_conversion_value": "Click-through conversion value",
    "total_conversion_value": "Total conversion value",
}
# The rates a marketer reads: each metric over the one before it in the funnel.
RATE_DENOMINATORS = {
    "messages_delivered": "messages_sent",
    "messages_read": "messages_delivered",
    "unique_clicks": "messages_delivered",
    "total_conversions": "messages_delivered",
}

_MART = "marts.mart_daily_campaign_metrics"
_CLICKS = "marts.fct_clicks"
_CAMPAIGNS = "marts.dim_campaigns"
_DAILY = f"daily AS (SELECT * FROM {_MART} WHERE metric_date BETWEEN $start AND $end)"
_CLICKERS = f"(SELECT * FROM {_CLICKS} WHERE click_date BETWEEN $start AND $end)"


def ratio(numerator: int, denominator: int) -> float | None:
    """None when there is nothing to divide by: shown as a dash, never a crash."""
    return numerator / denominator if denominator else None


@dataclass(frozen=True)
class CurrencyValues:
    currency: str | None  # None: values on rows without a currency (a data error upstream)
    values: dict[str, Decimal]


@dataclass(frozen=True)
class Funnel:
    """The range's figures for all campaigns or one: counts, values per currency, and the
    messages delivered by the campaigns priced in each currency (what value per delivered
    message divides by: BRL over the messages of BRL campaigns)."""

    counts: dict[str, int]
    values: tuple[CurrencyValues, ...]
    delivered_by_currency: tuple[tuple[str, int], ...]

    def rate(self, metric: str) -> float | None:
        """`metric` over its denominator in RATE_DENOMINATORS (e.g. read / delivered)."""
        return ratio(self.counts[metric], self.counts[RATE_DENOMINATORS[metric]])

    def value_per_delivered(self, entry: CurrencyValues) -> Decimal | None:
        delivered = dict(self.delivered_by_currency).get(entry.currency) if entry.currency else None
        if not delivered:
            return None
        return (entry.values["total_conversion_value"] / delivered).quantize(Decimal("0.01"))


@dataclass(frozen=True)
class CampaignFigures:
    campaign_id: str
    name: str | None  # None: the campaign is missing from dim_campaigns
    status: str | None
    language: str | None
    message_type: str | None
    currency: str | None
    funnel: Funnel


@dataclass(frozen=True)
class DailyConversions:
    day: date
    conversions: int
    value_by_currency: dict[str, Decimal]


@dataclass(frozen=True)
class RangeMetrics:
    totals: Funnel
    campaigns: tuple[CampaignFigures, ...]
    daily: tuple[DailyConversions, ...]

    @property
    def counts(self) -> dict[str, int]:
        return self.totals.counts

    @property
    def values(self) -> tuple[CurrencyValues, ...]:
        return self.totals.values

    def fingerprint(self) -> str:
        """Canonical text of everything the email body shows (totals, rates' denominators,
        campaign names, statuses and figures, the chart's points), for the ledger's hash."""
        return json.dumps(asdict(self), sort_keys=True, separators=(",", ":"), default=str)


def read_range_metrics(con: duckdb.DuckDBPyConnection, report_range: DayRange) -> RangeMetrics:
    """The range's totals, distinct clickers, campaign rows and daily points, read from the
    marts through `con` (the warehouse or a read-only `bi.duckdb`)."""
    params = {"start": report_range.start, "end": report_range.end}
    try:
        totals = _read_totals(con, params)
        campaigns = _read_campaigns(con, params)
        daily = _read_daily(con, params)
    except duckdb.CatalogException as error:
        raise _missing_mart(error) from None
    return RangeMetrics(totals=totals, campaigns=campaigns, daily=daily)


def read_totals(con: duckdb.DuckDBPyConnection, report_range: DayRange) -> Funnel:
    """The range's totals alone (what the overview page's funnel shows)."""
    try:
        return _read_totals(con, {"start": report_range.start, "end": report_range.end})
    except duckdb.CatalogException as error:
        raise _missing_mart(error) from None


def _missing_mart(error: duckdb.CatalogException) -> ReportError:
    first = str(error).strip().splitlines()[0] if str(error).strip() else type(error).__name__
    return ReportError(f"the warehouse lacks a mart the report reads ({first}): "
                       "build the models first with `campaigns run`")


def _count_columns(clickers: str) -> str:
    """The count metrics in COUNT_METRICS order; unique clicks from `clickers`, not summed."""
    return ", ".join(clickers if name == "unique_clicks" else f"coalesce(sum({name}), 0)::BIGINT"
                     for name in COUNT_METRICS)


_VALUE_SUMS = ", ".join(f"coalesce(sum({name}), 0)::DECIMAL(18, 2)" for name in VALUE_METRICS)
# A currency shows when it has a name, or holds conversions or value (a data error to see).
_VALUED = ("currency IS NOT NULL OR sum(total_conversions) > 0 "
           "OR sum(total_conversion_value) <> 0")


def _read_totals(con: duckdb.DuckDBPyConnection, params: dict) -> Funnel:
    distinct_clickers = f"(SELECT count(DISTINCT user_id) FROM {_CLICKERS})"
    counts = con.execute(f"WITH {_DAILY} SELECT {_count_columns(distinct_clickers)} FROM daily",
                         params).fetchone()
    values = con.execute(f"""
        WITH {_DAILY}
        SELECT currency, {_VALUE_SUMS} FROM daily GROUP BY currency
        HAVING {_VALUED} ORDER BY currency NULLS LAST
    """, params).fetchall()
    delivered = con.execute(f"""
        WITH {_DAILY}
        SELECT campaign.currency, sum(daily.messages_delivered)::BIGINT
        FROM daily JOIN {_CAMPAIGNS} AS campaign ON campaign.campaign_id = daily.campaign_id
        WHERE campaign.currency IS NOT NULL
        GROUP BY campaign.currency ORDER BY campaign.currency
    """, params).fetchall()
    return Funnel(
        counts=dict(zip(COUNT_METRICS, (int(value) for value in counts))),
        values=tuple(CurrencyValues(row[0], dict(zip(VALUE_METRICS, row[1:]))) for row in values),
        delivered_by_currency=tuple((currency, int(count)) for currency, count in delivered),
    )


def _read_campaigns(con: duckdb.DuckDBPyConnection, params: dict) -> tuple[CampaignFigures, ...]:
    clickers = "coalesce(any_value(clickers.unique_clicks), 0)::BIGINT"
    rows = con.execute(f"""
        WITH {_DAILY},
        clickers AS (
            SELECT campaign_id, count(DISTINCT user_id) AS unique_clicks
            FROM {_CLICKERS} GROUP BY campaign_id
        ),
        figures AS (
            SELECT daily.campaign_id, {_count_columns(clickers)}
            FROM daily LEFT JOIN clickers ON clickers.campaign_id = daily.campaign_id
            GROUP BY daily.campaign_id
        )
        SELECT figures.*, campaign.name, campaign.status, campaign.language,
               campaign.message_type, campaign.currency
        FROM figures LEFT JOIN {_CAMPAIGNS} AS campaign
            ON campaign.campaign_id = figures.campaign_id
        ORDER BY coalesce(campaign.name, figures.campaign_id), figures.campaign_id
    """, params).fetchall()
    values: dict[str, list[CurrencyValues]] = {}
    for row in con.execute(f"""
        WITH {_DAILY}
        SELECT campaign_id, currency, {_VALUE_SUMS} FROM daily GROUP BY campaign_id, currency
        HAVING {_VALUED} ORDER BY campaign_id, currency NULLS LAST
    """, params).fetchall():
        entry = CurrencyValues(row[1], dict(zip(VALUE_METRICS, row[2:])))
        values.setdefault(row[0], []).append(entry)
    campaigns = []
    for row in rows:
        campaign_id, counts = row[0], dict(zip(COUNT_METRICS, (int(v) for v in row[1:10])))
        name, status, language, message_type, currency = row[10:]
        own_values = tuple(values.get(campaign_id, ()))
        # One campaign: whatever currency its conversions are in, they divide by its messages.
        currencies = {entry.currency for entry in own_values if entry.currency} | (
            {currency} if currency else set())
        delivered = tuple((code, counts["messages_delivered"]) for code in sorted(currencies))
        campaigns.append(CampaignFigures(campaign_id, name, status, language, message_type,
                                         currency, Funnel(counts, own_values, delivered)))
    return tuple(campaigns)


def _read_daily(con: duckdb.DuckDBPyConnection, params: dict) -> tuple[DailyConversions, ...]:
    rows = con.execute(f"""
        WITH day AS (
            SELECT CAST(generate_series AS DATE) AS day
            FROM generate_series(CAST($start AS TIMESTAMP), CAST($end AS TIMESTAMP),
                                 INTERVAL 1 DAY)
        ), {_DAILY}, by_currency AS (
            SELECT metric_date, currency, sum(total_conversions) AS conversions,
                   sum(total_conversion_value) AS value
            FROM daily GROUP BY metric_date, currency
        )
        SELECT day.day,
               coalesce(sum(by_currency.conversions), 0)::BIGINT,
               list(struct_pack(currency := by_currency.currency,
                                value := CAST(by_currency.value AS DECIMAL(18, 2))))
                   FILTER (WHERE by_currency.currency IS NOT NULL)
        FROM day LEFT JOIN by_currency ON by_currency.metric_date = day.day
        GROUP BY day.day ORDER BY day.day
    """, params).fetchall()
    return tuple(
        DailyConversions(day, conversions,
                         {entry["currency"]: entry["value"] for entry in (entries or [])})
        for day, conversions, entries in rows)
