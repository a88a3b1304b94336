"""What the marts were last built and published from, so that a run with nothing new changes
nothing and costs next to nothing (issue 12; docs/decisions.md, "A run with nothing new").

The inputs of a build are the raw batch clock (the newest batch in `raw.loaded_files`), the dbt
project (a digest of its models, macros, tests and configuration) and the settings dbt is given
(the time zone). The dbt step records the inputs it built from (`built`); the publish step, once
the copy is swapped in, records that build as published (`published`). A plain run whose inputs
equal both is skipped: dbt does not start, and Dagster skips the publish step behind it. A build
that failed, or was built but not published, is redone by the next run.

The same records say which rows a build's data tests must read (`tests_after`, read by
dbt_project/macros/tests/touched_rows.sql): after a plain build that passed, the next plain build
with the same project and settings tests only the rows it touched, where a test allows it; every
row otherwise, and at least once every `EVERY_ROW_TESTED_EVERY` (`tested`: the last build that
tested every row).
"""

from __future__ import annotations

import hashlib
import json
import os
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import TYPE_CHECKING

from orchestration.settings import DBT_PROJECT_DIR

if TYPE_CHECKING:
    import duckdb

    from orchestration.settings import Settings

TABLE = "pipeline.build_state"
# The data tests read every row at least this often (and in every build that is not a plain one).
EVERY_ROW_TESTED_EVERY = timedelta(days=7)
# What a build depends on in the dbt project (target/ and logs/ are its output).
PROJECT_PARTS = ("models", "macros", "tests", "dbt_project.yml", "profiles.yml")


@dataclass(frozen=True)
class BuildInputs:
    raw_batch: int
    project_digest: str
    settings: str

    def describe(self) -> str:
        return f"raw batch {self.raw_batch}, dbt project {self.project_digest[:12]}, {self.settings}"


def project_digest(project_dir: Path = DBT_PROJECT_DIR) -> str:
    digest = hashlib.sha256()
    for part in PROJECT_PARTS:
        path = project_dir / part
        files = sorted(p for p in path.rglob("*") if p.is_file()) if path.is_dir() else [path]
        for file in files:
            if file.exists():
                digest.update(str(file.relative_to(project_dir)).encode() + b"\0" + file.read_bytes() + b"\0")
    return digest.hexdigest()


def current_inputs(con: duckdb.DuckDBPyConnection, timezone: str) -> BuildInputs:
    """The inputs a build would use now (raw batch -1: nothing was ever loaded)."""
    has_ledger = con.execute("SELECT count(*) FROM information_schema.tables "
                             "WHERE table_schema = 'raw' AND table_name = 'loaded_files'").fetchone()[0]
    raw_batch = (con.execute("SELECT coalesce(max(batch_id), 0) FROM raw.loaded_files").fetchone()[0]
                 if has_ledger else -1)
    return BuildInputs(int(raw_batch), project_digest(), f"timezone={timezone}")


def _ensure_table(con: duckdb.DuckDBPyConnection) -> None:
    con.execute("CREATE SCHEMA IF NOT EXISTS pipeline")
    con.execute(f"""CREATE TABLE IF NOT EXISTS {TABLE} (
        stage VARCHAR PRIMARY KEY,  -- built | published | tested | tests_after
        raw_batch BIGINT NOT NULL,
        project_digest VARCHAR NOT NULL,
        settings VARCHAR NOT NULL,
        published_version VARCHAR,  -- the published copy's version (stage published)
        recorded_at TIMESTAMP NOT NULL
    )""")


def _recorded(con: duckdb.DuckDBPyConnection, stage: str) -> BuildInputs | None:
    exists = con.execute("SELECT count(*) FROM information_schema.tables "
                         "WHERE table_schema = 'pipeline' AND table_name = 'build_state'").fetchone()[0]
    if not exists:
        return None
    row = con.execute(f"SELECT raw_batch, project_digest, settings FROM {TABLE} WHERE stage = ?",
                      [stage]).fetchone()
    return BuildInputs(*row) if row else None


def record_built(con: duckdb.DuckDBPyConnection, inputs: BuildInputs, every_row_tested: bool) -> None:
    """The marts are built from `inputs`, and their data tests passed (on every row, or on the
    rows the build touched)."""
    _ensure_table(con)
    stages = ["built", "tested"] if every_row_tested else ["built"]
    for stage in stages:
        con.execute(f"INSERT OR REPLACE INTO {TABLE} VALUES (?, ?, ?, ?, NULL, now()::TIMESTAMP)",
                    [stage, inputs.raw_batch, inputs.project_digest, inputs.settings])


