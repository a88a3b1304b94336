"""The overview page as a user meets it: `campaigns dashboard` on a free port, Debian's Chromium
through Playwright, over a hand-made published copy. Also the command's bad arguments."""

from __future__ import annotations

import io
import os
import shutil
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from datetime import date
from pathlib import Path

import duckdb
import pytest

import overview_marts
from browser import chromium_page, free_port
from orchestration.dashboard import overview
from orchestration.reporting.csv_export import export_conversions_csv
from orchestration.days import DayRange
from orchestration.settings import REPO_ROOT
from overview_marts import expected_figures

CAMPAIGNS = str(Path(sys.executable).parent / "campaigns")
# The README's picture. A test run writes its screenshot in its own folder, and over this file
# only when asked (UPDATE_SCREENSHOT=1 make test), so `make test` leaves the checkout unchanged.
README_SCREENSHOT = REPO_ROOT / "docs" / "overview.png"
SCREENSHOT_WIDTH = 1100  # pixels: small enough for the README, big enough to read


@pytest.fixture
def site(tmp_path: Path) -> dict[str, Path]:
    paths = {"warehouse": tmp_path / "warehouse.duckdb", "publish": tmp_path / "publish",
             "reports": tmp_path / "reports", "outbox": tmp_path / "outbox"}
    overview_marts.make_warehouse(paths["warehouse"])
    overview_marts.publish(paths["warehouse"], paths["publish"])
    return paths


def _environment(site: dict[str, Path]) -> dict[str, str]:
    return {**os.environ, "CAMPAIGNS_TIMEZONE": "UTC",
            **{f"CAMPAIGNS_{name.upper()}": str(path) for name, path in site.items()}}


