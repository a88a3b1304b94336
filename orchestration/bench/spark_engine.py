"""The bench's spark engine figures: the whole `campaigns run` with CAMPAIGNS_ENGINE=spark on the
history, then after one more day, beside the DuckDB engine's (docs/spec.md section 7).

Measured at S (and XS) by default: on a small machine Spark is far slower than DuckDB, and the
figure is there to be tracked, not to win. Its check: the published marts of the spark run equal
the DuckDB run's (publication.json: every mart's columns, types, rows and row-hash sum).
"""

from __future__ import annotations

import json
from pathlib import Path

from orchestration.bench.compare import Check
from orchestration.bench.feeds import Feeds, link_tree
from orchestration.bench.harness import Bench
from orchestration.bench.scales import Scale
from orchestration.bench.steps import campaigns_run
from orchestration.resources.engine import java_command

SPARK_SCALES = ("XS", "S")


def spark_decision(scale: Scale, skip_spark: bool | None) -> str | None:
    """Why the spark engine is not measured, or None to measure it."""
    if skip_spark is True:
        return "skipped on request"
    if java_command() is None:
        return "no java on this machine: the spark engine cannot run"
    if skip_spark is None and scale.name not in SPARK_SCALES:
        return f"measured at {' and '.join(SPARK_SCALES)} only (--with-spark runs it at any scale)"
    return None


def _published(root: Path) -> dict:
    return json.loads((root / "publish" / "current" / "publication.json").read_text())["marts"]


def compare_published(duckdb_root: Path, spark_root: Path) -> Check:
    expected, actual = _published(duckdb_root), _published(spark_root)
    differing = sorted(mart for mart in expected.keys() | actual.keys() if expected.get(mart) != actual.get(mart))
    diff = "\n".join(f"  {mart}: duckdb {expected.get(mart)}\n  {' ' * len(mart)}  spark  {actual.get(mart)}"
                     for mart in differing)
    rows = lambda marts: sum(entry["rows"] for entry in marts.values())  # noqa: E731
    return Check("spark engine: the published marts = the duckdb engine's", not differing,
                 rows(expected), rows(actual), diff=diff)


def measure_spark_pipeline(bench: Bench, feeds: Feeds, skip_spark: bool | None) -> list[Check]:
    reason = spark_decision(bench.scale, skip_spark)
    if reason:
        for figure in ("spark_pipeline_full", "spark_pipeline_incremental"):
            bench.figures[figure] = {"skipped": reason}
        bench.say(f"spark engine {reason}")
        return []
    root = bench.work / "spark_pipeline"
    engine_env = {"CAMPAIGNS_ENGINE": "spark", "CAMPAIGNS_SPARK_WAREHOUSE": str(root / "spark-warehouse")}
    link_tree(feeds.landing, root / "landing")
    bench.say("campaigns run on the history, CAMPAIGNS_ENGINE=spark")
    campaigns_run(bench, root, "spark_pipeline_full", engine_env)
    landed = link_tree(feeds.next_day, root / "landing")
    bench.say(f"campaigns run after one more day ({landed} new files), CAMPAIGNS_ENGINE=spark")
    campaigns_run(bench, root, "spark_pipeline_incremental", engine_env)
    # The DuckDB engine's run (measure_pipeline) saw the same history and day.
    return [compare_published(bench.work / "pipeline", root)]
