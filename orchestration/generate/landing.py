"""Lines to landing files: which `dt=` folder and file each line lands in, the malformed lines,
and the writing itself (plain or gzip, atomically, in a background thread).

Each line lands in the folder of the UTC day it arrives (`dt`). Lines are grouped in hourly
batches per source: a batch is uploaded late (LATE_BLOCK_RATE: into a `-late` file of a folder
1 to LATE_MAX_DAYS days later) or re-uploaded (REUPLOAD_BLOCK_RATE: a second, `-reupload`
file in its own, older folder); every other line goes to the folder's main file.
"""

from __future__ import annotations

import gzip
import os
import sys
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import date, timedelta
from pathlib import Path

import numpy as np
from tqdm import tqdm

from orchestration.generate import rates as R
from orchestration.generate.corrupt import KINDS, corrupt
from orchestration.generate.feeds import Feed

MAIN, LATE, REUPLOAD = 0, 1, 2
_SUFFIX = {MAIN: "", LATE: "-late", REUPLOAD: "-reupload"}
_PENDING_WRITES = 2  # files rendered ahead of the writer thread


@dataclass
class SourceResult:
    files: list[str] = field(default_factory=list)
    lines: int = 0
    malformed: int = 0
    bytes: int = 0


def route(rng: np.random.Generator, arrival_ms: np.ndarray, start_ms: int, force: bool) -> tuple[np.ndarray, np.ndarray]:
    """(dt day index from the start, file kind) per line."""
    block = (arrival_ms - start_ms) // R.HOUR_MS
    blocks, inverse = np.unique(block, return_inverse=True)
    u = rng.random(blocks.shape[0])
    late = u < R.LATE_BLOCK_RATE
    reupload = (u >= R.LATE_BLOCK_RATE) & (u < R.LATE_BLOCK_RATE + R.REUPLOAD_BLOCK_RATE)
    if force and blocks.shape[0] >= 3:
        # at least one of each in every source, so that even small samples have them
        if not late.any():
            late[int(rng.integers(0, blocks.shape[0]))] = True
        if not reupload.any():
            free = np.flatnonzero(~late)
            reupload[free[int(rng.integers(0, free.shape[0]))]] = True
    delay = rng.integers(1, R.LATE_MAX_DAYS + 1, blocks.shape[0])
    dt = (arrival_ms - start_ms) // R.DAY_MS + np.where(late, delay, 0)[inverse]
    kind = np.where(late, LATE, np.where(reupload, REUPLOAD, MAIN))[inverse]
    return dt, kind


def pick_malformed(rng: np.random.Generator, n: int) -> tuple[np.ndarray, np.ndarray]:
    """(rows, kind index) of the lines to corrupt: ~MALFORMED_RATE of them, at least
    MIN_MALFORMED_PER_SOURCE, the four kinds in turn."""
    if n == 0:
        return np.zeros(0, np.int64), np.zeros(0, np.int64)
    count = min(n, max(R.MIN_MALFORMED_PER_SOURCE, int(rng.binomial(n, R.MALFORMED_RATE))))
    rows = np.sort(rng.choice(n, count, replace=False))
    kinds = (np.arange(count) + int(rng.integers(0, len(KINDS)))) % len(KINDS)
    return rows, kinds


def _write(path: Path, text: str, compress: bool) -> int:
    data = text.encode("utf-8")
    if compress:
        data = gzip.compress(data, compresslevel=R.GZIP_LEVEL, mtime=0)
    tmp = path.with_name("." + path.name + ".tmp")
    with open(tmp, "wb") as f:
        f.write(data)
    os.replace(tmp, path)
    return len(data)


def write_feed(out: Path, feed: Feed, start: date, start_ms: int, rng: np.random.Generator,
               progress: bool, writer: ThreadPoolExecutor) -> SourceResult:
    result = SourceResult()
    dt, kind = route(rng, feed.arrival_ms, start_ms, force=feed.force_file_quirks)
    bad_kind = np.full(feed.n, -1, dtype=np.int64)
    pick = rng.integers(0, 1 << 30, feed.n)
    if feed.malformed_rows is None:
        rows, kinds = pick_malformed(rng, feed.n)
        bad_kind[rows] = kinds
        result.malformed = int(rows.shape[0])
    else:  # rendered malformed already
        result.malformed = int(feed.malformed_rows.shape[0])

    file_key = dt * 3 + kind
    order = np.lexsort((np.arange(feed.n), feed.arrival_ms, file_key))
    keys = file_key[order]
    cuts = np.flatnonzero(np.diff(keys)) + 1
    starts = np.concatenate([[0], cuts]) if feed.n else np.zeros(0, np.int64)
    ends = np.concatenate([cuts, [feed.n]]) if feed.n else np.zeros(0, np.int64)
    pending: list[Future] = []
    bar = tqdm(total=len(starts), desc=f"{feed.source:<9}", unit="file", file=sys.stderr,
               disable=not progress, leave=True, dynamic_ncols=True)
    try:
        for a, b in zip(starts.tolist(), ends.tolist()):
            rows = order[a:b]
            key = int(keys[a])
            day, file_kind = divmod(key, 3)
            folder_day = start + timedelta(days=day)
            bar.set_postfix_str(f"dt={folder_day.isoformat()}")
            text = "".join(feed.render(rows).tolist())
            bad_positions = np.flatnonzero(bad_kind[rows] >= 0)
            if bad_positions.shape[0]:
                lines = text.split("\n")
                for position in bad_positions.tolist():
                    row = int(rows[position])
                    lines[position] = corrupt(feed.source, lines[position], KINDS[bad_kind[row]], int(pick[row]))
                text = "\n".join(lines)
            compress = feed.gzip_main if file_kind == MAIN else not feed.gzip_main
            folder = out / feed.source / f"dt={folder_day.isoformat()}"
            folder.mkdir(parents=True, exist_ok=True)
            name = f"{feed.source}-{folder_day.strftime('%Y%m%d')}{_SUFFIX[file_kind]}.jsonl" + (".gz" if compress else "")
            result.files.append(f"{feed.source}/{folder.name}/{name}")
            result.lines += b - a
            pending.append(writer.submit(_write, folder / name, text, compress))
            del text
            running = [f for f in pending if not f.done()]
            if len(running) > _PENDING_WRITES:
                running[0].result()  # one writer thread: the oldest is next
            bar.update(1)
        for f in pending:
            result.bytes += f.result()
    finally:
        bar.close()
    return result
