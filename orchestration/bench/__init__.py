"""`campaigns bench --scale S|M|L`: what the pipeline costs next to what DuckDB itself needs.

    run_bench(scale, work_dir=None, skip_peer=None) -> dict

On one set of landing files per scale (generated once, cached), one run measures, one step at a
time and each in a process of its own:
1. the parse floor: DuckDB's bare read_json over each source's files (row count);
2. ingestion: our loader, source by source, into a new warehouse;
3. transforms: `dbt build --full-refresh` on that warehouse;
4. the engine floor: benchmarks/engine_floor.sql, the same rules by hand in DuckDB SQL;
5. the pandas peer: benchmarks/pandas_peer.py, the same rules as a pandas user writes them;
6. `campaigns run` through Dagster on the history (wall time, peak RSS of the process tree),
   then again after one more day has landed (the incremental day);
7. the time to import the Dagster definitions in a fresh Python;
8. the overview page answering a range change (7 and 30 days) on the marts step 6 published.
The floor and the peer must find the same conversions and daily metrics as the marts, and the
marts after the incremental run the same as the floor over all the data: a failed check is
printed as a diff and raises BenchMismatch (after the results are written), since timings of
programs that disagree mean nothing.

Results: `benchmarks/results/<scale>.json` and a printed table. With `work_dir`, everything
(feeds cache, scratch warehouses, results) stays under it instead: the smoke test's mode.
"""

from __future__ import annotations

import json
import os
import shutil
import statistics
import sys
from datetime import datetime, timezone
from pathlib import Path

import duckdb

from orchestration.bench.compare import Check, compare_outputs, peer_relations
from orchestration.bench.feeds import Feeds, ensure_feeds, landing_files, link_tree
from orchestration.bench.measure import ProcessRun, run_process
from orchestration.bench.report import (GIB, machine_info, ratios, render_table, say, targets,
                                        write_results)
from orchestration.bench.scales import SCALES, Scale, get_scale
from orchestration.settings import DBT_PROJECT_DIR, REPO_ROOT

__all__ = ["SCALES", "BenchMismatch", "BenchStepFailed", "run_bench"]

BENCHMARKS_DIR = REPO_ROOT / "benchmarks"
ENGINE_FLOOR_SQL = BENCHMARKS_DIR / "engine_floor.sql"
PANDAS_PEER = BENCHMARKS_DIR / "pandas_peer.py"
PEER_TIMEOUT_SECONDS = 3 * 3600
PEER_MEMORY_SHARE = 0.7  # at L the peer runs only if M's peak, scaled up, fits in this share of RAM
DEFINITIONS_LOADS = 3


class BenchMismatch(AssertionError):
    """The floor, the peer and the marts disagree: the figures compare different answers."""


class BenchStepFailed(RuntimeError):
    """A measured step did not complete (dbt failed, the Dagster run failed, ...)."""


class _Bench:
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
        self.env = _base_env()

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
        self.figures[step] = {"error": f"exit code {run.returncode}", "seconds": run.seconds, "log": _shown(run.log)}
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


def _shown(path: Path) -> str:
    """A path as the results show it: relative to the repository when inside it."""
    try:
        return str(Path(path).resolve().relative_to(REPO_ROOT))
    except ValueError:
        return str(path)


def _base_env() -> dict[str, str]:
    env = dict(os.environ)
    # Nothing the benchmark runs may mail anyone or reach the internet.
    for name in ("SENDGRID_API_KEY", "REPORT_RECIPIENTS"):
        env.pop(name, None)
    env.update({"CAMPAIGNS_TIMEZONE": "UTC", "DBT_SEND_ANONYMOUS_USAGE_STATS": "false",
                "DAGSTER_DISABLE_TELEMETRY": "1", "PYTHONUNBUFFERED": "1"})
    return env


def _dbt_executable() -> str:
    beside = Path(sys.executable).parent / "dbt"
    found = str(beside) if beside.exists() else shutil.which("dbt")
    if not found:
        raise BenchStepFailed("the dbt command is not installed in this environment")
    return found


