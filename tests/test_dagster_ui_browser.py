"""The Dagster UI in a real browser, as the admin clicks "Send report": the lineage shows every
layer's assets, the launchpad of `send_report_job` takes a range and a recipient, the run
succeeds and the email lands in the outbox.

A real `campaigns run` builds a small warehouse; `dagster-webserver` serves the code location on
a free port of 127.0.0.1 and `dagster-daemon` takes the launched run off the queue (the instance's
run coordinator queues runs); Debian's Chromium drives the UI through Playwright.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import psutil
import pytest
from browser import chromium_page, free_port

REPO = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent
UI_TIMEOUT_MS = 120_000

# The whole launchpad text, replaced: the test does not depend on the default config's shape.
REPORT_CONFIG = """\
ops:
  conversions_report:
    config:
      start_date: "2024-06-01"
      end_date: "2024-06-02"
      recipients: marketing@example.com
      force: false
"""

# Group -> assets the lineage must show in it.
LINEAGE = {
    "raw": ["campaign_events", "sends", "whatsapp_statuses", "clicks", "orders"],
    "staging": ["stg_campaign_engine__sends", "stg_vtex__order_versions"],
    "intermediate": ["int_reminders_tracked", "int_purchases_attributed"],
    "marts": ["fct_conversions", "mart_daily_campaign_metrics"],
    "publish": ["bi_marts"],
    "reporting": ["conversions_report"],
}


def _stop(process: subprocess.Popen) -> None:
    """Stop a server and everything it started (code servers), whatever state they are in."""
    try:
        family = [process.pid] + [child.pid for child in psutil.Process(process.pid).children(recursive=True)]
    except psutil.NoSuchProcess:
        family = [process.pid]
    for signal_ in (signal.SIGTERM, signal.SIGKILL):
        try:
            os.killpg(process.pid, signal_)
        except ProcessLookupError:
            pass
        for pid in family:
            try:
                os.kill(pid, signal_)
            except ProcessLookupError:
                pass
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            continue
        if not any(psutil.pid_exists(pid) and psutil.Process(pid).status() != psutil.STATUS_ZOMBIE
                   for pid in family[1:]):
            return


def _wait_for_http(url: str, server: subprocess.Popen, log: Path, timeout: float = 120) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if server.poll() is not None:
            pytest.fail(f"the webserver exited ({server.returncode}): {log.read_text()[-2000:]}")
        try:
            with urllib.request.urlopen(url, timeout=5) as response:
                if response.status == 200:
                    return
        except OSError:
            time.sleep(1)
    pytest.fail(f"the webserver did not answer {url} in {timeout} s: {log.read_text()[-2000:]}")


@pytest.fixture
def dagster_ui(tmp_path):
    """A built warehouse, the Dagster webserver and daemon on it; yields (url, env)."""
    env = {**os.environ,
           "CAMPAIGNS_LANDING": str(tmp_path / "landing"), "CAMPAIGNS_WAREHOUSE": str(tmp_path / "warehouse.duckdb"),
           "CAMPAIGNS_PUBLISH": str(tmp_path / "publish"), "CAMPAIGNS_REPORTS": str(tmp_path / "reports"),
           "CAMPAIGNS_OUTBOX": str(tmp_path / "outbox"), "DAGSTER_HOME": str(tmp_path / "dagster_home"),
           "CAMPAIGNS_TIMEZONE": "UTC"}
    env.pop("SENDGRID_API_KEY", None)  # the email goes to the outbox
    env.pop("REPORT_RECIPIENTS", None)
    for args in (["generate", "--out", env["CAMPAIGNS_LANDING"], "--start", "2024-06-01", "--days", "2",
                  "--reminders-per-day", "30", "--seed", "3", "--no-progress"], ["run"]):
        done = subprocess.run([str(BIN / "campaigns"), *args], env=env, capture_output=True, text=True, timeout=600)
        assert done.returncode == 0, done.stderr

    port = free_port()
    servers = []
    try:
        for name, command in (
            ("webserver", [str(BIN / "dagster-webserver"), "-h", "127.0.0.1", "-p", str(port), "-w", "workspace.yaml"]),
            ("daemon", [str(BIN / "dagster-daemon"), "run", "-w", "workspace.yaml"]),
        ):
            log = tmp_path / f"{name}.log"
            with open(log, "w") as out:
                servers.append((subprocess.Popen(command, cwd=REPO, env=env, stdout=out, stderr=subprocess.STDOUT,
                                                 start_new_session=True), log))
        _wait_for_http(f"http://127.0.0.1:{port}/server_info", *servers[0])
        yield f"http://127.0.0.1:{port}", env, servers
    finally:
        for server, _ in servers:
            _stop(server)


def _skip_the_community_dialog(page) -> None:
    """The first visit on a new $DAGSTER_HOME asks to join the Dagster community: skip it."""
    skip = page.get_by_role("button", name="Skip")
    try:
        page.get_by_text("Join the Dagster community").wait_for(timeout=30_000)
    except Exception:  # noqa: BLE001 - not shown (already dismissed): nothing to skip
        return
    skip.click()
    page.get_by_text("Join the Dagster community").wait_for(state="hidden", timeout=10_000)


def _check_lineage(page, base: str) -> None:
    page.goto(f"{base}/asset-groups")
    page.get_by_text("Global asset lineage").wait_for(timeout=UI_TIMEOUT_MS)
    _skip_the_community_dialog(page)
    # Each group is a node of the graph and an entry of the sidebar.
    deadline = time.monotonic() + 60
    while any(page.get_by_text(group, exact=True).count() < 2 for group in LINEAGE):
        assert time.monotonic() < deadline, f"the lineage lacks a group of {sorted(LINEAGE)}"
        page.wait_for_timeout(500)
    for group, assets in LINEAGE.items():
        page.get_by_text(group, exact=True).first.click()
        page.keyboard.press("ArrowRight")  # expand the group in the sidebar
        for asset in assets:
            page.get_by_text(asset, exact=True).first.wait_for(timeout=30_000)
        page.keyboard.press("ArrowLeft")


def _launch_send_report(page, base: str) -> str:
    page.goto(f"{base}/locations/campaigns/jobs/send_report_job/playground")
    _skip_the_community_dialog(page)
    editor = page.locator(".CodeMirror")
    editor.wait_for(timeout=UI_TIMEOUT_MS)
    editor.click()
    page.keyboard.press("Control+A")
    page.keyboard.insert_text(REPORT_CONFIG)
    assert page.evaluate("() => document.querySelector('.CodeMirror').CodeMirror.getValue()") == REPORT_CONFIG
    page.get_by_text("No errors").wait_for(timeout=30_000)
    page.get_by_role("button", name="Launch Run").click()
    page.wait_for_url("**/runs/*", timeout=60_000)
    return page.url.rstrip("/").rsplit("/", 1)[1]


def _wait_for_success(page, timeout_s: float = 180) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if page.get_by_text("Success", exact=True).count():
            return
        if page.get_by_text("Failure", exact=True).count():
            pytest.fail("the run failed in the UI")
        page.wait_for_timeout(1000)
    pytest.fail(f"the run did not succeed in {timeout_s} s")


def test_send_report_from_the_dagster_ui(dagster_ui, tmp_path):
    base, env, servers = dagster_ui
    with chromium_page() as page:
        page.set_default_timeout(UI_TIMEOUT_MS)
        try:
            _check_lineage(page, base)
            run_id = _launch_send_report(page, base)
            _wait_for_success(page)
        except BaseException:
            page.screenshot(path=str(tmp_path / "failure.png"))
            logs = "\n".join(f"--- {log.name}\n{log.read_text()[-1500:]}" for _, log in servers)
            print(f"screenshot: {tmp_path / 'failure.png'}\n{logs}")
            raise

    import dagster as dg

    # The UI said Success; the instance agrees once the run's process has recorded its end.
    instance = dg.DagsterInstance.from_config(env["DAGSTER_HOME"])
    deadline = time.monotonic() + 60
    while (run := instance.get_run_by_id(run_id)).status not in (dg.DagsterRunStatus.SUCCESS,
                                                                 dg.DagsterRunStatus.FAILURE):
        assert time.monotonic() < deadline, run.status
        time.sleep(1)
    assert run.job_name == "send_report_job" and run.status == dg.DagsterRunStatus.SUCCESS
    assert run.run_config["ops"]["conversions_report"]["config"]["recipients"] == "marketing@example.com"

    emails = list(Path(env["CAMPAIGNS_OUTBOX"]).glob("*.eml"))
    assert len(emails) == 1 and "_2024-06-01_to_2024-06-02_" in emails[0].name, emails
    assert "To: marketing@example.com" in emails[0].read_text()
