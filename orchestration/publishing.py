"""Publish the marts for BI tools as a read-only copy, swapped in atomically.

DuckDB lets no other process read the warehouse while the pipeline writes it, so BI tools read
a copy: `$CAMPAIGNS_PUBLISH/bi.duckdb` (schema `marts`, the same tables and types) and Parquet
in `$CAMPAIGNS_PUBLISH/current/`: a file per mart, a folder with a file per day for each of the
three facts (`<fact>/<YYYY-MM-DD>.parquet`). Each publication is written whole into
a new version folder and then swapped in with a rename (atomic on POSIX): a reader sees the old
version or the new one, never half of each. Readers that hold the old file keep reading it.

Only the marts that changed are exported again. Each version folder holds `publication.json`,
the fingerprint of every mart it holds: its columns and types, its row count and the sum of
DuckDB's 64-bit hash of each row. A mart whose fingerprint equals the current version's is
reused: its Parquet file is hard-linked from that version, and `bi.duckdb` is the previous file
copied with only the changed tables replaced. The three facts are fingerprinted per day (the UTC
date of a timestamp every row has, `DAY_COLUMNS`): in `bi.duckdb` only the days whose rows changed
are deleted and inserted again, so a daily run writes about the days it touched, not the whole
history. When no mart changed at all, no version is made: the
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
from datetime import date, datetime, timedelta, timezone
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import duckdb

VERSIONS_KEPT = 3
# The day a fact's row belongs to, for patching bi.duckdb day by day: a mart without this column
# (or any other mart) is fingerprinted and replaced whole.
DAY_COLUMNS = {"fct_reminders": "sent_at", "fct_clicks": "clicked_at", "fct_conversions": "order_created_at"}
# Deleted rows leave free blocks that later inserts reuse, so a patched file levels off (about
# twice its data, measured); past this multiple of its last whole write it is written whole again.
PATCHED_GROWTH_LIMIT = 2.5
UNDATED = "undated"  # the day of a fact's row whose day column is null
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
    days: tuple[tuple[str, int, str], ...] | None = None  # (day, rows, row hash sum) of a fact

    def to_json(self) -> dict:
        value = {"columns": [list(column) for column in self.columns], "rows": self.rows,
                 "row_hash_sum": self.row_hash_sum}
        if self.days is not None:
            value["days"] = [list(day) for day in self.days]
        return value

    @classmethod
    def from_json(cls, value: dict) -> Fingerprint:
        days = value.get("days")
        return cls(tuple((name, data_type) for name, data_type in value["columns"]),
                   int(value["rows"]), str(value["row_hash_sum"]),
                   None if days is None else tuple((str(d), int(n), str(h)) for d, n, h in days))

    def changed_days(self, previous: Fingerprint | None) -> list[str] | None:
        """The days whose rows differ from `previous`'s, or None when the two cannot be
        compared day by day (no days, or other columns): the mart is then replaced whole."""
        if previous is None or self.days is None or previous.days is None or previous.columns != self.columns:
            return None
        before, after = ({day: (n, h) for day, n, h in p.days} for p in (previous, self))
        return sorted(day for day in before.keys() | after.keys() if before.get(day) != after.get(day))

    def rows_of(self, days: list[str]) -> int:
        wanted = set(days)
        return sum(n for day, n, _ in self.days or () if day in wanted)


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
    written_bytes: int | None  # bi.duckdb's size when it was last written whole


@dataclass(frozen=True)
class _Snapshot:
    how: str  # SNAPSHOT_*
    written_bytes: int | None


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
    day_column = DAY_COLUMNS.get(mart)
    if day_column not in {name for name, _ in columns}:
        rows, hash_sum = con.execute(
            f"SELECT count(*), coalesce(sum({row_hash}), 0) FROM marts.{_quote_name(mart)}").fetchone()
        return Fingerprint(tuple(columns), rows, str(hash_sum))
    days = con.execute(
        f"SELECT {_day_key(day_column)} AS day, count(*), sum({row_hash}) FROM marts.{_quote_name(mart)} "
        "GROUP BY day ORDER BY day").fetchall()
    return Fingerprint(tuple(columns), sum(n for _, n, _ in days), str(sum(int(h) for _, _, h in days)),
                       tuple((day, n, str(h)) for day, n, h in days))


def _day_key(column: str) -> str:
    """A row's day as text (`undated` for none): the key of a fact's day fingerprints and the
    name of its Parquet file."""
    return f"coalesce(CAST(CAST({_quote_name(column)} AS DATE) AS VARCHAR), '{UNDATED}')"


def _days_filter(column: str, days: list[str]) -> str:
    """SQL selecting a fact's rows of `days` (day keys; parameter: their list). The day key
    decides; the same days as ranges of the column go first, which DuckDB checks against each
    row group's minimum and maximum: the row groups of other days are skipped, not read."""
    dated = sorted(date.fromisoformat(day) for day in days if day != UNDATED)
    ranges: list[list[date]] = []
    for day in dated:
        if ranges and ranges[-1][1] == day:
            ranges[-1][1] = day + timedelta(days=1)
        else:
            ranges.append([day, day + timedelta(days=1)])
    name = _quote_name(column)
    parts = [f"({name} >= DATE '{start.isoformat()}' AND {name} < DATE '{end.isoformat()}')" for start, end in ranges]
    if UNDATED in days:
        parts.append(f"{name} IS NULL")
    return f"({' OR '.join(parts) or 'false'}) AND {_day_key(column)} IN (SELECT unnest(?::VARCHAR[]))"


