"""Hand-made marts for the overview page's tests: ten days of two campaigns' reminders, clicks
and conversions, written with the docs/spec.md section 3 types, published with the real publishing
code into the real layout (versions/, `current`, bi.duckdb, Parquet, publication.json).

The daily mart is aggregated from the hand-made facts by a plain GROUP BY (each event on its
own UTC day), so the facts and the daily rows agree as the dbt models make them agree.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta
from decimal import Decimal
from pathlib import Path

import duckdb

from fake_sendgrid import ITEMS, create_marts
from orchestration.publishing import Publication, publish_marts

FIRST_DAY = date(2024, 6, 1)
DAYS = 10
LAST_DAY = FIRST_DAY + timedelta(days=DAYS - 1)

CAMPAIGNS = [
    ("cmp_cart_es", "Carrito abandonado", "es", "cart_reminder", "BRL", "active"),
    ("cmp_cart_us", "Abandoned cart", "en", "cart_reminder", "USD", "paused"),
    ("cmp_browse_pt", "Navegação", "pt", "browse_reminder", "BRL", "paused"),
]
# campaign -> (reminders a day, its users)
SENDING = {"cmp_cart_es": (3, ("u1", "u2", "u3", "u4")), "cmp_cart_us": (2, ("v1", "v2", "v3"))}


def _campaigns(con) -> None:
    for campaign_id, name, language, message_type, currency, status in CAMPAIGNS:
        con.execute("INSERT INTO marts.dim_campaigns VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                    [campaign_id, name, language, message_type, currency, status,
                     datetime(2024, 5, 30, 10), datetime(2024, 6, 5, 9)])


def _facts(con) -> None:
    """Per day and campaign: every 4th reminder fails, every 2nd is read, every 3rd clicked
    (a link hit, the 6th also a button tap), every 5th and 7th convert: click-through when clicked."""
    serial = 0
    for offset in range(DAYS):
        day = datetime.combine(FIRST_DAY + timedelta(days=offset), datetime.min.time())
        for campaign_id, (per_day, users) in SENDING.items():
            currency = "USD" if campaign_id == "cmp_cart_us" else "BRL"
            for n in range(per_day):
                serial += 1
                message_id = f"wamid.{serial:03d}"
                user_id = users[serial % len(users)]
                sent = day + timedelta(hours=9 + n, minutes=serial % 50)
                failed = serial % 4 == 0
                delivered = None if failed else sent + timedelta(minutes=2)
                read = delivered + timedelta(minutes=30) if delivered and serial % 2 == 0 else None
                clicks = []
                if delivered and serial % 3 == 0:
                    clicks.append((f"c_{serial:03d}", "link", delivered + timedelta(minutes=40)))
                    if serial % 6 == 0:
                        clicks.append((f"in.{serial:03d}", "button", delivered + timedelta(minutes=50)))
                con.execute("INSERT INTO marts.fct_reminders VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                            [message_id, campaign_id, user_id, f"{serial:032x}", sent, delivered,
                             read, failed, clicks[0][2] if clicks else None, len(clicks), ITEMS])
                for click_id, kind, at in clicks:
                    con.execute("INSERT INTO marts.fct_clicks VALUES (?, ?, ?, ?, ?, ?, ?)",
                                [click_id, kind, message_id, campaign_id, user_id, at, at.date()])
                if delivered and (serial % 5 == 0 or serial % 7 == 0):
                    created = delivered + timedelta(hours=3)
                    total = Decimal(10 + serial) + Decimal("0.90")
                    clicked = clicks[0][2] if clicks else None
                    con.execute(
                        "INSERT INTO marts.fct_conversions VALUES "
                        "(?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                        [f"g{serial:03d}", f"{serial:032x}", "=cmd" if serial == 35 else user_id,
                         message_id, campaign_id, "click_through" if clicked else "assisted",
                         delivered, read, clicked, created, created.date(), total, currency,
                         ITEMS, ITEMS])


DAILY_SQL = """
INSERT INTO marts.mart_daily_campaign_metrics
WITH event AS (
    SELECT CAST(sent_at AS DATE) AS day, campaign_id, 'sent' AS kind, NULL AS user_id,
           NULL::DECIMAL(18, 2) AS value, NULL AS currency FROM marts.fct_reminders
    UNION ALL SELECT CAST(delivered_at AS DATE), campaign_id, 'delivered', NULL, NULL, NULL
        FROM marts.fct_reminders WHERE delivered_at IS NOT NULL
    UNION ALL SELECT CAST(read_at AS DATE), campaign_id, 'read', NULL, NULL, NULL
        FROM marts.fct_reminders WHERE read_at IS NOT NULL
    UNION ALL SELECT CAST(sent_at AS DATE), campaign_id, 'failed', NULL, NULL, NULL
        FROM marts.fct_reminders WHERE failed
    UNION ALL SELECT click_date, campaign_id, 'click', user_id, NULL, NULL FROM marts.fct_clicks
    UNION ALL SELECT order_date, campaign_id, attribution_type, NULL, order_total, currency
        FROM marts.fct_conversions
)
SELECT day, campaign_id,
       count(*) FILTER (WHERE kind = 'sent'), count(*) FILTER (WHERE kind = 'delivered'),
       count(*) FILTER (WHERE kind = 'failed'), count(*) FILTER (WHERE kind = 'read'),
       count(DISTINCT user_id) FILTER (WHERE kind = 'click'), count(*) FILTER (WHERE kind = 'click'),
       count(*) FILTER (WHERE kind = 'assisted'), count(*) FILTER (WHERE kind = 'click_through'),
       count(*) FILTER (WHERE kind IN ('assisted', 'click_through')),
       coalesce(sum(value) FILTER (WHERE kind = 'assisted'), 0),
       coalesce(sum(value) FILTER (WHERE kind = 'click_through'), 0),
       coalesce(sum(value), 0), any_value(currency)
