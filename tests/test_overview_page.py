"""The overview page in Streamlit's own harness (AppTest) over a hand-made published copy:
its figures are the marts', its campaigns carry their status, its download is the report CSV,
its "Send report" goes through the report's ledger, and bad input gets a message."""

from __future__ import annotations

import email
from datetime import date
from pathlib import Path

import duckdb
import pytest
from streamlit.testing.v1 import AppTest

import overview_marts
from orchestration.dashboard import overview, published
from orchestration.reporting.csv_export import HEADER, export_conversions_csv
from orchestration.days import DayRange
from overview_marts import expected_figures

APP = Path(overview.__file__).with_name("app.py")
LABELS = dict(overview.COUNTS)


@pytest.fixture
def site(tmp_path: Path, monkeypatch) -> dict[str, Path]:
    """A warehouse with the hand-made marts, published, and the page's settings pointing at it."""
    paths = {"warehouse": tmp_path / "warehouse.duckdb", "publish": tmp_path / "publish",
             "reports": tmp_path / "reports", "outbox": tmp_path / "outbox"}
    overview_marts.make_warehouse(paths["warehouse"])
    overview_marts.publish(paths["warehouse"], paths["publish"])
    for name, path in paths.items():
        monkeypatch.setenv(f"CAMPAIGNS_{name.upper()}", str(path))
    monkeypatch.setenv("CAMPAIGNS_TIMEZONE", "UTC")
    monkeypatch.delenv("REPORT_RECIPIENTS", raising=False)
    monkeypatch.delenv("REPORT_FROM", raising=False)
    return paths


def run_page(at: AppTest | None = None) -> AppTest:
    if at is None:  # (not `at or ...`: an AppTest that has not run yet is falsy)
        at = AppTest.from_file(str(APP), default_timeout=60)
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    return at


def metrics(at: AppTest) -> dict[str, str]:
    return {metric.label: metric.value for metric in at.metric}


def assert_figures_are_the_marts(at: AppTest, database: Path, start: date, end: date) -> None:
    expected = expected_figures(database, start, end)
    shown = metrics(at)
    for name, label in overview.COUNTS:
        assert shown[label] == f"{expected[name]:,}", label
    for currency, (total, through) in expected["values"].items():
        assert shown[f"Conversion value ({currency})"] == f"{total:,.2f}"
        assert shown[f"Click-through value ({currency})"] == f"{through:,.2f}"
        assert shown[f"Value per delivered ({currency})"] == \
            f"{total / expected['delivered_by_currency'][currency]:,.2f}"
    assert shown["Delivered / sent"] == f"{expected['messages_delivered'] / expected['messages_sent']:.1%}"
    assert shown["Unique clicks / delivered"] == \
        f"{expected['unique_clicks'] / expected['messages_delivered']:.1%}"
    assert shown["Conversions / delivered"] == \
        f"{expected['total_conversions'] / expected['messages_delivered']:.1%}"


def test_the_default_range_is_the_last_seven_days_and_its_figures_are_the_marts(site):
    at = run_page()
    assert at.date_input(key="days").value == (date(2024, 6, 4), date(2024, 6, 10))
    assert_figures_are_the_marts(at, site["publish"] / "bi.duckdb", date(2024, 6, 4), date(2024, 6, 10))
    version = published.locate_published(site["publish"]).version
    assert any(version in caption.value and "built" in caption.value for caption in at.caption)


def test_unique_clicks_are_distinct_users_over_the_range_not_the_daily_sum(site):
    at = run_page()
    expected = expected_figures(site["warehouse"], date(2024, 6, 4), date(2024, 6, 10))
    assert expected["unique_clicks"] < expected["daily_unique_clicks_summed"]  # the fixture tells them apart
    assert metrics(at)["Unique clicks"] == str(expected["unique_clicks"])


def test_a_picked_range_or_day_shows_that_range_figures(site):
    at = run_page()
    at.date_input(key="days").set_value((date(2024, 6, 2), date(2024, 6, 3)))
    run_page(at)
    assert_figures_are_the_marts(at, site["warehouse"], date(2024, 6, 2), date(2024, 6, 3))
    at.date_input(key="days").set_value(date(2024, 6, 7))
    run_page(at)
    assert_figures_are_the_marts(at, site["warehouse"], date(2024, 6, 7), date(2024, 6, 7))


