"""The bench's measured steps, each in a process of its own: the parse floor and our ingestion,
the dbt build, the engine floor, the whole floor, the pandas and Polars peers, and the whole
pipeline through Dagster (with the definitions load and the overview page on what it
published)."""

from __future__ import annotations

import json
import statistics
import sys
from pathlib import Path

import duckdb

from orchestration.bench.compare import Check, compare_outputs, peer_relations
from orchestration.bench.feeds import Feeds, link_tree
from orchestration.bench.harness import (BENCHMARKS_DIR, DEFINITIONS_LOADS, ENGINE_FLOOR_SQL, PANDAS_PEER,
                                         PEER_MEMORY_SHARE, PEER_TIMEOUT_SECONDS, POLARS_PEER, WHOLE_FLOOR_SQL,
                                         Bench, BenchMismatch, dbt_executable, warm_page_cache)
from orchestration.bench.measure import run_process
from orchestration.bench.report import GIB
from orchestration.bench.scales import Scale
from orchestration.settings import DBT_PROJECT_DIR, REPO_ROOT

def _marts_exist(con: duckdb.DuckDBPyConnection) -> bool:
    return con.execute(
        "SELECT count(*) FROM information_schema.tables WHERE table_schema = 'marts' "
        "AND table_name IN ('fct_conversions', 'mart_daily_campaign_metrics')").fetchone()[0] == 2


def _missing_marts(label: str, database: Path) -> list[Check]:
    return [Check(f"{label}: the marts exist", False, 0, 0,
                  diff=f"{database} has no marts.fct_conversions / marts.mart_daily_campaign_metrics: "
                       "the step did not build the dbt models")]


def measure_parse_and_ingest(bench: Bench, feeds: Feeds, warehouse: Path) -> None:
    bench.say("warming the page cache")
    warm_page_cache(feeds.landing)
    bench.say("parse floor (DuckDB read_json)")
    bench.figures["parse_floor"] = bench.worker("parse_floor", landing=str(feeds.landing),
                                                store_database=str(bench.work / "parse_floor.duckdb"))
    bench.say(f"  {bench.figures['parse_floor']['seconds']:.2f} s")
    bench.say("ingestion (our loader)")
    bench.figures["ingestion"] = bench.worker("ingest", landing=str(feeds.landing), database=str(warehouse))
    bench.say(f"  {bench.figures['ingestion']['seconds']:.2f} s")


