"""The code location as the UI loads it: jobs, the 06:00 schedule, and nothing that parses dbt."""

import os
import subprocess
import sys
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import dagster as dg

from orchestration.definitions import DAILY_JOB_NAME, PIPELINE_JOB_NAME, build_defs
from orchestration.settings import REPO_ROOT, load_settings

SAO_PAULO = "America/Sao_Paulo"


def test_daily_schedule_runs_the_whole_pipeline_at_six_local_and_asks_for_yesterday():
    defs = build_defs(load_settings({"CAMPAIGNS_TIMEZONE": SAO_PAULO, "REPORT_RECIPIENTS": "ops@shop.example"}))
    schedule = defs.resolve_schedule_def("daily_conversions_report")

    assert (schedule.cron_schedule, schedule.execution_timezone) == ("0 6 * * *", SAO_PAULO)
    assert schedule.default_status == dg.DefaultScheduleStatus.RUNNING
    assert schedule.job_name == DAILY_JOB_NAME
    tick = datetime(2024, 6, 26, 6, 0, tzinfo=ZoneInfo(SAO_PAULO))
    request, = schedule.evaluate_tick(dg.build_schedule_context(scheduled_execution_time=tick)).run_requests
    config = request.run_config["ops"]["conversions_report"]["config"]
    assert (config["start_date"], config["end_date"], config["recipients"]) == ("2024-06-25", "2024-06-25", "ops@shop.example")
    assert config["catch_up"] is True  # the run also sends the days of the week before not sent yet
    # The run loads every new file and rebuilds what it touches: no window narrows it to the day.
    assert not {"campaigns/start_date", "campaigns/end_date"} & set(request.tags)


def test_jobs_cover_load_build_publish_and_report():
    defs = build_defs(load_settings({}))
    pipeline = {k.to_user_string() for k in defs.resolve_job_def(PIPELINE_JOB_NAME).asset_layer.executable_asset_keys}
    daily = {k.to_user_string() for k in defs.resolve_job_def(DAILY_JOB_NAME).asset_layer.executable_asset_keys}
    send = {k.to_user_string() for k in defs.resolve_job_def("send_report_job").asset_layer.executable_asset_keys}

    assert {"raw/sends", "raw/whatsapp_statuses", "marts/fct_conversions", "publish/bi_marts"} <= pipeline
    assert "conversions_report" not in pipeline
    assert daily == pipeline | {"conversions_report"}
    assert send == {"conversions_report"}


def test_dagster_validates_the_workspace(tmp_path):
    dagster = str(Path(sys.executable).parent / "dagster")
    # A fresh instance: what other tests left in the environment is not the UI's.
    env = {**os.environ, "DAGSTER_HOME": str(tmp_path)}
    result = subprocess.run([dagster, "definitions", "validate", "-w", str(REPO_ROOT / "workspace.yaml")],
                            capture_output=True, text=True, timeout=300, cwd=REPO_ROOT, env=env)
    assert result.returncode == 0, (result.stdout + result.stderr)[-3000:]
    assert "Validation successful for code location campaigns" in result.stderr + result.stdout


def test_loading_the_code_location_imports_neither_the_engine_nor_the_mailer_nor_dbt():
    # Each process that serves the code location pays for its imports: DuckDB and SendGrid are
    # imported by the steps that use them, not by the definitions; dbt-core runs as its own
    # process and is never imported here (resources/dbt_cli.py).
    code = ("import sys, orchestration.definitions; "
            "print(sorted(m for m in ('duckdb', 'sendgrid', 'pandas', 'matplotlib', 'dbt') if m in sys.modules))")
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120,
                            cwd=REPO_ROOT, check=True)
    assert result.stdout.strip() == "[]"


def _graph(defs: dg.Definitions) -> dict:
    """What a user sees of the code location: assets with their groups and deps, checks, jobs
    and their assets, schedules."""
    graph = defs.resolve_asset_graph()
    return {
        "assets": {key.to_user_string(): (graph.get(key).group_name,
                                          sorted(dep.to_user_string() for dep in graph.get(key).parent_keys))
                   for key in graph.get_all_asset_keys()},
        "checks": sorted(key.to_user_string() for key in graph.asset_check_keys),
        "jobs": {job.name: sorted(k.to_user_string() for k in job.asset_layer.executable_asset_keys)
                 for job in defs.resolve_all_job_defs()},
        "schedules": sorted((s.name, s.cron_schedule, s.job_name) for s in defs.schedules),
    }


def test_both_engines_serve_the_same_asset_graph():
    duckdb_defs = build_defs(load_settings({}))
    spark_defs = build_defs(load_settings({"CAMPAIGNS_ENGINE": "spark", "CAMPAIGNS_SPARK_MASTER": "local[2]"}))

    assert _graph(spark_defs) == _graph(duckdb_defs)
    assert "publish/bi_marts" in _graph(spark_defs)["assets"]["conversions_report"][1]  # served before the report
    duckdb_engine, spark_engine = (d.resources["engine"] for d in (duckdb_defs, spark_defs))
    assert (duckdb_engine.name, spark_engine.name, spark_engine.spark_master) == ("duckdb", "spark", "local[2]")
    assert spark_engine.spark_warehouse == str(REPO_ROOT / "data" / "spark-warehouse")
