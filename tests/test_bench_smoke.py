"""The benchmark harness at scale XS: every figure is measured, the engine floor, the whole floor
and the pandas and Polars peers find the same conversions and daily metrics as the marts, and
the results are written.
No timing is asserted: the targets are for scale M on a quiet machine, not for a test run."""

import json
from datetime import date
from pathlib import Path

import duckdb
import pytest

from orchestration.bench import BenchMismatch, run_bench
from orchestration.bench.compare import CONVERSION_COLUMNS, compare
from orchestration.bench.feeds import ensure_feeds
from orchestration.bench.scales import SCALES, Scale, get_scale

FIGURES = ("parse_floor", "ingestion", "engine_floor", "transforms", "pandas_peer", "pipeline_full",
           "pipeline_incremental", "pipeline_nothing_new", "definitions_load", "whole_floor", "polars_peer")


@pytest.fixture(scope="module")
def bench_xs(tmp_path_factory) -> tuple[dict, Path, str]:
    work_dir = tmp_path_factory.mktemp("bench")
    mismatch = ""
    try:
        # The spark engine's two runs start about fifteen JVMs: the smoke test skips them, on
        # request, and checks that the skip is recorded (tests/test_spark_engine.py runs Spark).
        results = run_bench("XS", work_dir=work_dir, skip_spark=True)
    except BenchMismatch as error:
        mismatch = str(error)
        results = json.loads((work_dir / "results" / "XS.json").read_text())
    return results, work_dir, mismatch


@pytest.mark.slow
def test_bench_xs_measures_every_figure(bench_xs):
    results, _, _ = bench_xs
    for name in FIGURES:
        figure = results["figures"][name]
        assert figure["seconds"] > 0, name
        assert figure["peak_rss_bytes"] > 0, name
    assert set(results["figures"]["parse_floor"]["per_source"]) == {"sends", "whatsapp", "clicks", "orders", "campaigns"}
    assert set(results["figures"]["ingestion"]["per_source"]) == set(results["figures"]["parse_floor"]["per_source"])
    for name in ("spark_pipeline_full", "spark_pipeline_incremental"):
        assert results["figures"][name] == {"skipped": "skipped on request"}, name


@pytest.mark.slow
def test_bench_xs_floor_peer_and_marts_agree(bench_xs):
    results, _, mismatch = bench_xs
    failed = [c for c in results["checks"] if not c["ok"]]
    assert not failed, mismatch + "\n" + "\n".join(c["diff"] for c in failed)
    names = " / ".join(c["name"] for c in results["checks"])
    for side in ("engine floor conversions", "pandas peer conversions", "engine floor daily metrics",
                 "pandas peer daily metrics", "after the incremental run: engine floor conversions",
                 "whole floor conversions", "whole floor daily metrics", "Polars peer conversions",
                 "Polars peer daily metrics"):
        assert side in names
    for side in ("engine floor conversions", "whole floor conversions", "Polars peer conversions"):
        conversions = next(c for c in results["checks"] if c["name"].startswith(side))
        assert conversions["expected_rows"] > 0, "the XS feeds must hold conversions, or the check proves nothing"
        assert conversions["actual_rows"] == conversions["expected_rows"], side


@pytest.mark.slow
def test_bench_xs_writes_results_with_machine_info_and_ratios(bench_xs):
    results, work_dir, _ = bench_xs
    written = json.loads((work_dir / "results" / "XS.json").read_text())
    assert written["scale"]["name"] == "XS"
    for key in ("cpu_count", "memory_bytes", "python", "duckdb"):
        assert written["machine"][key]
    for ratio in ("ingestion_throughput_vs_parse_floor", "transforms_vs_engine_floor", "pandas_vs_transforms",
                  "incremental_vs_full", "full_run_vs_whole_floor", "polars_peer_vs_full_run"):
        assert written["ratios"][ratio] is not None, ratio
    assert {t["name"] for t in written["targets"]} >= {"definitions load (s)", "incremental day / full run",
                                                       "full run / whole floor", "Polars peer / full run"}


def test_feeds_hold_back_the_incremental_day(tmp_path):
    scale = Scale("tiny", days=2, reminders_per_day=30)
    feeds = ensure_feeds(scale, tmp_path, progress=False)
    history_days = {p.name for p in feeds.landing.glob("*/dt=*")}
    next_days = {p.name for p in feeds.next_day.glob("*/dt=*")}
    assert history_days and max(history_days) < "dt=2024-06-03"
    assert next_days == {"dt=2024-06-03"}
    again = ensure_feeds(scale, tmp_path, progress=False)
    assert again.manifest == feeds.manifest  # cached: not generated twice


