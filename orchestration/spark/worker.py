"""`python -m orchestration.spark.worker <task>`: one Spark part of a pipeline step, in a process
of its own (orchestration/resources/engine.py says why).

The arguments come as one JSON object on stdin: `master` and `warehouse` (where Spark runs and
keeps its tables) and the task's own. The reply is one JSON line on stdout:
`{"ok": true, "result": {...}}`, or `{"ok": false, "error": "<one line>"}` with exit code 1.
Everything else the process writes (Spark's log, a traceback) goes to stderr, which the caller
keeps in a log file. The JVM has exited before the reply is written.

Tasks:
- `load` (`landing`, `source_name`, `scratch_dir`): load one source's new landing files into the
  Spark raw layer; the LoadResult's fields and the source's health checks.
- `serve` (`scratch_dir`, `marts`): each mart as Parquet under `scratch_dir/<mart>/`, with its
  Spark columns (orchestration/spark/serving.py).
"""

from __future__ import annotations

import dataclasses
import json
import os
import subprocess
import sys
import traceback

JVM_EXIT_SECONDS = 60


class TaskError(Exception):
    """A failure the task explains itself, in one line."""


def load(arguments: dict) -> dict:
    # The ingestion module is imported only when a load runs (its own branch of the code).
    from orchestration.spark.ingestion import health_checks, load_source

    spark = _session(arguments)
    result = load_source(spark, _required(arguments, "landing"), _required(arguments, "source_name"),
                         _required(arguments, "scratch_dir"))
    checks = health_checks(spark, arguments["source_name"], result)
    return {"result": dataclasses.asdict(result),
            "checks": {name: {"passed": bool(outcome.passed), "severity": outcome.severity,
                              "description": outcome.description, "metadata": dict(outcome.metadata or {})}
                       for name, outcome in checks.items()}}


def serve(arguments: dict) -> dict:
    from orchestration.spark.serving import export_marts

    marts = _required(arguments, "marts")
    return {"marts": export_marts(_session(arguments), _required(arguments, "scratch_dir"), list(marts))}


TASKS = {"load": load, "serve": serve}


def _required(arguments: dict, name: str):
    value = arguments.get(name)
    if value in (None, ""):
        raise TaskError(f"the argument {name!r} is missing")
    return value


def _session(arguments: dict):
    from orchestration.spark.session import spark_session

    spark = spark_session(_required(arguments, "master"), _required(arguments, "warehouse"))
    spark.sparkContext.setLogLevel("WARN")
    return spark


def stop_spark() -> None:
    """Stop this process's Spark, if it started one, and wait until its JVM has exited: the next
    Spark process on a local warehouse needs the metastore this one holds."""
    if "pyspark" not in sys.modules:
        return
    from pyspark import SparkContext
    from pyspark.sql import SparkSession

    gateway = SparkContext._gateway
    session = SparkSession.getActiveSession() if SparkContext._active_spark_context else None
    try:
        if session is not None:
            session.stop()
        elif SparkContext._active_spark_context is not None:
            SparkContext._active_spark_context.stop()
    except Exception:  # a JVM that died already: its process is still waited for below
        traceback.print_exc()
    if gateway is None:
        return
    try:
        gateway.shutdown()
    except Exception:
        traceback.print_exc()
    process = getattr(gateway, "proc", None)
    if process is not None:
        # The JVM exits when its stdin closes (PythonGatewayServer); kill it if it does not.
        try:
            process.stdin.close()
            process.wait(timeout=JVM_EXIT_SECONDS)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
    SparkContext._gateway = None
    SparkContext._jvm = None


def one_line(error: BaseException) -> str:
    """What went wrong, in one line: our own message, or the JVM's exception without its trace."""
    ours = type(error).__module__.startswith("orchestration.") or isinstance(error, TaskError)
    lines = [line.strip() for line in str(error).splitlines() if line.strip()]
    # Py4J: "An error occurred while calling o51.sql." then ": org.apache...Exception: what".
    lines = [line.lstrip(": ").strip() for line in lines if not line.startswith("An error occurred while calling")]
    text = " ".join((lines[0] if lines else "").split())
    if len(text) > 400:
        text = text[:397] + "..."
    if ours and text:
        return text  # the project's own errors say what went wrong for a user
    return f"{type(error).__name__}: {text}" if text else type(error).__name__


def run(task: str, payload: str) -> tuple[bool, object]:
    """(ok, result or one-line error) of one task; Spark is stopped whatever happens."""
    try:
        if task not in TASKS:
            raise TaskError(f"unknown task {task!r}: use one of {', '.join(sorted(TASKS))}")
        try:
            arguments = json.loads(payload)
        except ValueError as error:
            raise TaskError(f"the arguments on stdin are not JSON ({error})") from None
        if not isinstance(arguments, dict):
            raise TaskError("the arguments on stdin must be a JSON object")
        return True, TASKS[task](arguments)
    except BaseException as error:  # KeyboardInterrupt and SystemExit too: the reply is still one line
        traceback.print_exc()
        return False, one_line(error)
    finally:
        stop_spark()


def main(argv: list[str]) -> int:
    # The reply owns the real stdout; whatever else writes to fd 1 (Spark's JVM inherits it,
    # a library's print) goes to stderr, the log.
    sys.stdout.flush()
    reply = os.fdopen(os.dup(1), "w", encoding="utf-8")
    os.dup2(2, 1)
    task = argv[1] if len(argv) > 1 else ""
    ok, value = run(task, sys.stdin.read())
    message = {"ok": True, "result": value} if ok else {"ok": False, "error": value}
    reply.write(json.dumps(message, default=str) + "\n")
    reply.flush()
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv))
