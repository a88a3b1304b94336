"""Discovery: which landing files of a source are new, and in what chunks they are loaded.

A file is new while `raw.loaded_files` does not list it, whatever its `dt=` folder: `dt` is the
day a file was received, and the events of a day arrive in later folders (docs/spec.md section 1).
"""

from __future__ import annotations

import os
from collections.abc import Container, Iterator, Sequence

import duckdb

from orchestration.ingestion.contracts import Source
from orchestration.ingestion.sql_text import sql_literal

# Bytes of landing text read in one transaction: bounds memory and the work a crash can lose.
CHUNK_BYTES = 256 << 20
# A .jsonl.gz file holds several times its size in text (about 7x for webhook bodies).
GZIP_RATIO = 7


def landing_root(landing: str) -> str:
    return landing.rstrip("/")


def landed_sql(landing: str, source: Source) -> str:
    """A SELECT of the paths (`file`) of every landing file of a source, in any `dt=` folder."""
    root = landing_root(landing)
    patterns = [f"{root}/{source.name}/dt=*/*.jsonl", f"{root}/{source.name}/dt=*/*.jsonl.gz"]
    return " UNION ALL ".join(f"SELECT file FROM glob({sql_literal(p)})" for p in patterns)


def discover_new_files(con: duckdb.DuckDBPyConnection, landing: str, source: Source) -> list[tuple[str, int]]:
    """(path, size) of the landing files of a source that were never loaded, oldest dt first."""
    root = landing_root(landing)
    rows = con.execute(
        f"""
        SELECT landed.file
        FROM ({landed_sql(landing, source)}) AS landed
        ANTI JOIN (SELECT file FROM raw.loaded_files WHERE source = ?) AS loaded
          ON loaded.file = substr(landed.file, {len(root) + 2})
        ORDER BY landed.file
        """,
        [source.name],
    ).fetchall()
    return [(path, _size(path)) for (path,) in rows]


def landed_files(con: duckdb.DuckDBPyConnection, landing: str, source: Source,
                 loaded: Container[str]) -> list[tuple[str, int]]:
    """(path, size) of the landing files of a source whose path below the root is not in
    `loaded` (a ledger kept elsewhere: the spark engine's), oldest dt first. `con` only globs."""
    root = landing_root(landing)
    rows = con.execute(f"SELECT file FROM ({landed_sql(landing, source)}) ORDER BY file").fetchall()
    return [(path, _size(path)) for (path,) in rows if path[len(root) + 1:] not in loaded]


def _size(path: str) -> int:
    return os.path.getsize(path) if "://" not in path else 0


def escapes_root(path: str, root: str) -> bool:
    """A link (or a link in the folders) that resolves outside the landing root."""
    if "://" in path:
        return False
    real_root = os.path.realpath(root)
    return os.path.commonpath([os.path.realpath(path), real_root]) != real_root


def chunks(files: Sequence[tuple[str, int]]) -> Iterator[list[str]]:
    """The files in order, in chunks of about CHUNK_BYTES of text each (a file never split)."""
    chunk: list[str] = []
    size = 0
    for path, file_size in files:
        if path.endswith(".gz"):
            file_size *= GZIP_RATIO
        if chunk and size + file_size > CHUNK_BYTES:
            yield chunk
            chunk, size = [], 0
        chunk.append(path)
        size += file_size
    if chunk:
        yield chunk
