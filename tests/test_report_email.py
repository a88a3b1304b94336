"""What the marketer reads in the report email (docs/spec.md section 4), on the hand-made marts of
fake_sendgrid.small_marts, delivered as an .eml through the real outbox path."""

import re
from datetime import date
from email import message_from_bytes, policy
from pathlib import Path

import duckdb

from fake_sendgrid import add_daily_metrics
from orchestration.reporting.metrics import read_range_metrics
from orchestration.days import DayRange
from orchestration.reporting.service import send_report
from orchestration.resources.mailer import MailerResource


def send(warehouse, tmp_path, start="2024-06-25", end="2024-06-26"):
    mailer = MailerResource(report_from="reports@localhost", outbox=str(tmp_path / "outbox"))
    return send_report(warehouse, mailer, start, end, "ops@shop.example", reports_dir=tmp_path / "reports",
                       timezone="America/Sao_Paulo")


def bodies(outcome):
    message = message_from_bytes(Path(outcome.outbox_file).read_bytes(), policy=policy.default)
    return tuple(message.get_body(preferencelist=(kind,)).get_content().replace("\r\n", "\n")
                 for kind in ("plain", "html"))


def test_unique_clicks_are_the_distinct_users_of_the_range_not_the_sum_of_days(report_warehouse, tmp_path):
    # u1 clicks on the 25th and the 26th: the days' unique_clicks add up to 4, the users are 3.
    text, html = bodies(send(report_warehouse, tmp_path))

    assert re.search(r"^  Unique clicks \(distinct users\) +3   18\.8% of delivered$", text, re.MULTILINE), text
    assert re.search(r"Unique clicks \(distinct users\)</td><td [^>]*>3</td>", html), html
    assert "Total clicks" in text and re.search(r"^  Total clicks +5$", text, re.MULTILINE)


def test_one_day_counts_that_days_clickers(report_warehouse, tmp_path):
    text, _ = bodies(send(report_warehouse, tmp_path, "2024-06-26", "2024-06-26"))

    assert re.search(r"^  Unique clicks \(distinct users\) +1 ", text, re.MULTILINE), text


def test_the_email_shows_the_rates_a_marketer_reads(report_warehouse, tmp_path):
    text, html = bodies(send(report_warehouse, tmp_path))

    # 17 sent, 16 delivered, 9 read, 3 distinct clickers, 3 conversions
    for line in (r"Messages delivered +16   94\.1% of sent", r"Messages read +9   56\.2% of delivered",
                 r"Total conversions +3   18\.8% of delivered"):
        assert re.search(rf"^  {line}$", text, re.MULTILINE), (line, text)
    # 129.80 BRL over the 14 messages of the BRL campaign; 7.50 USD over the 2 of the USD one
    value_lines = re.findall(r"^  Value per delivered message +(\S+)$", text, re.MULTILINE)
    assert value_lines == ["9.27", "3.75"]
    assert "94.1% of sent" in html and "9.27" in html and "3.75" in html


def test_one_row_per_campaign_with_its_name_status_and_figures(report_warehouse, tmp_path):
    text, html = bodies(send(report_warehouse, tmp_path))

    assert ("  Abandoned cart US (cmp_cart_us): paused\n"
            "    sent 2, delivered 2 (100.0%), read 0 (0.0%), unique clicks 0 (0.0%), conversions 1 (50.0%)\n"
            "    value 7.50 USD (3.75 per delivered message)\n"
            "  Carrito abandonado (cmp_cart_es): active\n"
            "    sent 15, delivered 14 (93.3%), read 9 (64.3%), unique clicks 3 (21.4%), conversions 2 (14.3%)\n"
            "    value 129.80 BRL (9.27 per delivered message)\n") in text
    rows = re.findall(r"<tr><td [^>]*>([^<]*)</td><td [^>]*>(active|paused)</td>", html)
    assert rows == [("Abandoned cart US (cmp_cart_us)", "paused"), ("Carrito abandonado (cmp_cart_es)", "active")]


def test_rates_with_nothing_to_divide_by_show_a_dash(report_warehouse, tmp_path):
    with report_warehouse.connect() as con:
        add_daily_metrics(con, "2024-07-01", currency=None)  # a quiet day: zeros only

    outcome = send(report_warehouse, tmp_path, "2024-07-01", "2024-07-01")

    text, html = bodies(outcome)
    assert outcome.status == "sent"
    assert re.search(r"^  Messages delivered +0   — of sent$", text, re.MULTILINE), text
    assert re.search(r"^  Unique clicks \(distinct users\) +0   — of delivered$", text, re.MULTILINE)
    assert re.search(r"^  Value per delivered message +—$", text, re.MULTILINE)
    assert "sent 0, delivered 0 (—), read 0 (—)" in text
    assert "— of sent" in html


def test_a_campaign_paused_since_makes_new_content_so_the_report_goes_again(report_warehouse, tmp_path):
    first = send(report_warehouse, tmp_path)
    with report_warehouse.connect() as con:
        con.execute("UPDATE marts.dim_campaigns SET status = 'paused' WHERE campaign_id = 'cmp_cart_es'")

    second = send(report_warehouse, tmp_path)

    assert (first.status, second.status) == ("sent", "sent")
    assert first.content_hash != second.content_hash
    assert "Carrito abandonado (cmp_cart_es): paused" in bodies(second)[0]


def test_range_metrics_read_a_read_only_copy_of_the_marts(report_warehouse):
    # What a page reading the published bi.duckdb (schema marts, read-only) gets.
    con = duckdb.connect(report_warehouse.database, read_only=True)
    metrics = read_range_metrics(con, DayRange(date(2024, 6, 25), date(2024, 6, 26)))
    con.close()

    assert metrics.counts["unique_clicks"] == 3
    assert [(c.campaign_id, c.name, c.status, c.funnel.counts["unique_clicks"]) for c in metrics.campaigns] == [
        ("cmp_cart_us", "Abandoned cart US", "paused", 0), ("cmp_cart_es", "Carrito abandonado", "active", 3)]
    assert metrics.totals.rate("messages_read") == 9 / 16
