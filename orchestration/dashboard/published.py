"""The published BI copy the page reads: the version `current` points at, opened read-only.

`current` is resolved once per page request, and every read of that request goes to that
version's folder, so one page shows one version even while the pipeline swaps in the next. A
version pruned between the resolve and the open (a reader that slept through three
publications) is resolved again.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import TYPE_CHECKING

from orchestration.publishing import MANIFEST, SNAPSHOT

if TYPE_CHECKING:
    import duckdb

# How many times a version that vanished under the reader is resolved again.
RESOLVE_ATTEMPTS = 3


class DashboardError(Exception):
    """Something the page cannot show; the message is one line meant for the reader."""

    def __init__(self, message: str):
        super().__init__(" ".join(str(message).split()))


@dataclass(frozen=True)
class PublishedCopy:
    root: Path
    folder: Path  # the resolved version folder
    version: str
    built_at: datetime | None  # UTC; from the version's name (the time it was published)

    @property
    def snapshot(self) -> Path:
        return self.folder / SNAPSHOT

    def describe(self) -> str:
        built = f", built {self.built_at:%Y-%m-%d %H:%M:%S} UTC" if self.built_at else ""
        return f"published version {self.version}{built} ({self.root})"


def _built_at(version: str) -> datetime | None:
    try:  # publishing names a version after the UTC instant it was made
        return datetime.strptime(version, "%Y%m%dT%H%M%S%fZ").replace(tzinfo=timezone.utc)
    except ValueError:
        return None


def locate_published(publish_root: str | Path) -> PublishedCopy:
    """The version BI tools see now, or a DashboardError saying how to make one."""
    root = Path(publish_root)
    current = root / "current"
    try:
        folder = current.resolve(strict=True)
    except (OSError, RuntimeError):
        raise DashboardError(
            f"no published copy of the marts in {root} (CAMPAIGNS_PUBLISH): run `make run` "
            "(or `campaigns run`) first, which publishes one after every build") from None
    if not (folder / SNAPSHOT).is_file():
        raise DashboardError(f"the published version {folder.name} in {root} has no {SNAPSHOT}: "
                             "publish again with `campaigns run`")
    version = folder.name
    try:
        version = json.loads((folder / MANIFEST).read_text()).get("version") or version
    except (OSError, ValueError, AttributeError):
        pass  # a version from before the manifest: its folder name says the same
    return PublishedCopy(root, folder, version, _built_at(version))


def _connect(snapshot: Path) -> duckdb.DuckDBPyConnection:
    import duckdb

    con = duckdb.connect(str(snapshot), read_only=True)
    con.execute("SET TimeZone = 'UTC'")  # instants are UTC, as in the warehouse
    return con


@contextmanager
def open_published(
        publish_root: str | Path) -> Iterator[tuple[PublishedCopy, duckdb.DuckDBPyConnection]]:
    """The current version and a read-only connection to its bi.duckdb, closed afterwards."""
    import duckdb

    for attempt in range(1, RESOLVE_ATTEMPTS + 1):
        copy = locate_published(publish_root)
        try:
            con = _connect(copy.snapshot)
            break
        except duckdb.IOException as error:
            if copy.snapshot.exists() and attempt == RESOLVE_ATTEMPTS:
                raise DashboardError(f"cannot open {copy.snapshot}: {_first_line(error)}") from None
            if attempt == RESOLVE_ATTEMPTS:
                raise DashboardError(f"the published version {copy.version} vanished while it "
                                     "was opened; reload the page") from None
    try:
        yield copy, con
    finally:
        con.close()


@contextmanager
def open_version(copy: PublishedCopy) -> Iterator[duckdb.DuckDBPyConnection]:
    """A connection to one given version (the download of a page already shown)."""
    import duckdb

    try:
        con = _connect(copy.snapshot)
    except duckdb.IOException as error:
        raise DashboardError(f"the published version {copy.version} is gone "
                             f"({_first_line(error)}): reload the page") from None
    try:
        yield con
    finally:
        con.close()


def _first_line(error: Exception) -> str:
    lines = [line.strip() for line in str(error).splitlines() if line.strip()]
    return lines[0] if lines else type(error).__name__
