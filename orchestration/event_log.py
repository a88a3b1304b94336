"""Dagster's SQLite event log, its files kept open for the life of the process.

Dagster's `SqliteEventLogStorage` builds a new SQLAlchemy engine, and opens and closes a new
SQLite connection, for every event it stores: about a thousand times in a daily run (each dbt
test is an asset check, mirrored into the index). Closing the last connection to a file in WAL
mode checkpoints it, and a new engine compiles the insert again: together about 3 ms an event,
more than writing the row. This storage keeps an engine, and its pooled connections, for each of
the files it used last, so an event costs under 1 ms (`make bench` measures the runs).

The files and their layout are Dagster's: other processes (the UI, the daemon) read them as
before, and WAL mode lets them read while a run writes. A process started by `fork` does not use
its parent's connections.

`$DAGSTER_HOME/dagster.yaml` names this class (orchestration/instance.py writes it); a home whose
dagster.yaml does not name it keeps Dagster's class and reads the same files.
"""

from __future__ import annotations

import os
from collections import OrderedDict
from collections.abc import Iterator
from contextlib import contextmanager

from dagster._core.storage.event_log.sqlite.sqlite_event_log import SqliteEventLogStorage
from dagster._core.storage.sql import create_engine
from dagster._core.storage.sqlite import SQLITE_BUSY_TIMEOUT_SECONDS
from dagster._serdes import ConfigurableClassData
from sqlalchemy.engine import Connection, Engine

# A run writes its own file and the index; the UI reads one file per run it shows. The files
# used longest ago are closed past this many.
OPEN_FILES = 8


class CampaignEventLogStorage(SqliteEventLogStorage):
    """`SqliteEventLogStorage` (the same `base_dir` config), its recent files kept open."""

    def __init__(self, base_dir: str, inst_data: ConfigurableClassData | None = None):
        self._engines: OrderedDict[str, Engine] = OrderedDict()
        self._engines_pid = os.getpid()
        super().__init__(base_dir, inst_data=inst_data)

    @classmethod
    def from_config_value(cls, inst_data: ConfigurableClassData | None, config_value: dict) -> CampaignEventLogStorage:
        return cls(inst_data=inst_data, **config_value)

    def _engine(self, shard: str) -> Engine:
        if self._engines_pid != os.getpid():
            # A forked child: its parent's connections are the parent's; leave them unclosed.
            self._engines = OrderedDict()
            self._engines_pid = os.getpid()
        engine = self._engines.get(shard)
        if engine is not None:
            self._engines.move_to_end(shard)
            return engine
        # A pooled engine (SQLAlchemy's default for a SQLite file), where Dagster's has none.
        engine = create_engine(self.conn_string_for_shard(shard),
                               connect_args={"timeout": SQLITE_BUSY_TIMEOUT_SECONDS})
        if shard not in self._initialized_dbs:
            self._initdb(engine)
            self._initialized_dbs.add(shard)
        self._engines[shard] = engine
        while len(self._engines) > OPEN_FILES:
            self._engines.popitem(last=False)[1].dispose()
        return engine

    @contextmanager
    def _connect(self, shard: str) -> Iterator[Connection]:
        # As Dagster's `_connect`, but on the shard's kept engine.
        with self._db_lock:
            with self._engine(shard).connect() as conn:
                with conn.begin():
                    yield conn

    def wipe(self) -> None:
        # Wiping deletes the run files: close them first.
        self._close_all()
        super().wipe()

    def dispose(self) -> None:
        self._close_all()
        super().dispose()

    def _close_all(self) -> None:
        with self._db_lock:
            for engine in self._engines.values():
                engine.dispose()
            self._engines.clear()
