"""`run_bench`: the steps of orchestration/bench/steps.py in order, their checks, the results."""

from __future__ import annotations

import json
import os
import shutil
import sys
from datetime import datetime, timezone
from pathlib import Path

from orchestration.bench.feeds import ensure_feeds
from orchestration.bench.harness import BENCHMARKS_DIR, Bench, BenchMismatch, shown
from orchestration.bench.report import render_table
from orchestration.bench.scales import get_scale
from orchestration.bench.spark_engine import measure_spark_pipeline
from orchestration.bench.steps import (measure_engine_floor, measure_parse_and_ingest, measure_peer,
                                       measure_pipeline, measure_transforms, measure_whole_floor)


def run_bench(scale: str, work_dir: Path | None = None, skip_peer: bool | None = None,
              skip_spark: bool | None = None, pipeline_only: bool = False) -> dict:
    """Measure the pipeline at `scale` (XS, S, M, L or M2); see the module docstring. `skip_spark`:
    True skips the spark engine's runs, False runs them at any scale (None: at XS and S).
    `pipeline_only` (always at M2): only the `campaigns run` figures (and the engine floor's check
    of the marts after the incremental run), without the floors, the peers and the spark engine."""
    spec = get_scale(scale)
    pipeline_only = pipeline_only or spec.pipeline_only
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

    bench = Bench(spec, work, results_path)
    bench.results["feeds"] = {"cache": shown(feeds.landing.parent),
                              **{k: feeds.manifest[k] for k in ("landing", "next_day")}}
    warehouse = work / "transforms" / "warehouse.duckdb"
    if not pipeline_only:
        measure_parse_and_ingest(bench, feeds, warehouse)
        measure_transforms(bench, warehouse)
        bench.check(measure_engine_floor(bench, warehouse, figure="engine_floor"))
        bench.check(measure_whole_floor(bench, feeds, warehouse))
        bench.check(measure_peer(bench, feeds, warehouse, skip_peer, "pandas"))
        bench.check(measure_peer(bench, feeds, warehouse, skip_peer, "polars"))
    bench.check(measure_pipeline(bench, feeds))
    if pipeline_only:
        _carry_over(bench)
    else:
        bench.check(measure_spark_pipeline(bench, feeds, skip_spark))
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


def _carry_over(bench: Bench) -> None:
    """Runs re-measured alone: the scale's other figures (floors, peers, spark) are kept from its
    previous results, and the results say which ones and from when."""
    try:
        previous = json.loads(bench.results_path.read_text())
    except (OSError, ValueError):
        return
    if previous.get("scale") != bench.results["scale"]:
        return
    kept = {name: figure for name, figure in previous.get("figures", {}).items() if name not in bench.figures}
    if kept:
        bench.figures.update(kept)
        # Figures the previous results carried over themselves keep the time they were measured.
        earlier = previous.get("carried_over") or {}
        measured_at = (earlier.get("measured_at") if set(kept) <= set(earlier.get("figures", []))
                       else previous.get("started_at"))
        bench.results["carried_over"] = {"figures": sorted(kept), "measured_at": measured_at}
