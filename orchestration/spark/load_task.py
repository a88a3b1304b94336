"""One Spark task of a load on the spark engine: the DuckDB loader (orchestration/ingestion/) run
on a few landing files, in a DuckDB of its own, its output written as Parquet for the driver.

It runs in Spark's Python workers, so it imports no pyspark and holds no session: a task is
given its files and the batch the driver chose, and returns its counts. Every row it writes
is the DuckDB engine's row by construction (the same reading, checks, rejects and provenance);
only where the rows go differs: `<batch_dir>/<task>/<table>.parquet`, one file per raw table,
the rejects and the ledger rows. A retried task clears its folder first, so a retry replaces
the failed attempt's output instead of adding to it.
"""

from __future__ import annotations

import shutil
import tempfile
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

import duckdb

from orchestration.ingestion.contracts import sources
from orchestration.ingestion.loader import ensure_raw_tables, load_files
from orchestration.ingestion.sql_text import sql_literal
from orchestration.ingestion.writer import LoadResult

# A task's DuckDB: one thread (Spark runs one task per core) and a bounded memory; past it
# DuckDB spills to a temporary folder of the worker.
TASK_THREADS = 1
TASK_MEMORY = "2GB"


@dataclass(frozen=True)
class TaskPlan:
    """What every task of one load shares."""

    landing: str
    source: str
    batch_id: int
    loaded_at: datetime
    batch_dir: str  # a local or shared folder every task and the driver can reach


@dataclass
class TaskOutput:
    result: LoadResult
    written: dict[str, int] = field(default_factory=dict)  # rows per table written as Parquet


def output_tables(source_tables: tuple[str, ...]) -> tuple[str, ...]:
    """The tables a task writes, in the order the driver appends them: the ledger last."""
    return (*source_tables, "rejected_records", "loaded_files")


def load_task(plan: TaskPlan, index: int, files: list[tuple[str, int]]) -> TaskOutput:
    """Load `files` ((path, size), in path order) as task `index` of the load `plan`."""
    source = sources()[plan.source]
    out = Path(plan.batch_dir) / str(index)
    shutil.rmtree(out, ignore_errors=True)  # a retry replaces the failed attempt's files
    out.mkdir(parents=True)
    with tempfile.TemporaryDirectory(prefix="campaigns-load-") as spill:
        con = duckdb.connect(config={"threads": TASK_THREADS, "memory_limit": TASK_MEMORY,
                                     "temp_directory": spill})
        try:
            # As the warehouse's connections: instants are UTC whatever the worker's zone.
            con.execute("SET TimeZone = 'UTC'")
            ensure_raw_tables(con)
            result = load_files(con, plan.landing, source, files, plan.batch_id, plan.loaded_at)
            output = TaskOutput(result)
            for table in output_tables(source.tables):
                rows = con.execute(f"SELECT count(*) FROM raw.{table}").fetchone()[0]
                if rows:
                    con.execute(f"COPY raw.{table} TO {sql_literal(f'{out / table}.parquet')} (FORMAT parquet)")
                    output.written[table] = rows
        finally:
            con.close()
    return output
