"""The writer: what a load writes, one transaction per chunk of files. Good rows go into
`raw.<table>`, bad ones into `raw.rejected_records` with a reason, and each file into the ledger
`raw.loaded_files` in the same transaction as its rows, so a crash loses the whole chunk or
nothing, and a rerun never loads a file twice. A file DuckDB cannot read at all is recorded as
unreadable, and the rest of its chunk loads.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime

import duckdb

from orchestration.ingestion.contracts import Source, Stream, raw_ddl
from orchestration.ingestion.discovery import landing_root
from orchestration.ingestion.sql_text import received_dt_sql, sql_literal


@dataclass
class LoadResult:
    source: str
    files: list[str] = field(default_factory=list)
    lines: int = 0
    rows_loaded: dict[str, int] = field(default_factory=dict)
    records_rejected: int = 0
    unreadable_files: list[str] = field(default_factory=list)

    @property
    def rejected_rate(self) -> float:
        return self.records_rejected / self.lines if self.lines else 0.0


def ensure_raw_tables(con: duckdb.DuckDBPyConnection) -> None:
    for statement in raw_ddl():
        con.execute(statement)


def next_batch_id(con: duckdb.DuckDBPyConnection) -> int:
    return con.execute("SELECT coalesce(max(batch_id), 0) + 1 FROM raw.loaded_files").fetchone()[0]


class Writer:
    """Writes one load (one batch) of a source's files."""

    def __init__(self, con: duckdb.DuckDBPyConnection, landing: str, source: Source, batch_id: int,
                 loaded_at: datetime):
        self.con = con
        self.landing = landing_root(landing)
        self.source = source
        self.batch_id = batch_id
        self.loaded_at = loaded_at

    def relative(self, column: str) -> str:
        """SQL of a path below the landing root, as the raw tables and the ledger name a file."""
        return f"substr({column}, {len(self.landing) + 2})"

    def _provenance(self) -> str:
        return (f"{self.relative('_path')} AS _file, _line_number, _received_dt, "
                f"{self.batch_id}::BIGINT AS _batch_id, {sql_literal(self.loaded_at.isoformat())}::TIMESTAMP AS _loaded_at")

    def reject(self, select_sql: str) -> None:
        """Insert rejects given a SELECT of (_path, _line_number, reason, raw_text)."""
        self.con.execute(
            f"""
            INSERT INTO raw.rejected_records
            SELECT {sql_literal(self.source.name)}, {self.relative('_path')}, _line_number, reason, raw_text,
                   {received_dt_sql("_path")},
                   {self.batch_id}, {sql_literal(self.loaded_at.isoformat())}::TIMESTAMP
            FROM ({select_sql})
            """
        )

    def insert_rows(self, stream: Stream, rows: str) -> int:
        """Insert the good rows (`reason IS NULL`) of the relation `rows` into the stream's table."""
        columns = ", ".join(f'"{f.column}"' for f in stream.fields)
        return self.con.execute(
            f"""
            INSERT INTO raw.{stream.table} ({columns}, _file, _line_number, _received_dt, _batch_id, _loaded_at)
            SELECT {columns}, {self._provenance()}
            FROM {rows} WHERE reason IS NULL
            """
        ).fetchone()[0]

    def write_ledger(self, paths: list[str], docs: str, undecodable: str) -> None:
        """One row per file of the chunk, counted from the judged lines (`docs`), the lines that
        could not be decoded, and what this batch wrote."""
        listed = ", ".join(f"({sql_literal(p)})" for p in paths)
        row_counts = " UNION ALL ".join(
            f"SELECT _file, count(*) AS n FROM raw.{t} WHERE _batch_id = {self.batch_id} GROUP BY _file"
            for t in self.source.tables
        )
        self.con.execute(
            f"""
            INSERT INTO raw.loaded_files
            WITH files(_path) AS (VALUES {listed}),
                 docs AS (SELECT _path, count(*) AS lines FROM {docs} GROUP BY _path),
                 undecodable AS (SELECT _path, count(*) AS n FROM {undecodable} GROUP BY _path),
                 rejects AS (SELECT file, count(*) AS n FROM raw.rejected_records
                                  WHERE source = {sql_literal(self.source.name)} AND _batch_id = {self.batch_id}
                                  GROUP BY file),
                 loaded AS (SELECT _file, sum(n) AS n FROM ({row_counts}) GROUP BY _file)
            SELECT {sql_literal(self.source.name)}, {self.relative('files._path')},
                   {received_dt_sql("files._path")},
                   'loaded',
                   coalesce(docs.lines, 0) + coalesce(undecodable.n, 0),
                   coalesce(loaded.n, 0),
                   coalesce(rejects.n, 0),
                   {self.batch_id}, {sql_literal(self.loaded_at.isoformat())}::TIMESTAMP
            FROM files
            LEFT JOIN docs USING (_path)
            LEFT JOIN undecodable USING (_path)
            LEFT JOIN rejects ON rejects.file = {self.relative('files._path')}
            LEFT JOIN loaded ON loaded._file = {self.relative('files._path')}
            """
        )

    def count_chunk(self, docs: str, undecodable: str, result: LoadResult) -> None:
        """Add the chunk's lines and rejects to `result`."""
        con = self.con
        lines = con.execute(f"SELECT count(*) FROM {docs}").fetchone()[0]
        undecoded = con.execute(f"SELECT count(*) FROM {undecodable}").fetchone()[0]
        result.lines += lines + undecoded
        result.records_rejected += con.execute(
            "SELECT count(*) FROM raw.rejected_records WHERE source = ? AND _batch_id = ? AND file IN "
            "(SELECT " + self.relative("_path") + f" FROM {docs} UNION SELECT "
            + self.relative("_path") + f" FROM {undecodable})",
            [self.source.name, self.batch_id]).fetchone()[0]

    def record_unreadable(self, path: str, error: str, result: LoadResult) -> None:
        """A file that cannot be read: one reject and its ledger row, in their own transaction."""
        message = " ".join(error.split())[:300].replace(self.landing + "/", "")
        relative = path[len(self.landing) + 1:]
        self.con.execute("BEGIN TRANSACTION")
        self.con.execute(
            f"""INSERT INTO raw.rejected_records VALUES (?, ?, NULL, ?, NULL, {received_dt_sql("?")}, ?, ?)""",
            [self.source.name, relative, f"unreadable file: {message}", path, self.batch_id, self.loaded_at],
        )
        self.con.execute(
            f"""INSERT INTO raw.loaded_files
                VALUES (?, ?, {received_dt_sql("?")}, 'unreadable', 0, 0, 1, ?, ?)""",
            [self.source.name, relative, path, self.batch_id, self.loaded_at],
        )
        self.con.execute("COMMIT")
        result.unreadable_files.append(relative)
        result.records_rejected += 1

    def write_atomically(self, paths: list[str], load_chunk: Callable[[list[str]], None],
                         result: LoadResult) -> None:
        """Run `load_chunk(paths)` in one transaction; if DuckDB cannot read one of the files,
        retry them one by one and record the one that fails as unreadable."""
        con = self.con
        con.execute("BEGIN TRANSACTION")
        try:
            load_chunk(paths)
            con.execute("COMMIT")
            return
        except duckdb.Error as error:
            con.execute("ROLLBACK")
            if len(paths) == 1:
                # The file itself cannot be read (a truncated gzip, say): record it, load the rest.
                self.record_unreadable(paths[0], str(error), result)
                return
        # One file of the chunk is unreadable: load them one by one to find it.
        for path in paths:
            self.write_atomically([path], load_chunk, result)
