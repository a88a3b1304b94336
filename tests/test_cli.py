"""The `campaigns` command as a user runs it: bad arguments end in one line, never a traceback."""

import os
import subprocess
import sys
from pathlib import Path

import pytest

CAMPAIGNS = str(Path(sys.executable).parent / "campaigns")


def run_cli(*args, env=None, tmp_path=None):
    environment = {**os.environ, **(env or {})}
    if tmp_path is not None:
        environment.setdefault("CAMPAIGNS_WAREHOUSE", str(tmp_path / "w.duckdb"))
        environment.setdefault("DAGSTER_HOME", str(tmp_path / "dagster_home"))
    return subprocess.run([CAMPAIGNS, *args], capture_output=True, text=True, env=environment, timeout=300)


@pytest.mark.parametrize(
    ("args", "message"),
    [
        ((), "required: command"),
        (("explode",), "invalid choice: 'explode'"),
        (("run", "--start", "2024-02-30"), "--start must be a date as YYYY-MM-DD, got '2024-02-30'"),
        (("run", "--start", "2024-06-02", "--end", "2024-06-01"), "--start 2024-06-02 is after --end 2024-06-01"),
        (("generate", "--days", "0"), "--days must be at least 1, got 0"),
        (("generate", "--reminders-per-day", "many"), "--reminders-per-day must be a whole number, got 'many'"),
        (("generate", "--start", "yesterday"), "--start must be a date as YYYY-MM-DD, got 'yesterday'"),
        (("report", "--start", "2024-06-01"), "--start and --end are both required (or --landed-range)"),
        (("report", "--landed-range", "--end", "2024-06-01"), "--landed-range replaces --start and --end"),
        (("report", "--start", "2024-06-01", "--end", "June"), "--end must be a date as YYYY-MM-DD, got 'June'"),
    ],
)
def test_bad_argument_gives_one_line_error_and_nonzero_exit(tmp_path, args, message):
    result = run_cli(*args, tmp_path=tmp_path)
    assert result.returncode != 0
    assert "Traceback" not in result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("campaigns: error: ") and message in lines[0], result.stderr


def test_unknown_time_zone_gives_one_line_error(tmp_path):
    result = run_cli("run", env={"CAMPAIGNS_TIMEZONE": "Mars/Olympus"}, tmp_path=tmp_path)
    assert result.returncode != 0
    assert result.stderr.strip().splitlines() == [
        "campaigns: error: unknown time zone 'Mars/Olympus': use an IANA name such as America/Sao_Paulo"]


def test_missing_landing_folder_gives_one_line_error(tmp_path):
    result = run_cli("run", env={"CAMPAIGNS_LANDING": str(tmp_path / "nowhere")}, tmp_path=tmp_path)
    assert result.returncode != 0
    assert result.stderr.strip().splitlines() == [
        f"campaigns: error: the landing folder {tmp_path / 'nowhere'} does not exist "
        "(set CAMPAIGNS_LANDING, or `campaigns generate` sample data)"]


def test_report_against_a_missing_warehouse_fails_in_one_line_and_creates_nothing(tmp_path, monkeypatch, capsys):
    from orchestration.cli import main

    warehouse = tmp_path / "nowhere" / "warehouse.duckdb"
    monkeypatch.setenv("CAMPAIGNS_WAREHOUSE", str(warehouse))
    monkeypatch.setenv("CAMPAIGNS_REPORTS", str(tmp_path / "reports"))
    monkeypatch.setenv("CAMPAIGNS_OUTBOX", str(tmp_path / "outbox"))
    monkeypatch.delenv("SENDGRID_API_KEY", raising=False)

    code = main(["report", "--start", "2024-06-25", "--end", "2024-06-25", "--to", "ops@shop.example"])

    assert code == 1
    assert capsys.readouterr().err.splitlines() == [
        f"campaigns: error: no warehouse at {warehouse}: build it first with `campaigns run`"]
    assert not warehouse.exists() and not warehouse.parent.exists()
    assert not (tmp_path / "reports").exists() and not (tmp_path / "outbox").exists()