def test_every_campaign_is_listed_with_its_status_and_range_figures(site):
    at = run_page()
    campaigns = at.dataframe[0].value.set_index("Campaign id")
    assert campaigns["Status"].to_dict() == {"cmp_cart_es": "active", "cmp_cart_us": "paused",
                                             "cmp_browse_pt": "paused"}
    assert campaigns.loc["cmp_browse_pt", "Campaign"] == "Navegação"
    assert campaigns.loc["cmp_cart_us", "Language"] == "en"
    con = duckdb.connect(str(site["warehouse"]), read_only=True)
    sums = dict(con.execute(
        "SELECT campaign_id, sum(messages_sent) FROM marts.mart_daily_campaign_metrics "
        "WHERE metric_date BETWEEN '2024-06-04' AND '2024-06-10' GROUP BY ALL").fetchall())
    clickers = dict(con.execute(
        "SELECT campaign_id, count(DISTINCT user_id) FROM marts.fct_clicks "
        "WHERE click_date BETWEEN '2024-06-04' AND '2024-06-10' GROUP BY ALL").fetchall())
    con.close()
    assert campaigns["Sent"].to_dict() == {**{"cmp_browse_pt": 0}, **sums}
    assert campaigns["Unique clicks"].to_dict() == {"cmp_browse_pt": 0, "cmp_cart_us": 0, **clickers}


def test_the_conversions_table_has_the_report_columns(site):
    at = run_page()
    conversions = at.dataframe[1].value
    assert tuple(conversions.columns) == HEADER
    con = duckdb.connect(str(site["warehouse"]), read_only=True)
    expected = con.execute("SELECT count(*) FROM marts.fct_conversions "
                           "WHERE order_date BETWEEN '2024-06-04' AND '2024-06-10'").fetchone()[0]
    con.close()
    assert len(conversions) == expected > 0


def test_the_download_is_the_report_csv_byte_for_byte(site, monkeypatch, tmp_path):
    # Keep the harness's media manager, to run the button's deferred download as a click does.
    import streamlit.testing.v1.app_test as app_test

    managers = []

    class Recorded(app_test.MediaFileManager):
        def __init__(self, *args, **kwargs):
            super().__init__(*args, **kwargs)
            managers.append(self)

    monkeypatch.setattr(app_test, "MediaFileManager", Recorded)
    at = run_page()
    button = at.get("download_button")[0]
    url = managers[-1].execute_deferred(button.proto.deferred_file_id)
    downloaded = managers[-1].read_file(Path(url).stem).content

    con = duckdb.connect(str(site["warehouse"]), read_only=True)
    report = export_conversions_csv(con, DayRange(date(2024, 6, 4), date(2024, 6, 10)),
                                    tmp_path / "reports").read_bytes()
    con.close()
    assert downloaded == report
    assert report.startswith(b"\xef\xbb\xbfuserId,") and b"'=cmd" in report


def _sent_emails(outbox: Path) -> list[Path]:
    return sorted(outbox.glob("*.eml")) if outbox.exists() else []


def test_send_report_writes_one_email_and_an_identical_request_sends_nothing(site):
    at = run_page()
    at.text_input(key="recipients").input("Ana@Example.com")
    at.button(key="send").click()
    run_page(at)
    assert [s.value for s in at.success] and "written to the outbox" in at.success[0].value
    [sent] = _sent_emails(site["outbox"])
    message = email.message_from_bytes(sent.read_bytes())
    assert message["Subject"] == "WhatsApp campaign report 2024-06-04 to 2024-06-10"
    assert message["To"] == "ana@example.com"

    at.button(key="send").click()
    run_page(at)
    assert "already" in at.info[0].value and "not sent again" in at.info[0].value
    assert _sent_emails(site["outbox"]) == [sent]

    at.checkbox(key="force").check()
    at.button(key="send").click()
    run_page(at)
    assert at.success and len(_sent_emails(site["outbox"])) == 2


@pytest.mark.parametrize("recipients, message", [
    ("", "Enter at least one recipient"),
    ("not-an-address", "invalid recipient address 'not-an-address'"),
    ("a@example.com, b@", "invalid recipient address 'b@'"),
])
def test_a_bad_recipient_is_refused_with_a_message(site, recipients, message):
    at = run_page()
    at.text_input(key="recipients").input(recipients)
    at.button(key="send").click()
    run_page(at)
    assert message in at.error[0].value
    assert _sent_emails(site["outbox"]) == []


def test_sending_without_a_warehouse_says_so_and_creates_none(site):
    site["warehouse"].unlink()
    at = run_page()  # the figures come from the published copy: still shown
    assert metrics(at)["Sent"] != "0"
    at.text_input(key="recipients").input("ana@example.com")
    at.button(key="send").click()
    run_page(at)
    assert "no warehouse at" in at.error[0].value
    assert not site["warehouse"].exists()


