"""Publish the marts for BI tools as a read-only copy, swapped in atomically.

DuckDB lets no other process read the warehouse while the pipeline writes it, so BI tools read
a copy: `$CAMPAIGNS_PUBLISH/bi.duckdb` (schema `marts`, the same tables and types) and one
Parquet file per mart in `$CAMPAIGNS_PUBLISH/current/`. Each publication is written whole into
a new version folder and then swapped in with a rename (atomic on POSIX): a reader sees the old
version or the new one, never half of each. Readers that hold the old file keep reading it.

Only the marts that changed are exported again. Each version folder holds `publication.json`,
the fingerprint of every mart it holds: its columns and types, its row count and the sum of
DuckDB's 64-bit hash of each row. A mart whose fingerprint equals the current version's is
reused: its Parquet file is hard-linked from that version, and `bi.duckdb` is the previous file
copied with only the changed tables replaced. When no mart changed at all, no version is made: the
current one stays, and BI tools have nothing to reload. Published
files are never written again (they are made read-only), which is what makes sharing them
between versions safe. See docs/operations.md for what it costs.
"""

from __future__ import annotations

import json
import os
import shutil
import stat
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import duckdb

VERSIONS_KEPT = 3
MANIFEST = "publication.json"
SNAPSHOT = "bi.duckdb"

# How bi.duckdb of a version was made.
SNAPSHOT_KEPT = "kept"  # no mart changed: no new version, the current one stays
SNAPSHOT_PATCHED = "patched"  # the previous file copied, the changed tables replaced in it
SNAPSHOT_WRITTEN = "written"  # a new file with every mart (first publication, or most rows changed)


@dataclass(frozen=True)
class Fingerprint:
    """What a mart holds, cheaply: equal fingerprints mean the same columns and the same rows.

    The row hash sum is a HUGEINT (no wrap-around), so a change to any row, an added or a
    removed row, or a duplicated one changes it but with a chance of about 2**-64."""

    columns: tuple[tuple[str, str], ...]  # (name, type) in table order
    rows: int
    row_hash_sum: str  # decimal text: JSON has no 128-bit integers

    def to_json(self) -> dict:
        return {"columns": [list(column) for column in self.columns], "rows": self.rows,
                "row_hash_sum": self.row_hash_sum}

    @classmethod
    def from_json(cls, value: dict) -> Fingerprint:
        return cls(tuple((name, data_type) for name, data_type in value["columns"]),
                   int(value["rows"]), str(value["row_hash_sum"]))


@dataclass(frozen=True)
class Publication:
    version: str
    folder: Path
    tables: dict[str, int]  # mart -> rows
    copied: tuple[str, ...]  # marts exported from the warehouse: new or changed
    reused: tuple[str, ...]  # marts unchanged since the previous version: its files reused
    snapshot: str  # how bi.duckdb was made (SNAPSHOT_*)


@dataclass(frozen=True)
class _Previous:
    folder: Path
    fingerprints: dict[str, Fingerprint]


def _quote_path(path: Path) -> str:
    return "'" + str(path).replace("'", "''") + "'"


