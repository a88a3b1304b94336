"""The DuckDB warehouse file itself: its writer lock and its connections, without Dagster (the
CLI's quick check that a run has nothing to do must not pay Dagster's import).

DuckDB allows one writing process per file and no reader while it writes, so every writer
takes an exclusive advisory lock beside the file for the length of one step and releases it
with the connection. Runs from the CLI, the daemon and the tests queue on it instead of failing
with DuckDB's "could not set lock" error.
"""

from __future__ import annotations

import fcntl
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import duckdb

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
