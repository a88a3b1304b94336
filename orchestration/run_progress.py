"""What `campaigns run` prints: one line per step as it ends, read from the run's Dagster events.

The Dagster event log (hundreds of DEBUG lines) stays in `$DAGSTER_HOME` for the UI; a user at a
terminal reads what each step loaded, rejected, built and published, how long it took, and every
asset check that did not pass (`--verbose` prints the event log as well).
"""

from __future__ import annotations

import os
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import TextIO

import dagster as dg

# Keeps Dagster's console logger silent (a failure is printed by us, in one line): the run's
# events are still stored for the UI.
QUIET_RUN_CONFIG = {"loggers": {"console": {"config": {"log_level": "CRITICAL"}}}}
DBT_STEP = "campaign_dbt_models"  # the name of the @dbt_assets (orchestration/assets/transformation.py)


@dataclass
class StepTally:
    started_at: float | None = None
    materializations: list[tuple[dg.AssetKey, dict]] = field(default_factory=list)
    checks: list = field(default_factory=list)  # AssetCheckEvaluation


@dataclass
class RunTotals:
    new_files: int = 0
    lines: int = 0
    rejected: int = 0
    models: int = 0
    checks_passed: int = 0
    warnings: int = 0
    failed_checks: int = 0


def _value(metadata: dict, name: str, default=0):
    entry = metadata.get(name)
    return default if entry is None else getattr(entry, "value", entry)


def _seconds(ms: float) -> str:
    return f"{ms / 1000:.1f} s"


