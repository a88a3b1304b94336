"""`campaigns run` as a user sees it: one line per step as it goes and a summary, not Dagster's
event log (`--verbose` prints that too)."""

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

CAMPAIGNS = str(Path(sys.executable).parent / "campaigns")


def campaigns(*args, env, timeout=600):
    return subprocess.run([CAMPAIGNS, *args], capture_output=True, text=True, env=env, timeout=timeout)


@pytest.fixture
def tiny_landing(tmp_path):
    """A tiny generated landing zone and the environment a `campaigns run` on it needs."""
    env = {**os.environ, "CAMPAIGNS_LANDING": str(tmp_path / "landing"),
           "CAMPAIGNS_WAREHOUSE": str(tmp_path / "warehouse.duckdb"), "CAMPAIGNS_PUBLISH": str(tmp_path / "publish"),
           "DAGSTER_HOME": str(tmp_path / "dagster_home"), "CAMPAIGNS_TIMEZONE": "UTC"}
    generated = campaigns("generate", "--out", env["CAMPAIGNS_LANDING"], "--start", "2024-06-01", "--days", "2",
                          "--reminders-per-day", "30", "--seed", "3", "--no-progress", env=env)
    assert generated.returncode == 0, generated.stderr
    return env


STEP_LINE = {
    "load": re.compile(r"^load_(campaigns|clicks|orders|sends|whatsapp): [\d,]+ new files, [\d,]+ lines, "
                       r"[\d,]+ rows loaded, [\d,]+ rejected \(\d+\.\d s\)$"),
    "dbt": re.compile(r"^dbt build: \d+ models, \d+ tests passed, 0 warnings \(\d+\.\d s\)$"),
    "publish": re.compile(r"^publish: \d+ marts \(\d+ re-exported\) → (.+) \(\d+\.\d s\)$"),
}


def test_run_prints_a_line_per_step_a_warning_and_a_summary(tiny_landing, tmp_path):
    env = tiny_landing
    # Three more malformed sends: 4 of 64 lines rejected, more than chance at 1%: a warning.
    extra = Path(env["CAMPAIGNS_LANDING"], "sends", "dt=2024-06-02", "extra.jsonl")
    extra.write_text("{bad\n{bad\n{bad\n")

    result = campaigns("run", env=env)
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert "DEBUG" not in result.stdout + result.stderr
    assert "Running with dbt" not in result.stdout  # dbt's own log goes to the run's captured logs

    loads = [line for line in lines if line.startswith("load_")]
    assert [STEP_LINE["load"].match(line).group(1) for line in loads] == [
        "campaigns", "clicks", "orders", "sends", "whatsapp"]
    assert "load_sends: 5 new files, 64 lines, 60 rows loaded, 4 rejected (" in lines[lines.index(loads[3])]
    warning = lines[lines.index(loads[3]) + 1]
    assert warning == "  check warning: raw/sends rejected_rate: 6.2% of the lines were rejected (over 1%)"
    dbt = [line for line in lines if line.startswith("dbt build:")]
    assert len(dbt) == 1 and STEP_LINE["dbt"].match(dbt[0]), lines
    publish = [line for line in lines if line.startswith("publish:")]
    assert len(publish) == 1 and STEP_LINE["publish"].match(publish[0]).group(1) == env["CAMPAIGNS_PUBLISH"]
    # Steps, then the summary: where to look.
    summary = lines[lines.index(publish[0]) + 1:]
    run_id = re.match(r"^run ([0-9a-f-]{36}) succeeded in \d+\.\d s: 18 new files, 217 lines \(8 rejected\), "
                      r"\d+ models built, \d+ checks passed, 1 warnings$", summary[0]).group(1)
    assert summary[1:] == [
        f"  warehouse  {env['CAMPAIGNS_WAREHOUSE']}",
        f"  BI copy    {env['CAMPAIGNS_PUBLISH']} (bi.duckdb, current/<mart>.parquet, current/<fact>/<day>.parquet)",
        f"  the UI     `campaigns ui` (or `make ui`), then http://127.0.0.1:3000/runs/{run_id}",
    ]
    assert len(lines) == 5 + 1 + 1 + 1 + 4
    # The run and its full event log are in $DAGSTER_HOME for the UI.
    assert Path(env["DAGSTER_HOME"], "storage", run_id).is_dir()

    # Nothing new: the run says so at once, without starting Dagster, and changes nothing.
    published = sorted(p.name for p in Path(env["CAMPAIGNS_PUBLISH"], "versions").iterdir())
    again = campaigns("run", env=env)
    assert again.returncode == 0, again.stderr
    assert again.stdout.splitlines()[0].startswith(
        "nothing to do: no new landing file, and the marts and their published copy are up to date (raw batch ")
    assert sorted(p.name for p in Path(env["CAMPAIGNS_PUBLISH"], "versions").iterdir()) == published
    assert len(list(Path(env["DAGSTER_HOME"], "storage").iterdir())) == 1  # no second run

    # One more file: a run again, here with Dagster's event log too.
    Path(env["CAMPAIGNS_LANDING"], "clicks", "dt=2024-06-03").mkdir()
    Path(env["CAMPAIGNS_LANDING"], "clicks", "dt=2024-06-03", "late.jsonl").write_text("{bad\n")
    verbose = campaigns("run", "--verbose", env=env)
    assert verbose.returncode == 0, verbose.stderr
    assert re.search(r"DEBUG - campaigns_pipeline - [0-9a-f-]{36} - \d+ - load_sends - STEP_SUCCESS", verbose.stderr)
    assert "Running with dbt" in verbose.stdout
    assert "load_sends: 0 new files, 0 lines, 0 rows loaded, 0 rejected (" in verbose.stdout


def test_a_failed_check_stops_the_run_with_its_lines_and_one_error_line(tiny_landing):
    env = tiny_landing
    # A feed that is mostly garbage: 40 malformed lines among 61 sends.
    Path(env["CAMPAIGNS_LANDING"], "sends", "dt=2024-06-02", "junk.jsonl").write_text("{bad\n" * 40)

    result = campaigns("run", env=env)
    assert result.returncode == 1
    lines = result.stdout.splitlines()
    failed = lines.index(next(line for line in lines if line.startswith("load_sends:")))
    assert re.match(r"^load_sends: FAILED after \d+\.\d s: raw/sends: rejected_rate$", lines[failed])
    assert lines[failed + 1] == ("  check FAILED: raw/sends rejected_rate: 40.6% of the lines were rejected "
                                 "(over 10%): see raw.rejected_records before trusting the marts")
    assert lines[-2:] == ["dbt build: not run (a step or a blocking check before it failed)",
                          "publish: not run (a step or a blocking check before it failed)"]
    assert len([line for line in lines if STEP_LINE["load"].match(line)]) == 4
    errors = result.stderr.splitlines()
    assert len(errors) == 1 and re.match(
        r"^campaigns: error: run [0-9a-f-]{36} failed at load_sends: raw/sends: rejected_rate "
        r"\(details in the Dagster UI: `campaigns ui`\)$", errors[0]), result.stderr