def _quote_name(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def mart_names(con: duckdb.DuckDBPyConnection) -> list[str]:
    return [name for (name,) in con.execute(
        "SELECT table_name FROM information_schema.tables WHERE table_schema = 'marts' "
        "AND table_catalog = current_database() ORDER BY table_name").fetchall()]


def fingerprint(con: duckdb.DuckDBPyConnection, mart: str) -> Fingerprint:
    columns = con.execute(
        "SELECT column_name, data_type FROM information_schema.columns WHERE table_schema = 'marts' "
        "AND table_catalog = current_database() AND table_name = ? ORDER BY ordinal_position",
        [mart]).fetchall()
    # hash() of every column, in order: one 64-bit hash per row.
    row_hash = f"hash({', '.join(_quote_name(name) for name, _ in columns)})"
    rows, hash_sum = con.execute(
        f"SELECT count(*), coalesce(sum({row_hash}), 0) FROM marts.{_quote_name(mart)}").fetchone()
    return Fingerprint(tuple(columns), rows, str(hash_sum))


def publish_marts(con: duckdb.DuckDBPyConnection, publish_root: str) -> Publication:
    root = Path(publish_root)
    engine = con.execute("SELECT library_version FROM pragma_version()").fetchone()[0]
    fingerprints = {mart: fingerprint(con, mart) for mart in mart_names(con)}
    previous = _read_previous(root, engine)
    if previous is not None and previous.fingerprints == fingerprints:
        return Publication(previous.folder.name, previous.folder,
                           {mart: mart_print.rows for mart, mart_print in fingerprints.items()},
                           (), tuple(fingerprints), SNAPSHOT_KEPT)

    versions = root / "versions"
    versions.mkdir(parents=True, exist_ok=True)
    version = datetime.now(timezone.utc).strftime("%Y%m%dT%H%M%S%fZ")
    folder = versions / version
    folder.mkdir()
    unchanged = [mart for mart in fingerprints
                 if previous is not None and previous.fingerprints.get(mart) == fingerprints[mart]]

    reused = [mart for mart in unchanged
              if _share(previous.folder / f"{mart}.parquet", folder / f"{mart}.parquet")]
    copied = [mart for mart in fingerprints if mart not in reused]
    for mart in copied:
        con.execute(f"COPY marts.{_quote_name(mart)} TO {_quote_path(folder / f'{mart}.parquet')} "
                    "(FORMAT parquet)")
    snapshot = _write_snapshot(con, folder / SNAPSHOT, fingerprints, reused, previous)

    (folder / MANIFEST).write_text(json.dumps({
        "version": version, "duckdb_version": engine,
        "marts": {mart: mart_print.to_json() for mart, mart_print in fingerprints.items()},
    }, indent=1))
    for path in folder.iterdir():
        _make_read_only(path)

    _swap(root / "current", Path("versions") / version)
    _swap(root / SNAPSHOT, Path("versions") / version / SNAPSHOT)
    _prune(versions, keep=VERSIONS_KEPT)
    return Publication(version, folder, {mart: mart_print.rows for mart, mart_print in fingerprints.items()},
                       tuple(copied), tuple(reused), snapshot)


def _read_previous(root: Path, duckdb_version: str) -> _Previous | None:
    """The version BI tools see now, if its fingerprints can be trusted by this DuckDB.

    Read through `current` (the last whole publication), never the newest folder: a run that
    died mid-publication leaves a folder that was never swapped in."""
    current = root / "current"
    try:
        folder = current.resolve(strict=True)
        manifest = json.loads((folder / MANIFEST).read_text())
        fingerprints = {mart: Fingerprint.from_json(value) for mart, value in manifest["marts"].items()}
    except (OSError, ValueError, KeyError, TypeError):
        return None  # the first publication, or one from before fingerprints
    # Another DuckDB may hash rows differently, or write another storage format.
    if manifest.get("duckdb_version") != duckdb_version:
        return None
    return _Previous(folder, fingerprints)


def _write_snapshot(con: duckdb.DuckDBPyConnection, snapshot: Path, fingerprints: dict[str, Fingerprint],
                    reused: list[str], previous: _Previous | None) -> str:
    """bi.duckdb for the new version, from the previous one as much as it is still right."""
    changed = [mart for mart in fingerprints if mart not in reused]
    previous_snapshot = previous.folder / SNAPSHOT if previous is not None else None
    usable = (previous_snapshot is not None and previous_snapshot.is_file()
              and not previous_snapshot.with_name(SNAPSHOT + ".wal").exists())
    # Patching copies the whole previous file: worth it only when most of its rows stay.
    reused_rows = sum(fingerprints[mart].rows for mart in reused)
    patch = usable and bool(reused) and reused_rows >= sum(fingerprints[mart].rows for mart in changed)
    if patch:
        shutil.copyfile(previous_snapshot, snapshot)

    con.execute(f"ATTACH {_quote_path(snapshot)} AS bi_snapshot")
    try:
        con.execute("CREATE SCHEMA IF NOT EXISTS bi_snapshot.marts")
        present = {name for (name,) in con.execute(
            "SELECT table_name FROM information_schema.tables WHERE table_catalog = 'bi_snapshot' "
            "AND table_schema = 'marts'").fetchall()}
        stale = sorted(present - set(reused))
        for table in stale:
            con.execute(f"DROP TABLE bi_snapshot.marts.{_quote_name(table)}")
        if stale:
            # Free the dropped tables' blocks before writing: the new tables reuse them, so the
            # file keeps its size from one version to the next.
            con.execute("CHECKPOINT bi_snapshot")
        for mart in fingerprints:
            if mart not in present or mart in stale:
                con.execute(f"CREATE TABLE bi_snapshot.marts.{_quote_name(mart)} AS "
                            f"SELECT * FROM marts.{_quote_name(mart)}")
    finally:
        con.execute("DETACH bi_snapshot")
    return SNAPSHOT_PATCHED if patch else SNAPSHOT_WRITTEN


def _share(source: Path, target: Path) -> bool:
    """Give `target` the published file `source` without copying it where the filesystem allows
    (a hard link); False if `source` is gone."""
    try:
        os.link(source, target)
    except FileNotFoundError:
        return False
    except OSError:  # no hard links here (another filesystem, or one without them)
        try:
            shutil.copyfile(source, target)
        except FileNotFoundError:
            return False
    return True


def _make_read_only(path: Path) -> None:
    mode = path.stat().st_mode
    path.chmod(mode & ~(stat.S_IWUSR | stat.S_IWGRP | stat.S_IWOTH))


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
