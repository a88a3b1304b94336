"""Wall time and peak memory of a process tree.

Peak memory is the resident set (RSS) of a process and all its descendants (dbt runs as a
child of the Dagster run, for instance), sampled with psutil in a thread every 50 ms. Pages
shared between processes count once per process: an upper bound, which suits a budget.
"""

from __future__ import annotations

import os
import signal
import subprocess
import threading
import time
from dataclasses import dataclass
from pathlib import Path

import psutil

SAMPLE_SECONDS = 0.05


def tree_rss(process: psutil.Process) -> int:
    total = 0
    try:
        members = [process, *process.children(recursive=True)]
    except psutil.Error:
        return 0
    for member in members:
        try:
            total += member.memory_info().rss
        except psutil.Error:
            pass  # ended between listing and sampling
    return total


class PeakMemory:
    """`with PeakMemory(pid) as peak: ...` then `peak.bytes`."""

    def __init__(self, pid: int | None = None):
        self.process = psutil.Process(pid or os.getpid())
        self.bytes = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._sample, name="peak-memory", daemon=True)

    def _sample(self) -> None:
        while True:
            self.bytes = max(self.bytes, tree_rss(self.process))
            if self._stop.wait(SAMPLE_SECONDS):
                return

    def __enter__(self) -> PeakMemory:
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self._stop.set()
        self._thread.join()


@dataclass
class ProcessRun:
    seconds: float
    peak_rss: int
    returncode: int
    log: Path

    def tail(self, lines: int = 25) -> str:
        text = self.log.read_text(errors="replace") if self.log.exists() else ""
        return "\n".join(text.rstrip().splitlines()[-lines:])


def run_process(command: list[str], log: Path, env: dict[str, str] | None = None, cwd: Path | None = None,
                timeout: float | None = None) -> ProcessRun:
    """Run `command` to completion with its output in `log`; its wall time and peak RSS."""
    log.parent.mkdir(parents=True, exist_ok=True)
    with open(log, "wb") as output:
        started = time.perf_counter()
        # A session of its own, so that a timeout ends the command and its children (dbt), no more.
        process = subprocess.Popen(command, stdout=output, stderr=subprocess.STDOUT, env=env, cwd=cwd,
                                   start_new_session=True)
        with PeakMemory(process.pid) as peak:
            try:
                returncode = process.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                os.killpg(process.pid, signal.SIGKILL)
                process.wait()
                returncode = -9
        seconds = time.perf_counter() - started
    return ProcessRun(seconds, peak.bytes, returncode, log)
