"""Publish the marts for BI tools as a read-only copy, swapped in atomically.

DuckDB lets no other process read the warehouse while the pipeline writes it, so BI tools read
a copy: `$CAMPAIGNS_PUBLISH/bi.duckdb` (schema `marts`, the same tables and types) and one
Parquet file per mart in `$CAMPAIGNS_PUBLISH/current/`. Each publication is written whole into
a new version folder and then swapped in with a rename (atomic on POSIX): a reader sees the old
version or the new one, never half of each. Readers that hold the old file keep reading it.
"""

from __future__ import annotations

import os
import shutil
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import duckdb

VERSIONS_KEPT = 3


@dataclass(frozen=True)
class Publication:
    version: str
    folder: Path
    tables: dict[str, int]  # mart -> rows


def _quote_path(path: Path) -> str:
    return "'" + str(path).replace("'", "''") + "'"


def publish_marts(con: duckdb.DuckDBPyConnection, publish_root: str) -> Publication:
    root = Path(publish_root)
    versions = root / "versions"
    versions.mkdir(parents=True, exist_ok=True)
    version = datetime.now(timezone.utc).strftime("%Y%m%dT%H%M%S%fZ")
    folder = versions / version
    folder.mkdir()

    tables = [name for (name,) in con.execute(
        "SELECT table_name FROM information_schema.tables WHERE table_schema = 'marts' "
        "AND table_catalog = current_database() ORDER BY table_name").fetchall()]
    snapshot = folder / "bi.duckdb"
    con.execute(f"ATTACH {_quote_path(snapshot)} AS bi_snapshot")
    counts = {}
    try:
        con.execute("CREATE SCHEMA bi_snapshot.marts")
        for table in tables:
            con.execute(f'CREATE TABLE bi_snapshot.marts."{table}" AS SELECT * FROM marts."{table}"')
            con.execute(f'COPY marts."{table}" TO {_quote_path(folder / f"{table}.parquet")} (FORMAT parquet)')
            counts[table] = con.execute(f'SELECT count(*) FROM marts."{table}"').fetchone()[0]
    finally:
        con.execute("DETACH bi_snapshot")

    _swap(root / "current", Path("versions") / version)
    _swap(root / "bi.duckdb", Path("versions") / version / "bi.duckdb")
    _prune(versions, keep=VERSIONS_KEPT)
    return Publication(version, folder, counts)


def _swap(link: Path, target: Path) -> None:
    """Point `link` at `target` (relative to the link's folder) with one atomic rename."""
    temporary = link.with_name(f".{link.name}.{os.getpid()}.tmp")
    if temporary.is_symlink() or temporary.exists():
        temporary.unlink()
    temporary.symlink_to(target)
    os.replace(temporary, link)


def _prune(versions: Path, keep: int) -> None:
    for old in sorted(p for p in versions.iterdir() if p.is_dir())[:-keep]:
        shutil.rmtree(old, ignore_errors=True)
