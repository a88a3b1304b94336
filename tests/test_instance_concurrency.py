"""Two `campaigns run` started at once on a new $DAGSTER_HOME (a schedule tick and a user, two
terminals): Dagster's SQLite tables are created once, under a lock, and both runs succeed."""

import os
import re
import subprocess
import sys
from pathlib import Path

CAMPAIGNS = str(Path(sys.executable).parent / "campaigns")

OPEN_INSTANCE = """
from orchestration.instance import fail_orphaned_cli_runs, get_instance
from orchestration.settings import load_settings
instance = get_instance(load_settings())
fail_orphaned_cli_runs(instance)
print(len(instance.get_run_records()))
"""


def test_processes_opening_a_new_dagster_home_at_once_all_succeed(tmp_path):
    # Without the lock, four processes creating the tables at once collide nearly every time.
    for attempt in range(3):
        env = {**os.environ, "DAGSTER_HOME": str(tmp_path / f"home{attempt}")}
        processes = [subprocess.Popen([sys.executable, "-c", OPEN_INSTANCE], env=env, text=True,
                                      stdout=subprocess.PIPE, stderr=subprocess.PIPE) for _ in range(4)]
        outcomes = [(process.wait(timeout=300), process.stdout.read(), process.stderr.read()) for process in processes]
        for process in processes:
            process.stdout.close()
            process.stderr.close()
        assert [(code, out.strip()) for code, out, _ in outcomes] == [(0, "0")] * 4, [err for _, _, err in outcomes]


def test_two_campaigns_runs_at_once_on_a_new_dagster_home_both_succeed(tmp_path):
    env = {**os.environ, "CAMPAIGNS_LANDING": str(tmp_path / "landing"),
           "CAMPAIGNS_WAREHOUSE": str(tmp_path / "warehouse.duckdb"), "CAMPAIGNS_PUBLISH": str(tmp_path / "publish"),
           "DAGSTER_HOME": str(tmp_path / "dagster_home"), "CAMPAIGNS_TIMEZONE": "UTC"}
    generated = subprocess.run([CAMPAIGNS, "generate", "--out", env["CAMPAIGNS_LANDING"], "--days", "2",
                                "--reminders-per-day", "20", "--seed", "4", "--no-progress"],
                               env=env, capture_output=True, text=True, timeout=300)
    assert generated.returncode == 0, generated.stderr

    runs = [subprocess.Popen([CAMPAIGNS, "run"], env=env, text=True, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
            for _ in range(2)]
    try:
        outcomes = [run.communicate(timeout=900) for run in runs]
    finally:
        for run in runs:
            if run.poll() is None:
                run.kill()
                run.wait()
    for run, (out, err) in zip(runs, outcomes):
        assert run.returncode == 0, err
        assert "Traceback" not in err and "OperationalError" not in err
        assert re.search(r"^run [0-9a-f-]{36} succeeded", out, re.MULTILINE), out
    # Every file was loaded once, by one run or the other.
    new_files = [int(n) for out, _ in outcomes for n in re.findall(r"^run \S+ succeeded in \S+ s: (\d+) new files", out, re.M)]
    assert sum(new_files) == sum(1 for path in Path(env["CAMPAIGNS_LANDING"]).rglob("*.jsonl*"))
