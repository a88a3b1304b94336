"""The bench's harness: where it writes, the environment its steps run in, and how a step's
figure, failure or equality check is recorded (orchestration/bench/run.py drives it)."""

from __future__ import annotations

import json
import os
import shutil
import sys
from datetime import datetime, timezone
from pathlib import Path

from orchestration.bench.compare import Check
from orchestration.bench.feeds import landing_files
from orchestration.bench.measure import ProcessRun, run_process
from orchestration.bench.report import machine_info, ratios, say, targets, write_results
from orchestration.bench.scales import Scale
from orchestration.settings import REPO_ROOT, subprocess_environment

BENCHMARKS_DIR = REPO_ROOT / "benchmarks"
ENGINE_FLOOR_SQL = BENCHMARKS_DIR / "engine_floor.sql"
PANDAS_PEER = BENCHMARKS_DIR / "pandas_peer.py"
WHOLE_FLOOR_SQL = BENCHMARKS_DIR / "whole_floor.sql"
POLARS_PEER = BENCHMARKS_DIR / "polars_peer.py"
# A peer still running after 20 minutes, where `campaigns run` takes about two at M, has lost:
# it is stopped and recorded as not finished (at M the Polars peer ran past 27 minutes and
# 15.3 GiB, decoding the nested webhook bodies).
PEER_TIMEOUT_SECONDS = 20 * 60
PEER_MEMORY_SHARE = 0.7  # at L the peer runs only if M's peak, scaled up, fits in this share of RAM
DEFINITIONS_LOADS = 3


class BenchMismatch(AssertionError):
    """The floor, the peer and the marts disagree: the figures compare different answers."""


class BenchStepFailed(RuntimeError):
    """A measured step did not complete (dbt failed, the Dagster run failed, ...)."""


class Bench:
    def __init__(self, scale: Scale, work: Path, results_path: Path):
        self.scale = scale
        self.work = work
        self.results_path = results_path
        self.results: dict = {
            "scale": scale.describe(),
            "started_at": datetime.now(timezone.utc).isoformat(timespec="seconds"),
            "machine": machine_info(),
            # Other work on the machine shows in every figure: the load it had is part of the result.
            "load_average": {"start": [round(x, 2) for x in os.getloadavg()]},
            "figures": {},
            "checks": [],
        }
        self.env = base_env()

    @property
    def figures(self) -> dict:
        return self.results["figures"]

    def say(self, message: str) -> None:
        say(f"bench {self.scale.name}: {message}")

    def save(self) -> None:
        self.results["ratios"] = ratios(self.figures)
        self.results["targets"] = targets(self.figures, self.results["ratios"])
        write_results(self.results, self.results_path)

    def fail(self, step: str, run: ProcessRun) -> None:
        self.figures[step] = {"error": f"exit code {run.returncode}", "seconds": run.seconds, "log": shown(run.log)}
        self.save()
        raise BenchStepFailed(f"{step} failed (exit code {run.returncode}); last lines of {run.log}:\n{run.tail()}")

    def worker(self, step: str, **arguments) -> dict:
        """One in-engine step in a fresh process: its own timings, and the process's peak RSS."""
        result_path = self.work / "steps" / f"{step}-{len(list((self.work / 'steps').glob(step + '*')))}.json"
        result_path.parent.mkdir(parents=True, exist_ok=True)
        run = run_process([sys.executable, "-m", "orchestration.bench.worker", step, json.dumps(arguments),
                           str(result_path)], result_path.with_suffix(".log"), env=self.env, cwd=REPO_ROOT)
        if run.returncode != 0:
            self.fail(step, run)
        return {**json.loads(result_path.read_text()), "peak_rss_bytes": run.peak_rss}

    def check(self, checks: list[Check]) -> None:
        for check in checks:
            self.results["checks"].append(check.as_dict())
            self.say(("ok: " if check.ok else "MISMATCH: ") + check.name)
            if not check.ok:
                print(check.diff, file=sys.stderr, flush=True)


def shown(path: Path) -> str:
    """A path as the results show it: relative to the repository when inside it."""
    try:
        return str(Path(path).resolve().relative_to(REPO_ROOT))
    except ValueError:
        return str(path)


def base_env() -> dict[str, str]:
    env = subprocess_environment()
    # Nothing the benchmark runs may mail anyone or reach the internet.
    for name in ("SENDGRID_API_KEY", "REPORT_RECIPIENTS"):
        env.pop(name, None)
    env.update({"CAMPAIGNS_TIMEZONE": "UTC", "DBT_SEND_ANONYMOUS_USAGE_STATS": "false",
                "DAGSTER_DISABLE_TELEMETRY": "1", "PYTHONUNBUFFERED": "1"})
    return env


def dbt_executable() -> str:
    beside = Path(sys.executable).parent / "dbt"
    found = str(beside) if beside.exists() else shutil.which("dbt")
    if not found:
        raise BenchStepFailed("the dbt command is not installed in this environment")
    return found


def warm_page_cache(root: Path) -> None:
    """Read the files once, untimed, so that no measured step pays for the first disk read."""
    for path in landing_files(root):
        with open(path, "rb") as handle:
            while handle.read(1 << 24):
                pass