FROM event GROUP BY day, campaign_id
"""


def build_marts(con: duckdb.DuckDBPyConnection, clicks: bool = True) -> None:
    """The five marts the page reads (without fct_clicks when `clicks` is False)."""
    create_marts(con)
    _campaigns(con)
    _facts(con)
    con.execute(DAILY_SQL)
    if not clicks:
        con.execute("DROP TABLE marts.fct_clicks")


def make_warehouse(path: Path, clicks: bool = True) -> Path:
    con = duckdb.connect(str(path))
    try:
        build_marts(con, clicks)
    finally:
        con.close()
    return path


def publish(warehouse: Path, publish_root: Path) -> Publication:
    con = duckdb.connect(str(warehouse))
    try:
        return publish_marts(con, str(publish_root))
    finally:
        con.close()


def expected_figures(database: Path, start: date, end: date) -> dict[str, int]:
    """The range's counts straight from the marts: daily sums, distinct clickers from fct_clicks."""
    con = duckdb.connect(str(database), read_only=True)
    try:
        names = ("messages_sent", "messages_delivered", "messages_read", "messages_failed",
                 "total_clicks", "assisted_conversions", "click_through_conversions",
                 "total_conversions")
        row = con.execute("SELECT " + ", ".join(f"sum({n})::BIGINT" for n in names)
                          + " FROM marts.mart_daily_campaign_metrics WHERE metric_date BETWEEN ? AND ?",
                          [start, end]).fetchone()
        figures = dict(zip(names, row))
        figures["unique_clicks"] = con.execute(
            "SELECT count(DISTINCT user_id) FROM marts.fct_clicks WHERE click_date BETWEEN ? AND ?",
            [start, end]).fetchone()[0]
        figures["daily_unique_clicks_summed"] = con.execute(
            "SELECT sum(unique_clicks)::BIGINT FROM marts.mart_daily_campaign_metrics "
            "WHERE metric_date BETWEEN ? AND ?", [start, end]).fetchone()[0]
        values = con.execute(
            "SELECT currency, sum(total_conversion_value), sum(click_through_conversion_value) "
            "FROM marts.mart_daily_campaign_metrics WHERE metric_date BETWEEN ? AND ? "
            "AND currency IS NOT NULL GROUP BY currency", [start, end]).fetchall()
        figures["values"] = {currency: (total, through) for currency, total, through in values}
        # Value per delivered message divides a currency's value by the messages its campaigns
        # delivered (the report email's rate): BRL over the BRL campaigns' messages.
        figures["delivered_by_currency"] = dict(con.execute(
            "SELECT campaign.currency, sum(daily.messages_delivered)::BIGINT "
            "FROM marts.mart_daily_campaign_metrics AS daily "
            "JOIN marts.dim_campaigns AS campaign USING (campaign_id) "
            "WHERE metric_date BETWEEN ? AND ? GROUP BY campaign.currency", [start, end]).fetchall())
        return figures
    finally:
        con.close()