def _publish_days(con: duckdb.DuckDBPyConnection, mart: str, mart_print: Fingerprint, before: Fingerprint | None,
                  previous_folder: Path | None, folder: Path) -> bool:
    """A fact's Parquet files, one per day under `<version>/<mart>/`: the unchanged days'
    hard-linked from the previous version, the others written in one pass. True when the mart
    did not change (every day reused, none gone)."""
    target = folder / mart
    target.mkdir()
    changed = mart_print.changed_days(before)
    days = [day for day, _, _ in mart_print.days or ()]
    if changed is None or previous_folder is None:
        changed = days
    unchanged = [day for day in days if day not in set(changed)]
    missing = [day for day in unchanged if not _share_day(previous_folder / mart, target, day)]
    to_write = sorted(set(days) & (set(changed) | set(missing)))
    if to_write:
        scratch = folder / f".{mart}.partitions"
        con.execute(
            f"COPY (SELECT *, {_day_key(DAY_COLUMNS[mart])} AS _day FROM marts.{_quote_name(mart)} "
            f"WHERE {_days_filter(DAY_COLUMNS[mart], to_write)}) TO {_quote_path(scratch)} "
            "(FORMAT parquet, PARTITION_BY (_day))", [to_write])
        for partition in scratch.iterdir():
            day = partition.name.split("=", 1)[1]
            files = sorted(partition.glob("*.parquet"))
            for index, written in enumerate(files):
                written.rename(target / (f"{day}.parquet" if index == 0 else f"{day}.{index}.parquet"))
        shutil.rmtree(scratch)
    return not to_write and mart_print == before


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
    reused, copied = [], []
    for mart, mart_print in fingerprints.items():
        before = previous.fingerprints.get(mart) if previous is not None else None
        if mart_print.days is None:
            shared = before == mart_print and _share(previous.folder / f"{mart}.parquet", folder / f"{mart}.parquet")
            if not shared:
                con.execute(f"COPY marts.{_quote_name(mart)} TO {_quote_path(folder / f'{mart}.parquet')} "
                            "(FORMAT parquet)")
        else:
            shared = _publish_days(con, mart, mart_print, before, previous.folder if previous else None, folder)
        (reused if shared else copied).append(mart)
    snapshot = _write_snapshot(con, folder / SNAPSHOT, fingerprints, reused, previous)

    (folder / MANIFEST).write_text(json.dumps({
        "version": version, "duckdb_version": engine, "snapshot_written_bytes": snapshot.written_bytes,
        "marts": {mart: mart_print.to_json() for mart, mart_print in fingerprints.items()},
    }, indent=1))
    for path in folder.rglob("*"):
        if path.is_file():
            _make_read_only(path)

    _swap(root / "current", Path("versions") / version)
    _swap(root / SNAPSHOT, Path("versions") / version / SNAPSHOT)
    _prune(versions, keep=VERSIONS_KEPT)
    return Publication(version, folder, {mart: mart_print.rows for mart, mart_print in fingerprints.items()},
                       tuple(copied), tuple(reused), snapshot.how)


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
    written = manifest.get("snapshot_written_bytes")
    return _Previous(folder, fingerprints, written if isinstance(written, int) else None)


