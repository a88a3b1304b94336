"""The Spark worker's protocol (orchestration/spark/worker.py): JSON in on stdin, one JSON line
out on stdout, one line for any failure (the detail in the log file), and no JVM left behind.
Only the last test starts a JVM (about 15 s)."""

import json
import os
import subprocess
import sys

import psutil
import pytest

from orchestration.resources.engine import Engine, JavaMissing, SparkTaskFailed
from orchestration.settings import REPO_ROOT


def run_worker(task: str, stdin: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "orchestration.spark.worker", task], input=stdin,
                          capture_output=True, text=True, cwd=REPO_ROOT, timeout=300)


def test_arguments_that_are_not_json_get_a_one_line_reply_and_exit_code_1():
    completed = run_worker("serve", "{not json")

    assert completed.returncode == 1
    reply, = completed.stdout.splitlines()
    assert json.loads(reply) == {"ok": False, "error": json.loads(reply)["error"]}
    assert json.loads(reply)["error"].startswith("the arguments on stdin are not JSON")
    assert "Traceback" in completed.stderr  # the detail is for the log, not the reply


def test_an_unknown_task_fails_in_one_line_with_the_detail_in_the_log(tmp_path):
    engine = Engine(name="spark", spark_warehouse=str(tmp_path / "spark"), log_dir=str(tmp_path / "logs"))

    with pytest.raises(SparkTaskFailed) as failure:
        engine.run_task("compact", {})

    message = str(failure.value)
    assert "\n" not in message
    assert message.startswith("spark compact: unknown task 'compact': use one of load, serve (Spark's log: ")
    log, = (tmp_path / "logs").iterdir()
    assert "Traceback" in log.read_text() and str(log) in message


def test_without_java_the_spark_engine_says_so_in_one_line(tmp_path, monkeypatch):
    monkeypatch.setenv("PATH", str(tmp_path))
    monkeypatch.delenv("JAVA_HOME", raising=False)
    engine = Engine(name="spark", spark_warehouse=str(tmp_path / "spark"), log_dir=str(tmp_path / "logs"))

    with pytest.raises(JavaMissing, match="^CAMPAIGNS_ENGINE=spark needs a Java 17 runtime"):
        engine.run_task("serve", {"scratch_dir": str(tmp_path), "marts": ["fct_conversions"]})
    assert not (tmp_path / "logs").exists()  # nothing was started


def test_campaigns_run_on_spark_without_java_is_a_one_line_error(tmp_path):
    (tmp_path / "landing").mkdir()
    env = {**os.environ, "PATH": str(tmp_path), "CAMPAIGNS_ENGINE": "spark",
           "CAMPAIGNS_LANDING": str(tmp_path / "landing"), "DAGSTER_HOME": str(tmp_path / "dagster")}
    env.pop("JAVA_HOME", None)
    completed = subprocess.run([sys.executable, "-m", "orchestration.cli", "run"], capture_output=True,
                               text=True, cwd=REPO_ROOT, env=env, timeout=300)

    assert completed.returncode == 1
    assert completed.stderr.startswith("campaigns: error: CAMPAIGNS_ENGINE=spark needs a Java 17 runtime")
    assert len(completed.stderr.strip().splitlines()) == 1


def _jvms_of(warehouse: str) -> list[psutil.Process]:
    found = []
    for process in psutil.process_iter(["cmdline"]):
        if any(warehouse in part for part in process.info["cmdline"] or []):
            found.append(process)
    return found


def test_a_failing_spark_task_replies_in_one_line_after_its_jvm_has_exited(tmp_path):
    warehouse = str(tmp_path / "spark-warehouse")
    engine = Engine(name="spark", spark_master="local[1]", spark_warehouse=warehouse,
                    log_dir=str(tmp_path / "logs"))

    with pytest.raises(SparkTaskFailed) as failure:
        with engine.scratch("serve") as scratch:
            engine.run_task("serve", {"scratch_dir": scratch, "marts": ["fct_conversions", "dim_campaigns"]})

    assert str(failure.value).startswith(
        "spark serve: the Spark warehouse has no marts.fct_conversions, marts.dim_campaigns: the dbt build did not make it")
    # The JVM (its command line names the warehouse: the metastore's folder) is gone, and with
    # it the metastore's lock: the next Spark process may open the warehouse.
    assert _jvms_of(warehouse) == []
    assert not (tmp_path / "spark-warehouse" / "_scratch").exists() or \
        not any((tmp_path / "spark-warehouse" / "_scratch").iterdir())
