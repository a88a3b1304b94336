"""A run over a window of local days (`campaigns run --start --end`) on a fresh warehouse, against a
full build of the same landing files: a random generated feed in a zone whose clocks change inside
the window. A window run loads every file not loaded yet (a day's events land in later `dt=`
folders: late statuses and clicks, sends after midnight local time in the next UTC folder) and
its marts' rows of those days are exactly the full build's."""

from datetime import date

import dagster as dg
import duckdb
import pytest

from orchestration.definitions import PIPELINE_JOB_NAME, build_defs
from orchestration.generate import generate
from orchestration.days import DayRange
from orchestration.settings import load_settings

ZONE = "America/New_York"  # back to UTC-5 on 2024-11-03
WINDOW = DayRange(date(2024, 11, 2), date(2024, 11, 4))

# Each mart, and the local day that puts its rows in the window (None: every row).
MART_DAYS = {
    "fct_reminders": None,
    "fct_conversions": "order_date",
    "fct_clicks": "click_date",
    "mart_daily_campaign_metrics": "metric_date",
    "mart_campaign_cohorts": "send_date",
    "dim_campaigns": None,
}


def _run(tmp_path, landing, name: str, window: DayRange):
    settings = load_settings({
        "CAMPAIGNS_LANDING": str(landing), "CAMPAIGNS_WAREHOUSE": str(tmp_path / f"{name}.duckdb"),
        "CAMPAIGNS_PUBLISH": str(tmp_path / f"publish-{name}"), "CAMPAIGNS_TIMEZONE": ZONE})
    result = build_defs(settings).resolve_job_def(PIPELINE_JOB_NAME).execute_in_process(
        instance=dg.DagsterInstance.ephemeral(), tags=window.tags(), raise_on_error=False)
    assert result.success
    return settings, result


def _window_rows(warehouse: str) -> dict[str, list[tuple]]:
    with duckdb.connect(warehouse, read_only=True) as con:
        return {
            mart: con.execute(
                f"SELECT * FROM marts.{mart}"
                + (f" WHERE {day} BETWEEN $start AND $end" if day else "") + " ORDER BY ALL",
                {"start": WINDOW.start, "end": WINDOW.end} if day else {}).fetchall()
            for mart, day in MART_DAYS.items()
        }


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    """The window run on a fresh warehouse, and a full build of the same files beside it."""
    root = tmp_path_factory.mktemp("window")
    landing = root / "landing"
    generate(str(landing), date(2024, 10, 30), 7, 60, 23, progress=False)
    window_settings, window_result = _run(root, landing, "window", WINDOW)
    full_settings, _ = _run(root, landing, "full", DayRange())
    return root, landing, window_settings, window_result, full_settings


def test_a_window_run_on_a_fresh_warehouse_equals_the_full_build_on_its_days(runs):
    _, _, window_settings, window_result, full_settings = runs
    windowed = _window_rows(window_settings.warehouse)

    assert windowed == _window_rows(full_settings.warehouse)
    assert all(windowed[mart] for mart in MART_DAYS)  # the comparison is not of empty sets
    # Every file was loaded, whatever its dt= folder.
    with duckdb.connect(window_settings.warehouse, read_only=True) as con:
        folders = {row[0] for row in con.execute("SELECT DISTINCT received_dt FROM raw.loaded_files").fetchall()}
    assert min(folders) < WINDOW.start and max(folders) > WINDOW.end
    # No dbt test warns on consistent data: the relationships hold after a window run.
    dbt_checks = [evaluation for evaluation in window_result.get_asset_check_evaluations()
                  if evaluation.asset_key.path[0] != "raw"]
    assert dbt_checks
    assert [(e.asset_key.to_user_string(), e.check_name) for e in dbt_checks if not e.passed] == []


def test_the_days_outside_a_window_are_caught_up_by_the_next_run(runs):
    root, landing, window_settings, _, full_settings = runs
    _run(root, landing, "window", DayRange())
    with duckdb.connect(window_settings.warehouse, read_only=True) as caught_up, \
            duckdb.connect(full_settings.warehouse, read_only=True) as full:
        for mart in MART_DAYS:
            sql = f"SELECT * FROM marts.{mart} ORDER BY ALL"
            assert caught_up.execute(sql).fetchall() == full.execute(sql).fetchall(), mart


def test_the_daily_rows_add_up_to_the_facts_of_each_campaign(runs):
    """docs/spec.md section 2: the daily rows summed over every day equal the same counts taken
    from fct_reminders, fct_clicks and fct_conversions (every event has its day in the calendar,
    even one stamped before its campaign's first send)."""
    _, _, _, _, full = runs
    with duckdb.connect(full.warehouse, read_only=True) as con:
        daily = con.execute("""
            SELECT campaign_id, sum(messages_sent), sum(messages_delivered), sum(messages_read),
                   sum(messages_failed), sum(total_clicks), sum(assisted_conversions),
                   sum(click_through_conversions), sum(total_conversion_value)
            FROM marts.mart_daily_campaign_metrics GROUP BY ALL ORDER BY ALL""").fetchall()
        facts = con.execute("""
            WITH reminders AS (
                SELECT campaign_id, count(*) AS sent, count(delivered_at) AS delivered,
                       count(read_at) AS read, count(*) FILTER (WHERE failed) AS failed
                FROM marts.fct_reminders GROUP BY ALL
            ), clicks AS (
                SELECT campaign_id, count(*) AS clicks FROM marts.fct_clicks GROUP BY ALL
            ), conversions AS (
                SELECT campaign_id, count(*) FILTER (WHERE attribution_type = 'assisted') AS assisted,
                       count(*) FILTER (WHERE attribution_type = 'click_through') AS click_through,
                       sum(order_total) AS value
                FROM marts.fct_conversions GROUP BY ALL
            )
            SELECT campaign_id, sent, delivered, read, failed, coalesce(clicks, 0),
                   coalesce(assisted, 0), coalesce(click_through, 0), coalesce(value, 0)
            FROM reminders LEFT JOIN clicks USING (campaign_id) LEFT JOIN conversions USING (campaign_id)
            ORDER BY ALL""").fetchall()
    assert daily and daily == facts
    assert sum(row[5] for row in daily) > 0 and sum(row[7] for row in daily) > 0  # clicks, click-throughs