def _warm_page_cache(root: Path) -> None:
    """Read the files once, untimed, so that no measured step pays for the first disk read."""
    for path in landing_files(root):
        with open(path, "rb") as handle:
            while handle.read(1 << 24):
                pass


def _marts_exist(con: duckdb.DuckDBPyConnection) -> bool:
    return con.execute(
        "SELECT count(*) FROM information_schema.tables WHERE table_schema = 'marts' "
        "AND table_name IN ('fct_conversions', 'mart_daily_campaign_metrics')").fetchone()[0] == 2


def _missing_marts(label: str, database: Path) -> list[Check]:
    return [Check(f"{label}: the marts exist", False, 0, 0,
                  diff=f"{database} has no marts.fct_conversions / marts.mart_daily_campaign_metrics: "
                       "the step did not build the dbt models")]


def _measure_parse_and_ingest(bench: _Bench, feeds: Feeds, warehouse: Path) -> None:
    bench.say("warming the page cache")
    _warm_page_cache(feeds.landing)
    bench.say("parse floor (DuckDB read_json)")
    bench.figures["parse_floor"] = bench.worker("parse_floor", landing=str(feeds.landing),
                                                store_database=str(bench.work / "parse_floor.duckdb"))
    bench.say(f"  {bench.figures['parse_floor']['seconds']:.2f} s")
    bench.say("ingestion (our loader)")
    bench.figures["ingestion"] = bench.worker("ingest", landing=str(feeds.landing), database=str(warehouse))
    bench.say(f"  {bench.figures['ingestion']['seconds']:.2f} s")


def _measure_transforms(bench: _Bench, warehouse: Path) -> None:
    dbt_dir = bench.work / "dbt"
    env = {**bench.env, "CAMPAIGNS_WAREHOUSE": str(warehouse)}
    common = ["--project-dir", str(DBT_PROJECT_DIR), "--profiles-dir", str(DBT_PROJECT_DIR),
              "--target-path", str(dbt_dir / "target"), "--log-path", str(dbt_dir / "logs")]
    # Parsed once beforehand, as a deployed project is: the build measures building, not parsing.
    parse = run_process([_dbt_executable(), "parse", *common], dbt_dir / "parse.log", env=env, cwd=DBT_PROJECT_DIR)
    if parse.returncode != 0:
        bench.fail("transforms", parse)
    bench.say("transforms (dbt build --full-refresh)")
    run = run_process([_dbt_executable(), "build", "--full-refresh", *common], dbt_dir / "build.log",
                      env=env, cwd=DBT_PROJECT_DIR)
    if run.returncode != 0:
        bench.fail("transforms", run)
    figure = {"seconds": run.seconds, "peak_rss_bytes": run.peak_rss}
    run_results = dbt_dir / "target" / "run_results.json"
    if run_results.exists():
        nodes = json.loads(run_results.read_text())
        figure["dbt_elapsed_seconds"] = nodes.get("elapsed_time")
        results = nodes.get("results", [])
        figure["models_seconds"] = round(sum(r.get("execution_time") or 0 for r in results
                                             if r["unique_id"].startswith("model.")), 3)
        figure["tests_seconds"] = round(sum(r.get("execution_time") or 0 for r in results
                                            if r["unique_id"].startswith(("test.", "unit_test."))), 3)
        figure["slowest_nodes"] = {r["unique_id"]: round(r.get("execution_time") or 0, 3)
                                   for r in sorted(results, key=lambda r: -(r.get("execution_time") or 0))[:8]}
    bench.figures["transforms"] = figure
    bench.say(f"  {run.seconds:.2f} s")


def _measure_engine_floor(bench: _Bench, warehouse: Path, figure: str | None) -> list[Check]:
    """The engine floor over `warehouse`'s raw tables (timed as `figure`, unless None), then
    its answers against the marts beside them."""
    bench.say("engine floor (benchmarks/engine_floor.sql)")
    result = bench.worker("engine_floor", database=str(warehouse), script=str(ENGINE_FLOOR_SQL))
    if figure:
        bench.figures[figure] = result
    bench.say(f"  {result['seconds']:.2f} s")
    con = duckdb.connect(str(warehouse), read_only=True)
    try:
        if not _marts_exist(con):
            return _missing_marts("engine floor", warehouse)
        return compare_outputs(con, "engine floor", "engine_floor.conversions", "engine_floor.daily_metrics")
    finally:
        con.close()


