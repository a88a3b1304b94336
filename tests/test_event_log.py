"""The instance's event log (orchestration/event_log.py): Dagster's SQLite files, written through
kept connections. Runs write them; another process, such as the UI, reads them as it always did,
while the writer still holds its connections."""

import json
import subprocess
import sys

import dagster as dg

from orchestration.event_log import OPEN_FILES, CampaignEventLogStorage
from orchestration.instance import EARLIER_DAGSTER_YAML, dagster_yaml, get_instance
from orchestration.settings import load_settings

# What the UI does with a home: Dagster's own SQLite event log on the same folder.
READ_WITH_DAGSTERS_CLASS = """
import json, sys
from dagster import AssetKey
from dagster._core.storage.event_log.sqlite.sqlite_event_log import SqliteEventLogStorage
storage = SqliteEventLogStorage(sys.argv[1])
logs = storage.get_logs_for_run(sys.argv[2])
latest = storage.get_latest_materialization_events([AssetKey("daily_total")])[AssetKey("daily_total")]
print(json.dumps({"events": [log.dagster_event_type.value for log in logs if log.dagster_event_type],
                  "materialized_by": latest.run_id if latest else None}))
"""


@dg.asset
def daily_total() -> int:
    return 42


def _home(tmp_path, monkeypatch):
    monkeypatch.setenv("DAGSTER_HOME", str(tmp_path / "dagster_home"))
    monkeypatch.setenv("CAMPAIGNS_WAREHOUSE", str(tmp_path / "warehouse.duckdb"))
    return tmp_path / "dagster_home"


def test_a_run_is_recorded_and_another_process_reads_it_with_dagsters_own_class(tmp_path, monkeypatch):
    home = _home(tmp_path, monkeypatch)
    instance = get_instance(load_settings())
    assert isinstance(instance.event_log_storage, CampaignEventLogStorage)

    result = dg.materialize([daily_total], instance=instance)
    assert result.success

    # The writer still holds its connections open: the reader sees every committed event.
    read = subprocess.run([sys.executable, "-c", READ_WITH_DAGSTERS_CLASS, str(home / "history" / "runs"),
                           result.run_id], capture_output=True, text=True, timeout=120)
    assert read.returncode == 0, read.stderr
    seen = json.loads(read.stdout)
    assert seen["materialized_by"] == result.run_id
    kinds = dg.DagsterEventType
    expected = {kinds.RUN_START, kinds.STEP_START, kinds.ASSET_MATERIALIZATION, kinds.STEP_SUCCESS, kinds.RUN_SUCCESS}
    assert {kind.value for kind in expected} <= set(seen["events"])
    assert seen["events"] == [log.dagster_event_type.value
                              for log in instance.all_logs(result.run_id) if log.dagster_event_type]


def test_files_beyond_the_last_few_are_closed_and_a_wipe_starts_afresh(tmp_path, monkeypatch):
    _home(tmp_path, monkeypatch)
    instance = get_instance(load_settings())
    storage = instance.event_log_storage
    run_ids = [dg.materialize([daily_total], instance=instance).run_id for _ in range(OPEN_FILES + 2)]
    assert len(storage._engines) == OPEN_FILES  # noqa: SLF001  (the run files and the index)
    assert sorted(storage.get_all_run_ids()) == sorted(run_ids)
    # The first runs' files were closed: reading them opens them again.
    assert all(dg.DagsterEventType.RUN_SUCCESS in {log.dagster_event_type for log in instance.all_logs(run_id)}
               for run_id in run_ids)

    storage.wipe()
    assert storage.get_all_run_ids() == []
    result = dg.materialize([daily_total], instance=instance)
    assert result.success and instance.all_logs(result.run_id)


def test_a_home_gets_the_storage_unless_its_dagster_yaml_was_edited(tmp_path, monkeypatch):
    home = _home(tmp_path, monkeypatch)
    home.mkdir()
    config = home / "dagster.yaml"
    config.write_text(EARLIER_DAGSTER_YAML)  # written by an earlier version, never edited
    get_instance(load_settings())
    assert config.read_text() == dagster_yaml(home)
    assert f'base_dir: "{home.resolve()}/history/runs"' in config.read_text()

    # A home moved elsewhere: the folder follows it.
    config.write_text(dagster_yaml(tmp_path / "elsewhere"))
    get_instance(load_settings())
    assert config.read_text() == dagster_yaml(home)

    edited = EARLIER_DAGSTER_YAML + "run_monitoring:\n  enabled: true\n"
    config.write_text(edited)
    instance = get_instance(load_settings())
    assert config.read_text() == edited
    assert not isinstance(instance.event_log_storage, CampaignEventLogStorage)
