"""End to end on both engines (docs/spec.md section 7): on the same landing files, `campaigns run`
then `campaigns report` with CAMPAIGNS_ENGINE=spark give the published marts and the CSV that the
DuckDB engine gives; after more files land, a second spark run gives what a full build gives.

Slow: each spark run starts a JVM per load, one for dbt and one to serve the marts."""

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import duckdb
import pytest

from dbt_helpers import MARTS
from orchestration.settings import REPO_ROOT

FIRST_DAYS = ("dt=2024-06-01", "dt=2024-06-02", "dt=2024-06-03")
REPORT_RANGE = ("2024-06-01", "2024-06-03")


def campaigns(*args: str, env: dict[str, str], timeout: float = 1800) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "orchestration.cli", *args], capture_output=True, text=True,
                          env=env, cwd=REPO_ROOT, timeout=timeout)


def environment(root: Path, landing: Path, engine: str) -> dict[str, str]:
    env = {**os.environ, "CAMPAIGNS_ENGINE": engine, "CAMPAIGNS_LANDING": str(landing),
           "CAMPAIGNS_WAREHOUSE": str(root / "warehouse.duckdb"), "CAMPAIGNS_PUBLISH": str(root / "publish"),
           "CAMPAIGNS_REPORTS": str(root / "reports"), "CAMPAIGNS_OUTBOX": str(root / "outbox"),
           "DAGSTER_HOME": str(root / "dagster"), "CAMPAIGNS_TIMEZONE": "America/Sao_Paulo",
           "CAMPAIGNS_SPARK_MASTER": "local[2]", "CAMPAIGNS_SPARK_WAREHOUSE": str(root / "spark-warehouse")}
    env.pop("REPORT_RECIPIENTS", None)
    return env


def land(generated: Path, landing: Path, days) -> None:
    """Copy the generated files of the given received days into the landing zone."""
    for folder in generated.glob("*/dt=*"):
        if days is None or folder.name in days:
            shutil.copytree(folder, landing / folder.parent.name / folder.name, dirs_exist_ok=True)


def run_and_report(env: dict[str, str]) -> bytes:
    ran = campaigns("run", env=env)
    assert ran.returncode == 0, ran.stdout[-3000:] + ran.stderr[-3000:]
    served = f"publish: {len(MARTS)} marts served from Spark; "
    assert (served in ran.stdout) == (env["CAMPAIGNS_ENGINE"] == "spark"), ran.stdout
    reported = campaigns("report", "--start", REPORT_RANGE[0], "--end", REPORT_RANGE[1], "--to", "ops@shop.example",
                         env=env)
    assert reported.returncode == 0, reported.stderr[-3000:]
    return Path(env["CAMPAIGNS_REPORTS"], f"conversions_{REPORT_RANGE[0]}_{REPORT_RANGE[1]}.csv").read_bytes()


def published_marts(env: dict[str, str]) -> dict:
    """Each published mart's fingerprint (columns and types in order, rows, row-hash sum)."""
    return json.loads(Path(env["CAMPAIGNS_PUBLISH"], "current", "publication.json").read_text())["marts"]


def row_differences(expected: dict[str, str], actual: dict[str, str], mart: str) -> str:
    """The rows of one published mart that only one side holds: the message when they differ."""
    con = duckdb.connect()
    try:
        con.execute(f"ATTACH '{expected['CAMPAIGNS_PUBLISH']}/bi.duckdb' AS expected (READ_ONLY)")
        con.execute(f"ATTACH '{actual['CAMPAIGNS_PUBLISH']}/bi.duckdb' AS actual (READ_ONLY)")
        only_expected = con.execute(f"SELECT * FROM expected.marts.{mart} EXCEPT ALL "
                                    f"SELECT * FROM actual.marts.{mart} LIMIT 5").fetchall()
        only_actual = con.execute(f"SELECT * FROM actual.marts.{mart} EXCEPT ALL "
                                  f"SELECT * FROM expected.marts.{mart} LIMIT 5").fetchall()
    finally:
        con.close()
    return f"{mart}: only in the reference {only_expected}; only on spark {only_actual}"


def assert_same_marts(expected: dict[str, str], actual: dict[str, str]) -> None:
    reference, spark = published_marts(expected), published_marts(actual)
    assert set(spark) == set(reference) == set(MARTS)
    for mart in MARTS:
        assert spark[mart] == reference[mart], row_differences(expected, actual, mart)


@pytest.mark.slow
@pytest.mark.timeout(3600)  # two spark runs: about fifteen JVM starts, minutes on a busy machine
def test_spark_engine_publishes_and_reports_what_duckdb_does_and_a_later_run_equals_a_full_build(tmp_path):
    generated = tmp_path / "generated"
    made = campaigns("generate", "--out", str(generated), "--start", "2024-06-01", "--days", "4",
                     "--reminders-per-day", "30", "--seed", "5", "--no-progress", env=dict(os.environ))
    assert made.returncode == 0, made.stderr
    landing = tmp_path / "landing"
    land(generated, landing, FIRST_DAYS)

    on_duckdb = environment(tmp_path / "duckdb", landing, "duckdb")
    on_spark = environment(tmp_path / "spark", landing, "spark")
    csv_duckdb = run_and_report(on_duckdb)
    csv_spark = run_and_report(on_spark)

    assert_same_marts(on_duckdb, on_spark)
    assert published_marts(on_spark)["fct_conversions"]["rows"] > 0
    assert csv_spark == csv_duckdb
    assert csv_spark.count(b"\r\n") > 1  # a header and conversions: the comparison means something

    # More files land (the fourth day, and what it brings late for the days before): a second
    # run on spark absorbs them as a full build of everything does.
    land(generated, landing, None)
    again = campaigns("run", env=on_spark)
    assert again.returncode == 0, again.stdout[-3000:] + again.stderr[-3000:]
    full_build = environment(tmp_path / "full", landing, "duckdb")
    ran = campaigns("run", env=full_build)
    assert ran.returncode == 0, ran.stderr[-3000:]
    assert_same_marts(full_build, on_spark)