def tests_after(con: duckdb.DuckDBPyConnection, inputs: BuildInputs) -> int:
    """The raw batch after which a whole build's data tests may look at the touched rows only
    (dbt_project/macros/tests/touched_rows.sql): the batch of the last build, when it was built
    with this project and these settings and every row was tested within EVERY_ROW_TESTED_EVERY.
    -1 (every row) otherwise: no build recorded (a first build, or one after a failure, a subset
    or a window, which forget the build), another project or settings, or a week gone by. Read
    it before `forget_build`."""
    built = _recorded(con, "built")
    if built is None or (built.project_digest, built.settings) != (inputs.project_digest, inputs.settings):
        return -1
    # recorded_at is written by now()::TIMESTAMP in this same kind of session: compared alike.
    recent = con.execute(f"SELECT count(*) FROM {TABLE} WHERE stage = 'tested' "
                         "AND recorded_at >= now()::TIMESTAMP - to_seconds(?)",
                         [EVERY_ROW_TESTED_EVERY.total_seconds()]).fetchone()[0]
    return built.raw_batch if recent else -1


def record_tests_after(con: duckdb.DuckDBPyConnection, inputs: BuildInputs, batch: int) -> None:
    """What the next dbt build's data tests read (`tests_after`: -1 tests every row)."""
    _ensure_table(con)
    con.execute(f"INSERT OR REPLACE INTO {TABLE} VALUES ('tests_after', ?, ?, ?, NULL, now()::TIMESTAMP)",
                [batch, inputs.project_digest, inputs.settings])


def record_published(con: duckdb.DuckDBPyConnection, version: str) -> None:
    """The last build is what the published copy's `version` now holds."""
    _ensure_table(con)
    con.execute(f"""INSERT OR REPLACE INTO {TABLE}
        SELECT 'published', raw_batch, project_digest, settings, ?, now()::TIMESTAMP
        FROM {TABLE} WHERE stage = 'built'""", [version])


def _current_version(publish_root: str) -> str | None:
    """The version the published copy serves now, if there is one."""
    manifest = Path(publish_root) / "current" / "publication.json"
    try:
        return json.loads(manifest.read_text())["version"]
    except (OSError, ValueError, KeyError, TypeError):
        return None


def is_built_and_published(con: duckdb.DuckDBPyConnection, inputs: BuildInputs, publish_root: str) -> bool:
    """True when the marts and the published copy BI tools read now were both made from exactly
    `inputs` (a deleted or replaced copy is published again)."""
    if not (_recorded(con, "built") == inputs == _recorded(con, "published")):
        return False
    row = con.execute(f"SELECT published_version FROM {TABLE} WHERE stage = 'published'").fetchone()
    return row is not None and row[0] is not None and row[0] == _current_version(publish_root)


def forget_build(con: duckdb.DuckDBPyConnection) -> None:
    """The marts may no longer match any recorded build (a build started): the next run builds."""
    if _recorded(con, "built") is not None:
        con.execute(f"DELETE FROM {TABLE} WHERE stage = 'built'")


def nothing_to_do(settings: Settings) -> BuildInputs | None:
    """The inputs of the last build when a plain `campaigns run` would change nothing: no landing
    file is new, and the marts and the published copy were made from the raw layer as it is,
    with this dbt project and these settings. None when there is something to do, or when it
    cannot tell cheaply (another process holds the warehouse, the spark engine): then the run
    goes ahead and decides step by step."""
    if settings.engine != "duckdb" or not os.path.exists(settings.warehouse):
        return None
    import duckdb

    from orchestration.ingestion.contracts import sources
    from orchestration.ingestion.discovery import discover_new_files
    from orchestration.resources.warehouse_file import WarehouseLockTimeout, open_connection, writer_lock

    try:
        with writer_lock(settings.warehouse, timeout_seconds=0):
            con = open_connection(settings.warehouse, read_only=True)
            try:
                if any(discover_new_files(con, settings.landing, source) for source in sources().values()):
                    return None
                inputs = current_inputs(con, settings.timezone)
                return inputs if is_built_and_published(con, inputs, settings.publish) else None
            finally:
                con.close()
    except (WarehouseLockTimeout, duckdb.Error):
        return None