def test_a_range_without_data_says_which_days_hold_data(site):
    at = run_page()
    at.date_input(key="days").set_value((date(2024, 7, 1), date(2024, 7, 3)))
    run_page(at)
    assert "No data from 2024-07-01 to 2024-07-03" in at.warning[0].value
    assert "2024-06-01 to 2024-06-10" in at.warning[0].value
    assert not at.metric


def test_a_missing_published_copy_says_how_to_make_one(site, monkeypatch, tmp_path):
    monkeypatch.setenv("CAMPAIGNS_PUBLISH", str(tmp_path / "nothing_here"))
    at = run_page()
    assert "no published copy of the marts" in at.error[0].value
    assert "campaigns run" in at.error[0].value


def test_a_copy_published_before_fct_clicks_names_the_missing_mart(tmp_path, monkeypatch):
    overview_marts.make_warehouse(tmp_path / "old.duckdb", clicks=False)
    overview_marts.publish(tmp_path / "old.duckdb", tmp_path / "publish")
    monkeypatch.setenv("CAMPAIGNS_PUBLISH", str(tmp_path / "publish"))
    at = run_page()
    assert "lacks marts.fct_clicks" in at.error[0].value


def test_the_page_shows_whole_versions_while_new_ones_are_published(site, tmp_path):
    """A pipeline publishes under the page (two warehouses in turn, each publication a new
    version, the oldest pruned): every page load reads one whole version, and says which."""
    import re
    import threading

    other = overview_marts.make_warehouse(tmp_path / "other.duckdb")
    con = duckdb.connect(str(other))
    con.execute("UPDATE marts.mart_daily_campaign_metrics SET messages_sent = messages_sent + 100 "
                "WHERE metric_date = '2024-06-08'")
    con.close()
    sent = {warehouse: str(expected_figures(warehouse, date(2024, 6, 4), date(2024, 6, 10))["messages_sent"])
            for warehouse in (site["warehouse"], other)}
    source_of = {published.locate_published(site["publish"]).version: site["warehouse"]}
    stop = threading.Event()
    failures: list[BaseException] = []

    def pipeline() -> None:
        try:
            while not stop.is_set():
                for warehouse in (other, site["warehouse"]):
                    source_of[overview_marts.publish(warehouse, site["publish"]).version] = warehouse
        except BaseException as error:  # shown by the assertion below
            failures.append(error)

    publisher = threading.Thread(target=pipeline)
    publisher.start()
    pages = []
    try:
        at = AppTest.from_file(str(APP), default_timeout=60)
        for _ in range(12):
            run_page(at)
            assert not at.error, at.error[0].value
            [version] = {match for caption in at.caption if "Reading" in caption.value
                         for match in re.findall(r"published version (\S+),", caption.value)}
            pages.append((version, metrics(at)["Sent"]))
    finally:
        stop.set()
        publisher.join(timeout=60)
    assert not failures, failures
    assert len(source_of) >= 3, "the pipeline published under the page"
    for version, shown_sent in pages:
        assert shown_sent == sent[source_of[version]], version


def test_a_damaged_published_copy_is_one_message(tmp_path, monkeypatch):
    version = tmp_path / "publish" / "versions" / "20240611T060000000000Z"
    version.mkdir(parents=True)
    (version / "bi.duckdb").write_bytes(b"not a database\n" * 100)
    (tmp_path / "publish" / "current").symlink_to(Path("versions") / version.name)
    monkeypatch.setenv("CAMPAIGNS_PUBLISH", str(tmp_path / "publish"))
    at = run_page()
    [error] = at.error
    assert error.value.startswith(f"cannot open {version / 'bi.duckdb'}")
    assert "not a valid DuckDB database" in error.value


def test_sending_while_a_pipeline_step_holds_the_warehouse_says_to_try_again(site, monkeypatch):
    from orchestration.dashboard import send
    from orchestration.resources.warehouse import writer_lock

    monkeypatch.setattr(send, "LOCK_WAIT_SECONDS", 0.5)
    at = run_page()
    at.text_input(key="recipients").input("ana@example.com")
    at.button(key="send").click()
    with writer_lock(str(site["warehouse"]), timeout_seconds=5):  # what a dbt step holds
        run_page(at)
    assert "try again when it finishes" in at.error[0].value
    assert _sent_emails(site["outbox"]) == []
