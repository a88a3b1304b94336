"""The engine the pipeline runs on ($CAMPAIGNS_ENGINE, docs/spec.md section 7): DuckDB, or Spark.

On Spark, the Dagster run process never starts a JVM: the embedded Derby metastore of a local
Spark warehouse takes one process at a time, and dbt-spark starts its own Spark inside the dbt
subprocess. Each Spark part of a step runs in a child process instead
(`python -m orchestration.spark.worker <task>`, JSON in on stdin, JSON out on stdout), which
stops its JVM before it returns. The child's own output (Spark's log, a traceback) goes to a log
file under `log_dir`; the step gets one line.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime, timezone
from pathlib import Path

import dagster as dg

from orchestration.resources.warehouse import writer_lock
from orchestration.settings import REPO_ROOT, SettingsError, java_command  # noqa: F401 (re-exported)

DUCKDB = "duckdb"
SPARK = "spark"
WORKER_MODULE = "orchestration.spark.worker"


class JavaMissing(SettingsError):
    """The spark engine is chosen but this machine has no Java runtime; one line for the user."""


class SparkTaskFailed(RuntimeError):
    """A Spark worker task failed; the message is one line, the detail is in its log file."""


def require_java() -> None:
    if java_command() is None:
        raise JavaMissing("CAMPAIGNS_ENGINE=spark needs a Java 17 runtime, and there is no java on PATH "
                          "nor in $JAVA_HOME (install openjdk-17-jre-headless, or use CAMPAIGNS_ENGINE=duckdb)")


def is_local(location: str) -> bool:
    return "://" not in location or location.startswith("file://")


class Engine(dg.ConfigurableResource):
    """Where the pipeline's data work runs: `duckdb` (the warehouse file, in process) or `spark`
    (Spark at `spark_master`, its tables under `spark_warehouse`)."""

    name: str = DUCKDB
    spark_master: str = "local[*]"
    spark_warehouse: str = str(REPO_ROOT / "data" / "spark-warehouse")
    log_dir: str = str(REPO_ROOT / ".dagster_home" / "spark-logs")
    lock_timeout_seconds: float = 3600.0

    @property
    def is_spark(self) -> bool:
        return self.name == SPARK

    @contextmanager
    def spark_lock(self) -> Iterator[None]:
        """One Spark process at a time on a local Spark warehouse (its embedded Derby metastore
        takes one); a cluster's shared metastore needs no lock here."""
        if not is_local(self.spark_warehouse):
            yield
            return
        with writer_lock(self.spark_warehouse.rstrip("/"), self.lock_timeout_seconds):
            yield

    @contextmanager
    def scratch(self, label: str) -> Iterator[str]:
        """A folder for the files a task hands over (Parquet), beside the Spark tables so that a
        cluster reaches it too; removed afterwards."""
        folder = f"{self.spark_warehouse.rstrip('/')}/_scratch/{label}-{uuid.uuid4().hex[:12]}"
        if is_local(folder):
            Path(folder).mkdir(parents=True, exist_ok=True)
        try:
            yield folder
        finally:
            if is_local(folder):
                shutil.rmtree(folder, ignore_errors=True)

    def run_task(self, task: str, arguments: dict, label: str | None = None) -> dict:
        """Run one worker task in a child process, under the Spark lock; its result, or a
        SparkTaskFailed with one line."""
        require_java()
        log = self._log_path(label or task)
        payload = json.dumps({"master": self.spark_master, "warehouse": self.spark_warehouse, **arguments})
        with self.spark_lock(), open(log, "w") as log_file:
            completed = subprocess.run([sys.executable, "-m", WORKER_MODULE, task], input=payload,
                                       stdout=subprocess.PIPE, stderr=log_file, text=True, cwd=REPO_ROOT)
        return parse_reply(task, completed.returncode, completed.stdout, log)

    def _log_path(self, label: str) -> Path:
        folder = Path(self.log_dir)
        folder.mkdir(parents=True, exist_ok=True)
        stamp = datetime.now(timezone.utc).strftime("%Y%m%dT%H%M%S%fZ")
        return folder / f"{stamp}-{label}.log"


def parse_reply(task: str, returncode: int, stdout: str, log: Path) -> dict:
    """The worker's JSON reply: its result, or its one-line error as SparkTaskFailed."""
    try:
        reply = json.loads(stdout.strip().splitlines()[-1]) if stdout.strip() else {}
    except ValueError:
        reply = {}
    if returncode == 0 and reply.get("ok"):
        return reply["result"]
    error = reply.get("error") or f"the worker exited with code {returncode} and no reply"
    raise SparkTaskFailed(f"spark {task}: {error} (Spark's log: {log})")
