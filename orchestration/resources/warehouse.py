"""The DuckDB warehouse: the one place that opens it.

DuckDB allows one writing process per file and no reader while it writes, so every writer
takes an exclusive advisory lock beside the file for the length of one step and releases it
with the connection. Runs from the CLI, the daemon and the tests queue on it instead of failing
with DuckDB's "could not set lock" error.
"""

from __future__ import annotations

import fcntl
import os
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING

import dagster as dg

if TYPE_CHECKING:
    import duckdb

SCHEMAS = ("raw", "staging", "intermediate", "marts")
# The Dagster pool of every step that writes the warehouse: one such step at a time.
WAREHOUSE_POOL = "warehouse"
# DuckDB spills to disk past this; without it a large load may take 80% of the machine.
MEMORY_LIMIT = "4GB"


class WarehouseLockTimeout(RuntimeError):
    pass


class WarehouseMissing(RuntimeError):
    """A read of a warehouse that was never built; the message is one line for the user."""


@contextmanager
def writer_lock(database: str, timeout_seconds: float) -> Iterator[None]:
    lock_path = Path(database + ".lock")
    lock_path.parent.mkdir(parents=True, exist_ok=True)
    with open(lock_path, "a+") as handle:
        deadline = time.monotonic() + timeout_seconds
        while True:
            try:
                fcntl.flock(handle.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                if time.monotonic() >= deadline:
                    raise WarehouseLockTimeout(
                        f"another pipeline process has held {database} for over "
                        f"{timeout_seconds:.0f}s; try again when it finishes"
                    ) from None
                time.sleep(0.2)
        try:
            yield
        finally:
            fcntl.flock(handle.fileno(), fcntl.LOCK_UN)


def open_connection(database: str, memory_limit: str | None = None, threads: int | None = None,
                    read_only: bool = False) -> duckdb.DuckDBPyConnection:
    # Imported here: loading the code location needs no engine (DuckDB's import costs ~0.2 s).
    import duckdb

    if not read_only:
        Path(database).parent.mkdir(parents=True, exist_ok=True)
    config: dict[str, str | int | bool] = {}
    if memory_limit:
        config["memory_limit"] = memory_limit
    if threads:
        config["threads"] = threads
    con = duckdb.connect(database, read_only=read_only, config=config)
    # Instants are UTC; TIMESTAMPTZ arithmetic must not depend on the machine's zone.
    con.execute("SET TimeZone = 'UTC'")
    if not read_only:
        con.execute(f"SET temp_directory = '{database}.tmp'")
    return con


class WarehouseResource(dg.ConfigurableResource):
    """The DuckDB warehouse file ($CAMPAIGNS_WAREHOUSE)."""

    database: str
    memory_limit: str | None = MEMORY_LIMIT
    threads: int | None = None
    lock_timeout_seconds: float = 3600.0

    @contextmanager
    def connect(self) -> Iterator[duckdb.DuckDBPyConnection]:
        """A writing connection, held for one step at most."""
        with writer_lock(self.database, self.lock_timeout_seconds):
            con = open_connection(self.database, self.memory_limit, self.threads)
            try:
                for schema in SCHEMAS:
                    con.execute(f"CREATE SCHEMA IF NOT EXISTS {schema}")
                yield con
            finally:
                con.close()

    @contextmanager
    def read(self) -> Iterator[duckdb.DuckDBPyConnection]:
        """A read-only connection, between two writers (DuckDB allows no reader while a process
        writes). It never creates the file: a missing warehouse is a WarehouseMissing."""
        if not self.exists():
            raise WarehouseMissing(f"no warehouse at {self.database}: build it first with `campaigns run`")
        with writer_lock(self.database, self.lock_timeout_seconds):
            con = open_connection(self.database, self.memory_limit, self.threads, read_only=True)
            try:
                yield con
            finally:
                con.close()

    @contextmanager
    def writer_lock(self) -> Iterator[None]:
        """The lock alone, for steps whose writer is another process (dbt)."""
        with writer_lock(self.database, self.lock_timeout_seconds):
            yield

    def exists(self) -> bool:
        return os.path.exists(self.database)