def test_the_spark_engine_is_measured_at_s_unless_skipped(monkeypatch):
    from orchestration.bench import spark_engine

    monkeypatch.setattr(spark_engine, "java_command", lambda: "/usr/bin/java")
    assert spark_engine.spark_decision(SCALES["S"], None) is None
    assert spark_engine.spark_decision(SCALES["S"], True) == "skipped on request"
    assert "measured at XS and S only" in spark_engine.spark_decision(SCALES["M"], None)
    assert spark_engine.spark_decision(SCALES["M"], False) is None
    monkeypatch.setattr(spark_engine, "java_command", lambda: None)
    assert "no java" in spark_engine.spark_decision(SCALES["S"], None)


def test_scales_are_the_agreed_sizes():
    assert SCALES["S"].reminders == pytest.approx(100_000, rel=0.001)
    assert SCALES["M"].reminders == 3_000_000
    assert SCALES["L"].reminders == pytest.approx(10_000_000, rel=0.001)
    # M2 is M's days on twice the history.
    assert (SCALES["M2"].reminders_per_day, SCALES["M2"].days) == (SCALES["M"].reminders_per_day, 2 * SCALES["M"].days)
    assert get_scale("m") is SCALES["M"]
    assert SCALES["XS"].incremental_day == date(2024, 6, 3)
    with pytest.raises(ValueError, match="unknown scale"):
        get_scale("XXL")


def test_a_conversion_attributed_differently_is_shown_in_the_diff():
    con = duckdb.connect()
    con.execute("CREATE SCHEMA marts")
    con.execute("CREATE TABLE marts.fct_conversions AS SELECT * FROM (VALUES "
                "('g1', 'wamid.1', 'assisted', 10.50::DECIMAL(18,2)), ('g2', 'wamid.2', 'click_through', 3.00)) "
                "AS t(conversion_id, message_id, attribution_type, order_total)")
    con.execute("CREATE TABLE other AS SELECT * FROM (VALUES "
                "('g1', 'wamid.1', 'click_through', 10.5), ('g2', 'wamid.2', 'click_through', 3.0)) "
                "AS t(conversion_id, message_id, attribution_type, order_total)")
    check = compare(con, "floor conversions", "marts.fct_conversions", "other", CONVERSION_COLUMNS)
    assert not check.ok
    assert (check.only_expected, check.only_actual) == (1, 1)
    assert "- marts only: g1 | wamid.1 | assisted | 10.50" in check.diff
    assert "+ other only: g1 | wamid.1 | click_through | 10.50" in check.diff
    same = compare(con, "marts itself", "marts.fct_conversions", "marts.fct_conversions", CONVERSION_COLUMNS)
    assert same.ok and same.diff == ""


@pytest.mark.slow
def test_bench_xs_measures_the_overview_page_on_the_published_marts(bench_xs):
    results, _, _ = bench_xs
    figure = results["figures"]["overview_range_change"]
    assert figure["seconds"] > 0 and figure["peak_rss_bytes"] > 0
    assert figure["per_range"]["30_days"]["conversions"] > 0
    assert any(t["name"] == "overview page range change (s)" for t in results["targets"])


def test_the_overview_figure_times_the_page_reads_on_a_published_copy(tmp_path):
    import overview_marts
    from orchestration.bench.overview import measure_overview

    warehouse = overview_marts.make_warehouse(tmp_path / "warehouse.duckdb")
    overview_marts.publish(warehouse, tmp_path / "publish")
    figure = measure_overview(str(tmp_path / "publish"))
    con = duckdb.connect(str(warehouse), read_only=True)
    last_week, every_day = con.execute(
        "SELECT count(*) FILTER (WHERE order_date >= DATE '2024-06-04'), count(*) "
        "FROM marts.fct_conversions").fetchone()
    con.close()
    assert figure["per_range"]["7_days"]["conversions"] == last_week
    assert figure["per_range"]["30_days"]["conversions"] == every_day  # 30 days reach the first
    assert figure["seconds"] == max(entry["median_seconds"] for entry in figure["per_range"].values())


def test_the_spark_check_names_the_mart_whose_published_fingerprint_differs(tmp_path):
    from orchestration.bench.spark_engine import compare_published

    def publication(root, conversions_hash):
        (root / "publish" / "current").mkdir(parents=True)
        marts = {"dim_campaigns": {"columns": [["campaign_id", "VARCHAR"]], "rows": 2, "row_hash_sum": "7"},
                 "fct_conversions": {"columns": [["conversion_id", "VARCHAR"]], "rows": 3,
                                     "row_hash_sum": conversions_hash}}
        (root / "publish" / "current" / "publication.json").write_text(json.dumps({"marts": marts}))
        return root

    duckdb_run, same, other = (publication(tmp_path / name, hash_sum) for name, hash_sum in
                               (("duckdb", "11"), ("spark_same", "11"), ("spark_other", "12")))
    assert compare_published(duckdb_run, same).ok
    check = compare_published(duckdb_run, other)
    assert not check.ok and check.expected_rows == check.actual_rows == 5
    assert "fct_conversions" in check.diff and "dim_campaigns" not in check.diff