@pytest.fixture
def dashboard(site, tmp_path) -> Iterator[str]:
    """`campaigns dashboard --port <free>` running; its URL. Always stopped afterwards."""
    port = free_port()
    log = open(tmp_path / "dashboard.log", "w")
    server = subprocess.Popen([CAMPAIGNS, "dashboard", "--port", str(port)], env=_environment(site),
                              stdout=log, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 90
        while True:
            try:
                if urllib.request.urlopen(f"{url}/_stcore/health", timeout=2).read() == b"ok":
                    break
            except OSError:
                pass
            assert server.poll() is None, (tmp_path / "dashboard.log").read_text()[-2000:]
            assert time.monotonic() < deadline, "the page did not start within 90 s"
            time.sleep(0.3)
        yield url
    finally:
        server.terminate()
        try:
            server.wait(timeout=20)
        except subprocess.TimeoutExpired:
            server.kill()
            server.wait()
        log.close()


def shown_metrics(page) -> dict[str, str]:
    labels = page.locator('[data-testid="stMetricLabel"]').all_inner_texts()
    values = page.locator('[data-testid="stMetricValue"]').all_inner_texts()
    return {label.strip(): value.strip() for label, value in zip(labels, values)}


def expected_metrics(database: Path, start: date, end: date) -> dict[str, str]:
    expected = expected_figures(database, start, end)
    shown = {label: f"{expected[name]:,}" for name, label in overview.COUNTS}
    for currency, (total, through) in expected["values"].items():
        shown[f"Conversion value ({currency})"] = f"{total:,.2f}"
        shown[f"Click-through value ({currency})"] = f"{through:,.2f}"
    return shown


def wait_for_figures(page, expected: dict[str, str], seconds: float = 60) -> dict[str, str]:
    """The page's figures once they show `expected` (a rerun takes a moment), else as they are."""
    deadline = time.monotonic() + seconds
    while True:
        shown = shown_metrics(page)
        if all(shown.get(label) == value for label, value in expected.items()) \
                or time.monotonic() > deadline:
            return {label: shown.get(label) for label in expected}
        page.wait_for_timeout(250)


def wait_until_idle(page) -> None:
    """Until the script run is over: a button of the previous run is stale once it ends."""
    page.wait_for_selector('[data-testid="stStatusWidget"]', state="hidden", timeout=60_000)
    page.wait_for_timeout(300)


def save_screenshot(page, path: Path) -> Path:
    from PIL import Image

    image = Image.open(io.BytesIO(page.screenshot()))
    height = round(image.height * SCREENSHOT_WIDTH / image.width)
    small = image.convert("RGB").resize((SCREENSHOT_WIDTH, height), Image.LANCZOS)
    small = small.quantize(colors=64, method=Image.Quantize.MEDIANCUT)
    small.save(path, optimize=True)
    if os.environ.get("UPDATE_SCREENSHOT") == "1":
        shutil.copyfile(path, README_SCREENSHOT)
    return path


def test_the_page_shows_the_marts_and_follows_the_date_picker(site, dashboard, tmp_path):
    with chromium_page(width=1400, height=1750) as page:
        page.goto(dashboard)
        page.wait_for_selector('[data-testid="stMetricValue"]', timeout=60_000)
        default = expected_metrics(site["warehouse"], date(2024, 6, 4), date(2024, 6, 10))
        assert wait_for_figures(page, default) == default
        page.wait_for_selector('[data-testid="stVegaLiteChart"]', timeout=30_000)
        page.wait_for_timeout(1000)  # the charts draw after they mount
        screenshot = save_screenshot(page, tmp_path / "overview.png")

        # Pick 2 to 3 June in the calendar.
        page.get_by_test_id("stDateInputCalendarButton").click()
        calendar = page.get_by_test_id("stDateInputCalendar")
        calendar.get_by_label("Sunday, June 2, 2024", exact=True).click()
        calendar.get_by_label("Monday, June 3, 2024", exact=True).click()
        picked = expected_metrics(site["warehouse"], date(2024, 6, 2), date(2024, 6, 3))
        assert picked != default
        assert wait_for_figures(page, picked) == picked
        wait_until_idle(page)

        # The download is the report CSV of the picked range, byte for byte.
        with page.expect_download() as download:
            page.get_by_text("Download the report CSV").click()
        assert download.value.suggested_filename == "conversions_2024-06-02_2024-06-03.csv"
        con = duckdb.connect(str(site["warehouse"]), read_only=True)
        report = export_conversions_csv(con, DayRange(date(2024, 6, 2), date(2024, 6, 3)),
                                        tmp_path / "reports")
        con.close()
        assert Path(download.value.path()).read_bytes() == report.read_bytes()
    assert screenshot.stat().st_size <= 200_000


def test_a_reload_after_a_new_publication_shows_the_new_version(site, dashboard, tmp_path):
    with chromium_page() as page:
        page.goto(dashboard)
        page.wait_for_selector('[data-testid="stMetricValue"]', timeout=60_000)
        first = expected_metrics(site["warehouse"], date(2024, 6, 4), date(2024, 6, 10))
        assert wait_for_figures(page, first) == first
        # The pipeline publishes a version with one more day of sends.
        con = duckdb.connect(str(site["warehouse"]))
        con.execute("UPDATE marts.mart_daily_campaign_metrics SET messages_sent = messages_sent + 100 "
                    "WHERE metric_date = '2024-06-10' AND campaign_id = 'cmp_cart_es'")
        con.close()
        publication = overview_marts.publish(site["warehouse"], site["publish"])
        page.reload()
        page.wait_for_selector('[data-testid="stMetricValue"]', timeout=60_000)
        second = {**first, "Sent": f"{int(first['Sent'].replace(',', '')) + 100:,}"}
        assert wait_for_figures(page, second) == second
        assert page.get_by_text(publication.version, exact=False).count() == 1


@pytest.mark.parametrize(("port", "message"), [
    ("0", "--port must be at least 1, got 0"),
    ("70000", "--port must be at most 65535, got 70000"),
    ("web", "--port must be a whole number, got 'web'"),
])
def test_a_bad_port_is_one_line(port, message):
    result = subprocess.run([CAMPAIGNS, "dashboard", "--port", port], capture_output=True, text=True,
                            timeout=60)
    assert result.returncode == 2
    assert result.stderr.strip().splitlines() == [f"campaigns: error: argument --port: {message} "
                                                  "(see `campaigns dashboard --help`)"]


def test_a_port_in_use_is_one_line():
    import socket

    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        result = subprocess.run([CAMPAIGNS, "dashboard", "--port", str(port)], capture_output=True,
                                text=True, timeout=60)
    assert result.returncode == 1
    assert result.stderr.strip().splitlines() == [
        f"campaigns: error: port {port} on 127.0.0.1 is in use: pick another with --port"]
