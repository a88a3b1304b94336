"""Ingestion on the spark engine (docs/spec.md section 7): the DuckDB loader run inside Spark
tasks, its output appended to the Spark raw layer, the ledger last.

One load of a source (one batch, as on DuckDB):
1. batches.py undoes a load killed before its ledger rows were written, and picks the batch id;
2. the driver lists the source's landing files that the Spark ledger does not hold yet
   (discovery.py's glob, the same files in the same order as DuckDB) and spreads them over
   tasks of about TASK_TEXT_BYTES of text each, at least one task per core;
3. each task (load_task.py) loads its files with the DuckDB loader into a DuckDB of its own and
   writes the rows, rejects and ledger rows as Parquet under `<scratch_dir>/<batch>/<task>/`;
4. the driver appends them to raw.<table> and raw.rejected_records, then to raw.loaded_files:
   the ledger is the commit marker (a batch it does not hold is dropped by the next load).

Why the DuckDB loader rather than the checks rendered in Spark SQL: docs/decisions.md,
"Ingestion on Spark".
"""

from __future__ import annotations

import math
import os
import re
import shutil
from datetime import datetime, timezone
from typing import TYPE_CHECKING

import duckdb

from orchestration.ingestion import discovery
from orchestration.ingestion.contracts import Source, raw_table_columns, sources
from orchestration.ingestion.writer import LoadResult
from orchestration.spark.batches import roll_back_uncommitted
from orchestration.spark.health import health_checks
from orchestration.spark.load_task import TaskOutput, TaskPlan, load_task, output_tables
from orchestration.spark.raw_tables import append_parquet, ensure_spark_raw_tables

if TYPE_CHECKING:
    from pyspark.sql import SparkSession

__all__ = ["health_checks", "load_source"]

# Text one task loads, at most (unless one file holds more): small enough for a task's DuckDB to
# hold in memory, large enough that a task's start (a DuckDB, its raw tables) is small beside it.
TASK_TEXT_BYTES = 64 << 20


def load_source(spark: SparkSession, landing: str, source_name: str, scratch_dir: str) -> LoadResult:
    """Load every landing file of `source_name` that the Spark ledger does not hold yet into the
    Spark raw layer; `scratch_dir` holds the tasks' Parquet files until the batch is committed."""
    source = sources()[source_name]
    landing, scratch_dir = _local_absolute(landing), _local_absolute(scratch_dir)
    _ensure_raw_layer(spark)
    batch_id = roll_back_uncommitted(spark)
    _clear_scratch(scratch_dir)
    result = LoadResult(source=source_name, rows_loaded={t: 0 for t in source.tables})
    files = new_files(spark, landing, source)
    if not files:
        return result
    plan = TaskPlan(landing, source_name, batch_id, datetime.now(timezone.utc).replace(tzinfo=None),
                    f"{scratch_dir}/{batch_id}")
    outputs = _run_tasks(spark, plan, files)
    _add_up(result, outputs, landing, files)
    commit_batch(spark, source, plan.batch_dir, outputs)
    shutil.rmtree(plan.batch_dir, ignore_errors=True)
    return result


def new_files(spark: SparkSession, landing: str, source: Source) -> list[tuple[str, int]]:
    """(path, size) of the source's landing files the Spark ledger does not hold, oldest dt first."""
    loaded = {row[0] for row in spark.sql("SELECT file FROM raw.loaded_files WHERE source = :source",
                                          args={"source": source.name}).collect()}
    with duckdb.connect() as con:  # only DuckDB's glob: the files DuckDB's engine would list
        return discovery.landed_files(con, landing, source, loaded)


def task_groups(files: list[tuple[str, int]], parallelism: int) -> list[list[tuple[str, int]]]:
    """The files spread over tasks of about equal text (the largest first into the lightest
    task), each task's files in path order."""
    text = [size * discovery.GZIP_RATIO if path.endswith(".gz") else size for path, size in files]
    count = min(len(files), max(parallelism, math.ceil(sum(text) / TASK_TEXT_BYTES)))
    groups: list[list[tuple[str, int]]] = [[] for _ in range(count)]
    loads = [0] * count
    for file, size in sorted(zip(files, text), key=lambda pair: -pair[1]):
        lightest = loads.index(min(loads))
        groups[lightest].append(file)
        loads[lightest] += size
    return [sorted(group) for group in groups]


def _run_tasks(spark: SparkSession, plan: TaskPlan, files: list[tuple[str, int]]) -> list[TaskOutput]:
    groups = task_groups(files, spark.sparkContext.defaultParallelism)
    # One element per partition: task i loads groups[i], and a retry of it the same files.
    tasks = spark.sparkContext.parallelize(list(enumerate(groups)), len(groups))
    return tasks.map(lambda task: load_task(plan, task[0], task[1])).collect()


def _add_up(result: LoadResult, outputs: list[TaskOutput], landing: str, files: list[tuple[str, int]]) -> None:
    """The load's counts: the sums of its tasks', listed as the DuckDB engine lists them."""
    for output in outputs:
        result.lines += output.result.lines
        result.records_rejected += output.result.records_rejected
        for table, rows in output.result.rows_loaded.items():
            result.rows_loaded[table] += rows
    root = discovery.landing_root(landing)
    result.files = [path[len(root) + 1:] for path, _ in files]
    # DuckDB records the links outside the root first, then the files it cannot read, in order.
    outside = {path[len(root) + 1:] for path, _ in files if discovery.escapes_root(path, landing)}
    unreadable = sorted(f for output in outputs for f in output.result.unreadable_files)
    result.unreadable_files = [f for f in unreadable if f in outside] + [f for f in unreadable if f not in outside]


def commit_batch(spark: SparkSession, source: Source, batch_dir: str, outputs: list[TaskOutput]) -> None:
    """Append the tasks' Parquet files to the raw tables and the rejects, then to the ledger."""
    for table in output_tables(source.tables):  # the ledger last: the batch's commit marker
        if any(output.written.get(table) for output in outputs):
            append_parquet(spark, table, f"{batch_dir}/*/{table}.parquet")


def _ensure_raw_layer(spark: SparkSession) -> None:
    """Create the raw tables unless they all exist (one question to the metastore, not nine)."""
    if spark.catalog.databaseExists("raw"):
        present = {row.tableName for row in spark.sql("SHOW TABLES IN raw").collect()}
        if present >= set(raw_table_columns()):
            return
    ensure_spark_raw_tables(spark)


def _clear_scratch(scratch_dir: str) -> None:
    """Remove the batch folders a killed load left (their batch was rolled back, or committed
    before the load could clean up)."""
    if os.path.isdir(scratch_dir):
        for name in os.listdir(scratch_dir):
            if re.fullmatch(r"[0-9]+", name):
                shutil.rmtree(os.path.join(scratch_dir, name), ignore_errors=True)


def _local_absolute(path: str) -> str:
    """A local path made absolute, so that Spark's workers find it whatever their folder."""
    return path if "://" in path else os.path.abspath(path)
