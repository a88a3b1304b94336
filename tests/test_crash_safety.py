"""A run killed with SIGKILL in the middle of ingestion, or of the dbt build, then run again:
the marts equal those of a clean run, row for row, and no landing line is lost or loaded twice."""

import os
import signal
import subprocess
import sys
import threading
import time
from datetime import date
from pathlib import Path

import duckdb
import pytest

from orchestration.generate import generate

CAMPAIGNS = str(Path(sys.executable).parent / "campaigns")
MARTS = ("fct_reminders", "fct_conversions", "fct_clicks", "mart_daily_campaign_metrics", "mart_campaign_cohorts",
         "dim_campaigns", "dim_campaigns_history")


@pytest.fixture(scope="module")
def feeds(tmp_path_factory):
    landing = tmp_path_factory.mktemp("feeds") / "landing"
    generate(landing, date(2024, 6, 1), days=4, reminders_per_day=3000, seed=11, progress=False)
    return landing


def environment(tmp_path: Path, landing: Path, name: str) -> dict:
    return {**os.environ, "CAMPAIGNS_LANDING": str(landing), "CAMPAIGNS_WAREHOUSE": str(tmp_path / f"{name}.duckdb"),
            "DAGSTER_HOME": str(tmp_path / f"{name}_dagster"), "CAMPAIGNS_PUBLISH": str(tmp_path / f"{name}_publish")}


def run_to_completion(env: dict) -> None:
    result = subprocess.run([CAMPAIGNS, "run"], env=env, capture_output=True, text=True, timeout=600)
    assert result.returncode == 0, result.stderr[-3000:]


def run_and_kill_when(env: dict, marker: str, delay: float) -> None:
    """Start `campaigns run --verbose` (it prints Dagster's event log), SIGKILL its whole process
    group `delay` seconds after `marker` appears in that log."""
    process = subprocess.Popen([CAMPAIGNS, "run", "--verbose"], env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                               text=True, start_new_session=True)
    seen = threading.Event()

    def watch():
        for line in process.stdout:
            if marker in line:
                seen.set()

    threading.Thread(target=watch, daemon=True).start()
    assert seen.wait(timeout=300), f"never saw {marker!r}"
    time.sleep(delay)
    assert process.poll() is None, "the run finished before it could be killed: make the feeds larger"
    os.killpg(process.pid, signal.SIGKILL)
    process.wait(timeout=60)


def marts(env: dict) -> dict:
    con = duckdb.connect(env["CAMPAIGNS_WAREHOUSE"], read_only=True)
    try:
        return {m: con.execute(f"SELECT * FROM marts.{m} ORDER BY ALL").fetchall() for m in MARTS}
    finally:
        con.close()


def raw_lines(env: dict) -> tuple:
    con = duckdb.connect(env["CAMPAIGNS_WAREHOUSE"], read_only=True)
    try:
        return con.execute("""
            SELECT (SELECT count(*) FROM raw.sends), (SELECT count(*) FROM raw.whatsapp_statuses),
                   (SELECT count(*) FROM raw.orders), (SELECT count(*) FROM raw.rejected_records),
                   (SELECT count(*) FROM (SELECT _file, _line_number FROM raw.sends GROUP BY ALL HAVING count(*) > 1)),
                   (SELECT sum(lines) FROM raw.loaded_files)""").fetchone()
    finally:
        con.close()


@pytest.fixture(scope="module")
def clean(feeds, tmp_path_factory):
    env = environment(tmp_path_factory.mktemp("clean"), feeds, "clean")
    run_to_completion(env)
    return marts(env), raw_lines(env)


@pytest.mark.parametrize(("marker", "delay"), [
    ("STEP_START - Started execution of step \"load_whatsapp\"", 0.5),  # mid-ingestion
    ("Running dbt command", 6.0),  # mid-build
], ids=["killed_during_ingestion", "killed_during_dbt_build"])
def test_killed_run_then_rerun_equals_a_clean_run(feeds, clean, tmp_path, marker, delay):
    env = environment(tmp_path, feeds, "crashed")
    run_and_kill_when(env, marker, delay)
    run_to_completion(env)

    clean_marts, clean_raw = clean
    assert raw_lines(env) == clean_raw
    assert raw_lines(env)[4] == 0  # no landing line loaded twice
    assert marts(env) == clean_marts