def measure_transforms(bench: Bench, warehouse: Path) -> None:
    dbt_dir = bench.work / "dbt"
    env = {**bench.env, "CAMPAIGNS_WAREHOUSE": str(warehouse)}
    common = ["--project-dir", str(DBT_PROJECT_DIR), "--profiles-dir", str(DBT_PROJECT_DIR),
              "--target-path", str(dbt_dir / "target"), "--log-path", str(dbt_dir / "logs")]
    # Parsed once beforehand, as a deployed project is: the build measures building, not parsing.
    parse = run_process([dbt_executable(), "parse", *common], dbt_dir / "parse.log", env=env, cwd=DBT_PROJECT_DIR)
    if parse.returncode != 0:
        bench.fail("transforms", parse)
    bench.say("transforms (dbt build --full-refresh)")
    run = run_process([dbt_executable(), "build", "--full-refresh", *common], dbt_dir / "build.log",
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


def measure_engine_floor(bench: Bench, warehouse: Path, figure: str | None) -> list[Check]:
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


def _peer_decision(scale: Scale, skip_peer: bool | None, figure: str = "pandas_peer") -> str | None:
    """Why the peer (timed as `figure`) is skipped, or None to run it."""
    if skip_peer is True:
        return "skipped on request"
    if skip_peer is False or scale.name != "L":
        return None
    reference = BENCHMARKS_DIR / "results" / "M.json"
    if not reference.exists():
        return "at L the peer runs only if M's results show it can finish: run scale M first (or skip_peer=False)"
    m = json.loads(reference.read_text())
    peak = (m.get("figures", {}).get(figure) or {}).get("peak_rss_bytes")
    if not peak:
        return f"M's results have no {figure.replace('_', ' ')} figure to extrapolate from"
    import psutil

    estimate = peak * scale.reminders / m["scale"]["reminders"]
    budget = PEER_MEMORY_SHARE * psutil.virtual_memory().total
    if estimate > budget:
        return (f"cannot finish: M's peak {peak / GIB:.1f} GiB scales to ~{estimate / GIB:.1f} GiB at L, "
                f"over {budget / GIB:.1f} GiB ({PEER_MEMORY_SHARE:.0%} of this machine's memory)")
    return None


# The peers: a user's own program for the same rules (figure, script, label).
PEERS = {
    "pandas": ("pandas_peer", PANDAS_PEER, "pandas peer"),
    "polars": ("polars_peer", POLARS_PEER, "Polars peer"),
}


def measure_peer(bench: Bench, feeds: Feeds, warehouse: Path, skip_peer: bool | None, kind: str) -> list[Check]:
    """A peer (`PEERS[kind]`) on the landing files, then its answers against the marts. One that
    runs past `PEER_TIMEOUT_SECONDS` is stopped and recorded as not finished, with its time and
    memory so far."""
    figure, script, label = PEERS[kind]
    reason = _peer_decision(bench.scale, skip_peer, figure)
    if reason:
        bench.figures[figure] = {"skipped": reason}
        bench.say(f"{label} {reason}")
        return []
    out = bench.work / figure
    bench.say(f"{label} (benchmarks/{script.name})")
    run = run_process([sys.executable, str(script), str(feeds.landing), str(out)], out.with_suffix(".log"),
                      env=bench.env, cwd=REPO_ROOT, timeout=PEER_TIMEOUT_SECONDS)
    if run.returncode == -9:
        bench.figures[figure] = {"skipped": f"did not finish in {PEER_TIMEOUT_SECONDS} s",
                                 "seconds": run.seconds, "peak_rss_bytes": run.peak_rss}
        bench.say(f"  did not finish in {PEER_TIMEOUT_SECONDS} s")
        return []
    if run.returncode != 0:
        bench.fail(figure, run)
    timings = json.loads((out / "timings.json").read_text())
    bench.figures[figure] = {"seconds": run.seconds, "peak_rss_bytes": run.peak_rss,
                             "read_seconds": timings.get("read"), "transform_seconds": timings.get("transform")}
    bench.say(f"  {run.seconds:.2f} s")
    conversions, daily = peer_relations(str(out))
    con = duckdb.connect(str(warehouse), read_only=True)
    try:
        return compare_outputs(con, label, conversions, daily)
    finally:
        con.close()


def measure_whole_floor(bench: Bench, feeds: Feeds, warehouse: Path) -> list[Check]:
    """The whole floor from the landing JSON into a database of its own, then its answers
    against the marts of `warehouse`."""
    bench.say("whole floor (benchmarks/whole_floor.sql, from the landing JSON)")
    floor = bench.work / "whole_floor.duckdb"
    bench.figures["whole_floor"] = bench.worker("whole_floor", landing=str(feeds.landing), database=str(floor),
                                                script=str(WHOLE_FLOOR_SQL))
    bench.say(f"  {bench.figures['whole_floor']['seconds']:.2f} s")
    con = duckdb.connect(str(warehouse), read_only=True)
    try:
        if not _marts_exist(con):
            return _missing_marts("whole floor", warehouse)
        con.execute("ATTACH '" + str(floor).replace("'", "''") + "' AS whole_floor (READ_ONLY)")
        return compare_outputs(con, "whole floor", "whole_floor.engine_floor.conversions",
                               "whole_floor.engine_floor.daily_metrics")
    finally:
        con.close()


def _pipeline_env(bench: Bench, root: Path) -> dict[str, str]:
    return {**bench.env,
            "CAMPAIGNS_LANDING": str(root / "landing"), "CAMPAIGNS_WAREHOUSE": str(root / "warehouse.duckdb"),
            "CAMPAIGNS_PUBLISH": str(root / "publish"), "CAMPAIGNS_REPORTS": str(root / "reports"),
            "CAMPAIGNS_OUTBOX": str(root / "outbox"), "DAGSTER_HOME": str(root / "dagster_home")}


def campaigns_run(bench: Bench, root: Path, figure: str, engine_env: dict[str, str] | None = None) -> None:
    env = {**_pipeline_env(bench, root), **(engine_env or {})}
    run = run_process([sys.executable, "-m", "orchestration.cli", "run"], root / f"{figure}.log", env=env,
                      cwd=REPO_ROOT)
    if run.returncode != 0:
        bench.fail(figure, run)
    result = {"seconds": run.seconds, "peak_rss_bytes": run.peak_rss}
    steps = bench.worker("run_steps", dagster_home=str(root / "dagster_home"))
    result["dagster_run"] = {k: v for k, v in steps.items() if k != "peak_rss_bytes"}
    bench.figures[figure] = result
    bench.say(f"  {run.seconds:.2f} s, peak RSS {run.peak_rss / GIB:.2f} GiB")


def _nothing_new_run(bench: Bench, root: Path) -> None:
    """`campaigns run` once more with nothing new: it must say so and change nothing."""
    published = sorted(p.name for p in (root / "publish" / "versions").iterdir())
    run = run_process([sys.executable, "-m", "orchestration.cli", "run"], root / "pipeline_nothing_new.log",
                      env=_pipeline_env(bench, root), cwd=REPO_ROOT)
    if run.returncode != 0:
        bench.fail("pipeline_nothing_new", run)
    said = (root / "pipeline_nothing_new.log").read_text()
    if "nothing to do" not in said or sorted(p.name for p in (root / "publish" / "versions").iterdir()) != published:
        raise BenchMismatch("campaigns run with nothing new did not say 'nothing to do', or published a version")
    bench.figures["pipeline_nothing_new"] = {"seconds": run.seconds, "peak_rss_bytes": run.peak_rss}
    bench.say(f"  {run.seconds:.2f} s")


def measure_pipeline(bench: Bench, feeds: Feeds) -> list[Check]:
    root = bench.work / "pipeline"
    link_tree(feeds.landing, root / "landing")
    bench.say("campaigns run on the history (Dagster: load, dbt, publish)")
    campaigns_run(bench, root, "pipeline_full")
    landed = link_tree(feeds.next_day, root / "landing")
    bench.say(f"campaigns run after one more day ({landed} new files)")
    campaigns_run(bench, root, "pipeline_incremental")
    bench.say("campaigns run with nothing new landed")
    _nothing_new_run(bench, root)
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
    checks = measure_engine_floor(bench, warehouse, figure=None)
    for check in checks:
        check.name = "after the incremental run: " + check.name
    return checks


