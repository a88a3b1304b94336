"""The DuckDB warehouse as a Dagster resource: the one place the pipeline opens it (its lock
and connections are in warehouse_file.py)."""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING

import dagster as dg

from orchestration.resources.warehouse_file import (  # noqa: F401 (re-exported)
    MEMORY_LIMIT,
    WarehouseLockTimeout,
    WarehouseMissing,
    open_connection,
    writer_lock,
)

if TYPE_CHECKING:
    import duckdb

SCHEMAS = ("raw", "staging", "intermediate", "marts")
# The Dagster pool of every step that writes the warehouse: one such step at a time.
WAREHOUSE_POOL = "warehouse"


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