def _peer_decision(scale: Scale, skip_peer: bool | None) -> str | None:
    """Why the peer is skipped, or None to run it."""
    if skip_peer is True:
        return "skipped on request"
    if skip_peer is False or scale.name != "L":
        return None
    reference = BENCHMARKS_DIR / "results" / "M.json"
    if not reference.exists():
        return "at L the peer runs only if M's results show it can finish: run scale M first (or skip_peer=False)"
    m = json.loads(reference.read_text())
    peak = (m.get("figures", {}).get("pandas_peer") or {}).get("peak_rss_bytes")
    if not peak:
        return "M's results have no pandas peer figure to extrapolate from"
    import psutil

    estimate = peak * scale.reminders / m["scale"]["reminders"]
    budget = PEER_MEMORY_SHARE * psutil.virtual_memory().total
    if estimate > budget:
        return (f"cannot finish: M's peak {peak / GIB:.1f} GiB scales to ~{estimate / GIB:.1f} GiB at L, "
                f"over {budget / GIB:.1f} GiB ({PEER_MEMORY_SHARE:.0%} of this machine's memory)")
    return None


def _measure_peer(bench: _Bench, feeds: Feeds, warehouse: Path, skip_peer: bool | None) -> list[Check]:
    reason = _peer_decision(bench.scale, skip_peer)
    if reason:
        bench.figures["pandas_peer"] = {"skipped": reason}
        bench.say(f"pandas peer {reason}")
        return []
    out = bench.work / "pandas_peer"
    bench.say("pandas peer (benchmarks/pandas_peer.py)")
    run = run_process([sys.executable, str(PANDAS_PEER), str(feeds.landing), str(out)], out.with_suffix(".log"),
                      env=bench.env, cwd=REPO_ROOT, timeout=PEER_TIMEOUT_SECONDS)
    if run.returncode != 0:
        if run.returncode == -9:
            bench.figures["pandas_peer"] = {"skipped": f"did not finish in {PEER_TIMEOUT_SECONDS} s",
                                            "seconds": run.seconds, "peak_rss_bytes": run.peak_rss}
            return []
        bench.fail("pandas_peer", run)
    timings = json.loads((out / "timings.json").read_text())
    bench.figures["pandas_peer"] = {"seconds": run.seconds, "peak_rss_bytes": run.peak_rss,
                                    "read_seconds": timings.get("read"), "transform_seconds": timings.get("transform")}
    bench.say(f"  {run.seconds:.2f} s")
    conversions, daily = peer_relations(str(out))
    con = duckdb.connect(str(warehouse), read_only=True)
    try:
        return compare_outputs(con, "pandas peer", conversions, daily)
    finally:
        con.close()


def _pipeline_env(bench: _Bench, root: Path) -> dict[str, str]:
    return {**bench.env,
            "CAMPAIGNS_LANDING": str(root / "landing"), "CAMPAIGNS_WAREHOUSE": str(root / "warehouse.duckdb"),
            "CAMPAIGNS_PUBLISH": str(root / "publish"), "CAMPAIGNS_REPORTS": str(root / "reports"),
            "CAMPAIGNS_OUTBOX": str(root / "outbox"), "DAGSTER_HOME": str(root / "dagster_home")}


def _campaigns_run(bench: _Bench, root: Path, figure: str) -> None:
    env = _pipeline_env(bench, root)
    run = run_process([sys.executable, "-m", "orchestration.cli", "run"], root / f"{figure}.log", env=env,
                      cwd=REPO_ROOT)
    if run.returncode != 0:
        bench.fail(figure, run)
    result = {"seconds": run.seconds, "peak_rss_bytes": run.peak_rss}
    steps = bench.worker("run_steps", dagster_home=str(root / "dagster_home"))
    result["dagster_run"] = {k: v for k, v in steps.items() if k != "peak_rss_bytes"}
    bench.figures[figure] = result
    bench.say(f"  {run.seconds:.2f} s, peak RSS {run.peak_rss / GIB:.2f} GiB")