def _write_snapshot(con: duckdb.DuckDBPyConnection, snapshot: Path, fingerprints: dict[str, Fingerprint],
                    reused: list[str], previous: _Previous | None) -> _Snapshot:
    """bi.duckdb for the new version, from the previous one as much as it is still right: its
    unchanged marts kept, a fact's changed days deleted and inserted again, any other changed
    mart replaced whole."""
    changed = [mart for mart in fingerprints if mart not in reused]
    days = {mart: fingerprints[mart].changed_days(previous.fingerprints.get(mart) if previous else None)
            for mart in changed}
    days = {mart: changed_days for mart, changed_days in days.items() if changed_days is not None}
    previous_snapshot = previous.folder / SNAPSHOT if previous is not None else None
    usable = (previous_snapshot is not None and previous_snapshot.is_file()
              and not previous_snapshot.with_name(SNAPSHOT + ".wal").exists()
              and (previous.written_bytes is None
                   or previous_snapshot.stat().st_size <= PATCHED_GROWTH_LIMIT * previous.written_bytes))
    # Patching copies the whole previous file: worth it only when most of its rows stay.
    written = {mart: fingerprints[mart].rows_of(days[mart]) if mart in days else fingerprints[mart].rows
               for mart in changed}
    kept_rows = sum(fingerprints[mart].rows for mart in fingerprints) - sum(written.values())
    patch = usable and kept_rows >= sum(written.values())
    if patch:
        shutil.copyfile(previous_snapshot, snapshot)
    else:
        days = {}

    con.execute(f"ATTACH {_quote_path(snapshot)} AS bi_snapshot")
    try:
        con.execute("CREATE SCHEMA IF NOT EXISTS bi_snapshot.marts")
        present = {name for (name,) in con.execute(
            "SELECT table_name FROM information_schema.tables WHERE table_catalog = 'bi_snapshot' "
            "AND table_schema = 'marts'").fetchall()}
        days = {mart: changed_days for mart, changed_days in days.items() if mart in present}
        stale = sorted(present - set(reused) - set(days))
        for table in stale:
            con.execute(f"DROP TABLE bi_snapshot.marts.{_quote_name(table)}")
        for mart, changed_days in days.items():
            con.execute(f"DELETE FROM bi_snapshot.marts.{_quote_name(mart)} WHERE "
                        f"{_days_filter(DAY_COLUMNS[mart], changed_days)}", [changed_days])
        if stale or days:
            # Free the dropped tables' and deleted rows' blocks before writing: the new rows
            # reuse them, so the file keeps its size from one version to the next.
            con.execute("CHECKPOINT bi_snapshot")
        for mart, changed_days in days.items():
            con.execute(f"INSERT INTO bi_snapshot.marts.{_quote_name(mart)} SELECT * FROM marts.{_quote_name(mart)} "
                        f"WHERE {_days_filter(DAY_COLUMNS[mart], changed_days)}", [changed_days])
        for mart in fingerprints:
            if mart not in present or mart in stale:
                con.execute(f"CREATE TABLE bi_snapshot.marts.{_quote_name(mart)} AS "
                            f"SELECT * FROM marts.{_quote_name(mart)}")
    finally:
        con.execute("DETACH bi_snapshot")
    if patch:
        # A file from before sizes were recorded: its size now is the baseline.
        return _Snapshot(SNAPSHOT_PATCHED, previous.written_bytes or previous_snapshot.stat().st_size)
    return _Snapshot(SNAPSHOT_WRITTEN, snapshot.stat().st_size)


def _share_day(source: Path, target: Path, day: str) -> bool:
    """The previous version's files of a day (one, or more for a very large day)."""
    files = sorted(source.glob(f"{day}.parquet")) + sorted(source.glob(f"{day}.[0-9]*.parquet"))
    return bool(files) and all(_share(path, target / path.name) for path in files)


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
