"""`make run` on its own sample data: a newcomer's first screen shows every asset check passed.

The sample is the Makefile's (`campaigns generate --start 2024-06-01 --days 14
--reminders-per-day 400 --seed 7`), with its quirks: malformed lines (one in eleven lines of the
campaign admin feed), late uploads, a last received day still filling.
"""

from datetime import date

import dagster as dg

from orchestration.definitions import PIPELINE_JOB_NAME, build_defs
from orchestration.generate import generate
from orchestration.settings import load_settings


def test_make_run_sample_passes_every_asset_check(tmp_path):
    landing = tmp_path / "landing"
    generate(landing, date(2024, 6, 1), days=14, reminders_per_day=400, seed=7, progress=False)
    settings = load_settings({"CAMPAIGNS_LANDING": str(landing), "CAMPAIGNS_WAREHOUSE": str(tmp_path / "w.duckdb"),
                              "CAMPAIGNS_PUBLISH": str(tmp_path / "publish")})
    result = build_defs(settings).resolve_job_def(PIPELINE_JOB_NAME).execute_in_process(
        instance=dg.DagsterInstance.ephemeral())
    assert result.success

    evaluations = [e.asset_check_evaluation_data for e in result.all_events
                   if e.event_type_value == "ASSET_CHECK_EVALUATION"]
    raw_checks = {(c.asset_key.to_user_string(), c.check_name) for c in evaluations
                  if c.asset_key.path[0] == "raw"}
    # Every source's three checks ran (they sit on the source's first table), and the dbt tests.
    assert {name for _, name in raw_checks} == {"rejected_rate", "landing_freshness", "daily_volume"}
    assert len(raw_checks) == 15
    assert len(evaluations) > len(raw_checks)
    failed = [f"{c.asset_key.to_user_string()} {c.check_name} ({c.severity.value}): {c.description}"
              for c in evaluations if not c.passed]
    assert failed == []