def _measure_pipeline(bench: _Bench, feeds: Feeds) -> list[Check]:
    root = bench.work / "pipeline"
    link_tree(feeds.landing, root / "landing")
    bench.say("campaigns run on the history (Dagster: load, dbt, publish)")
    _campaigns_run(bench, root, "pipeline_full")
    landed = link_tree(feeds.next_day, root / "landing")
    bench.say(f"campaigns run after one more day ({landed} new files)")
    _campaigns_run(bench, root, "pipeline_incremental")
    bench.say("definitions load (python -c 'import orchestration.definitions')")
    env = _pipeline_env(bench, root)
    repeats = 1 if bench.scale.name == "XS" else DEFINITIONS_LOADS  # the smoke test checks the harness only
    loads = [run_process([sys.executable, "-c", "import orchestration.definitions"],
                         root / f"definitions-{i}.log", env=env, cwd=REPO_ROOT) for i in range(repeats)]
    failed = next((r for r in loads if r.returncode != 0), None)
    if failed:
        bench.fail("definitions_load", failed)
    bench.figures["definitions_load"] = {"seconds": statistics.median(r.seconds for r in loads),
                                         "runs": [round(r.seconds, 3) for r in loads],
                                         "peak_rss_bytes": max(r.peak_rss for r in loads)}
    bench.say("overview page: a range change on the published marts")
    bench.figures["overview_range_change"] = bench.worker("overview", publish=str(root / "publish"))
    overview = bench.figures["overview_range_change"]
    bench.say(f"  {overview['seconds']:.2f} s" if "seconds" in overview else f"  skipped: {overview['skipped']}")
    # The incremental run must leave the marts as a full computation over all the data would.
    warehouse = root / "warehouse.duckdb"
    checks = _measure_engine_floor(bench, warehouse, figure=None)
    for check in checks:
        check.name = "after the incremental run: " + check.name
    return checks


def run_bench(scale: str, work_dir: Path | None = None, skip_peer: bool | None = None) -> dict:
    """Measure the pipeline at `scale` (XS, S, M or L); see the module docstring."""
    spec = get_scale(scale)
    if work_dir is None:
        cache_root = BENCHMARKS_DIR / ".cache"
        work = cache_root / spec.name / "work"
        results_path = BENCHMARKS_DIR / "results" / f"{spec.name}.json"
    else:
        cache_root = Path(work_dir) / "cache"
        work = Path(work_dir) / "work"
        results_path = Path(work_dir) / "results" / f"{spec.name}.json"
    feeds = ensure_feeds(spec, cache_root, progress=sys.stderr.isatty())
    if work.exists():
        shutil.rmtree(work)  # scratch of the previous run at this scale
    work.mkdir(parents=True)

    bench = _Bench(spec, work, results_path)
    bench.results["feeds"] = {"cache": _shown(feeds.landing.parent),
                              **{k: feeds.manifest[k] for k in ("landing", "next_day")}}
    warehouse = work / "transforms" / "warehouse.duckdb"
    _measure_parse_and_ingest(bench, feeds, warehouse)
    _measure_transforms(bench, warehouse)
    bench.check(_measure_engine_floor(bench, warehouse, figure="engine_floor"))
    bench.check(_measure_peer(bench, feeds, warehouse, skip_peer))
    bench.check(_measure_pipeline(bench, feeds))
    bench.results["finished_at"] = datetime.now(timezone.utc).isoformat(timespec="seconds")
    bench.results["load_average"]["end"] = [round(x, 2) for x in os.getloadavg()]
    bench.save()

    print(render_table(bench.results), flush=True)
    print(f"\nresults: {results_path}", flush=True)
    failed = [c for c in bench.results["checks"] if not c["ok"]]
    if failed:
        raise BenchMismatch(f"{len(failed)} equality check(s) failed ({'; '.join(c['name'] for c in failed)}): "
                            f"see the diffs above; the figures in {results_path} compare different answers")
    return bench.results