class RunProgress:
    """An event listener (`instance.add_event_listener`) printing a line per finished step."""

    def __init__(self, out: TextIO):
        self.out = out
        self.steps: dict[str, StepTally] = {}
        self.reported: set[str] = set()  # the steps that have their line
        self.totals = RunTotals()
        self.nothing_built = False  # the dbt step found nothing new and did not start dbt

    def __call__(self, entry) -> None:
        event = entry.dagster_event
        if event is None or event.step_key is None:
            return
        tally = self.steps.setdefault(event.step_key, StepTally())
        kind = event.event_type_value
        if kind == "STEP_START":
            tally.started_at = entry.timestamp
        elif kind == "ASSET_MATERIALIZATION":
            materialization = event.event_specific_data.materialization
            tally.materializations.append((materialization.asset_key, dict(materialization.metadata)))
        elif kind == "ASSET_CHECK_EVALUATION":
            tally.checks.append(event.event_specific_data)
        elif kind == "STEP_SUCCESS":
            self.reported.add(event.step_key)
            self._print(f"{self._describe(event.step_key, tally)} "
                        f"({_seconds(event.event_specific_data.duration_ms)})")
            self._print_checks(tally)
        elif kind == "STEP_FAILURE":
            elapsed = (entry.timestamp - tally.started_at) * 1000 if tally.started_at else 0.0
            self.reported.add(event.step_key)
            self._print(f"{step_label(event.step_key)}: FAILED after {_seconds(elapsed)}: "
                        f"{root_cause(event.step_failure_data.error)}")
            self._print_checks(tally)
        elif kind == "STEP_SKIPPED":
            self._print_skipped(event.step_key)

    def finish(self, step_keys: list[str]) -> None:
        """After the run: the steps that never started (Dagster does not always say so in an event)."""
        for step in step_keys:
            if step not in self.reported:
                self._print_skipped(step)

    def _print_skipped(self, step: str) -> None:
        self.reported.add(step)
        reason = ("nothing new was built" if self.nothing_built
                  else "a step or a blocking check before it failed")
        self._print(f"{step_label(step)}: not run ({reason})")

    def _print(self, line: str) -> None:
        print(line, file=self.out, flush=True)

    def _describe(self, step: str, tally: StepTally) -> str:
        metadatas = [metadata for _, metadata in tally.materializations]
        if metadatas and "lines_read" in metadatas[0]:
            return self._describe_load(step, metadatas, tally)
        if metadatas and "copied" in metadatas[0]:
            return self._describe_publish(metadatas[0])
        if step == DBT_STEP:
            return self._describe_dbt(tally)
        self._count_checks(tally)
        keys = ", ".join(key.to_user_string() for key, _ in tally.materializations)
        return f"{step}: {'materialized ' + keys if keys else 'done'}"

    def _describe_load(self, step: str, metadatas: list[dict], tally: StepTally) -> str:
        first = metadatas[0]
        files, lines, rejected = (_value(first, "new_files"), _value(first, "lines_read"),
                                  _value(first, "rows_rejected"))
        loaded = sum(_value(metadata, "rows_loaded") for metadata in metadatas)
        self.totals.new_files += files
        self.totals.lines += lines
        self.totals.rejected += rejected
        self._count_checks(tally)
        return (f"{step}: {files:,} new files, {lines:,} lines, {loaded:,} rows loaded, "
                f"{rejected:,} rejected")

    def _describe_dbt(self, tally: StepTally) -> str:
        models = len(tally.materializations)
        if not models and not tally.checks:
            self.nothing_built = True
            return "dbt build: skipped, nothing new since the last build"
        passed, warnings, failed = self._count_checks(tally)
        self.totals.models += models
        failed_text = f", {failed} failed" if failed else ""
        return f"dbt build: {models} models, {passed} tests passed, {warnings} warnings{failed_text}"

    def _describe_publish(self, metadata: dict) -> str:
        copied, reused = list(_value(metadata, "copied", [])), list(_value(metadata, "reused", []))
        folder = os.path.dirname(str(_value(metadata, "bi_duckdb", "")))
        # The spark engine serves the marts into the warehouse file first (assets/publishing.py).
        served = list(_value(metadata, "served_from_spark", []))
        head = f"publish: {len(served)} marts served from Spark; " if served else "publish: "
        if not copied:
            return f"{head}no mart changed, version {_value(metadata, 'version', '?')} in {folder} stays"
        return f"{head}{len(copied) + len(reused)} marts ({len(copied)} re-exported) → {folder}"

    def _count_checks(self, tally: StepTally) -> tuple[int, int, int]:
        passed = sum(1 for check in tally.checks if check.passed)
        warnings = sum(1 for check in tally.checks if not check.passed and check.severity.value == "WARN")
        failed = len(tally.checks) - passed - warnings
        self.totals.checks_passed += passed
        self.totals.warnings += warnings
        self.totals.failed_checks += failed
        return passed, warnings, failed

    def _print_checks(self, tally: StepTally) -> None:
        for check in tally.checks:
            if not check.passed:
                label = "warning" if check.severity.value == "WARN" else "FAILED"
                description = f": {check.description}" if check.description else ""
                self._print(f"  check {label}: {check.asset_key.to_user_string()} {check.check_name}{description}")


def step_label(step: str) -> str:
    """The name a step's line starts with: `dbt build` and `publish` read better than op names."""
    if step == DBT_STEP:
        return "dbt build"
    if step.startswith("publish__"):
        return "publish"
    return step


def root_cause(error) -> str:
    """The innermost error of a Dagster failure: what went wrong, not where Dagster caught it."""
    while error is not None and error.cause is not None:
        error = error.cause
    return first_line(error.message) if error is not None else "no message"


def first_line(text: str) -> str:
    """The line of an error message that says what went wrong (a traceback's last line)."""
    lines = [line.strip() for line in (text or "").strip().splitlines() if line.strip()]
    return lines[-1] if lines else "no message"


@contextmanager
def terminal_only_for_us(quiet: bool) -> Iterator[TextIO]:
    """A stream to the terminal for the progress lines; when quiet, file descriptor 1 points at
    /dev/null meanwhile, so what dbt writes to stdout reaches the run's captured logs (the UI)
    and not the terminal."""
    if not quiet:
        yield sys.stdout
        return
    sys.stdout.flush()
    terminal = os.dup(1)
    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, 1)
    os.close(devnull)
    out = os.fdopen(terminal, "w", buffering=1, encoding="utf-8")
    try:
        yield out
    finally:
        sys.stdout.flush()
        out.flush()
        os.dup2(out.fileno(), 1)
        out.close()
