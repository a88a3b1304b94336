"""The local Dagster instance ($DAGSTER_HOME), so runs started by the CLI show in the UI."""

from __future__ import annotations

import fcntl
import json
import os
import re
from pathlib import Path

import dagster as dg

from orchestration.settings import Settings

# Writers of the warehouse run one at a time: one run in progress, one step per pool.
_CONCURRENCY = """\
concurrency:
  runs:
    max_concurrent_runs: 1
  pools:
    default_limit: 1
telemetry:
  enabled: false
"""
# The event log is Dagster's SQLite files in Dagster's place, written through kept connections
# (orchestration/event_log.py). Its folder is written out: a process may open the instance by
# its path, with no $DAGSTER_HOME set.
_EVENT_LOG = """\
event_log_storage:
  module: orchestration.event_log
  class: CampaignEventLogStorage
  config:
    base_dir: {base_dir}
"""
_BASE_DIR_LINE = re.compile(r"(?m)^    base_dir: .*$")
# What versions before the event log storage wrote.
EARLIER_DAGSTER_YAML = "# Written by `campaigns` when missing; edit freely.\n" + _CONCURRENCY


def dagster_yaml(home: Path) -> str:
    return ("# Written by `campaigns`; edit freely: an edited file is kept as it is.\n" + _CONCURRENCY
            + _EVENT_LOG.format(base_dir=json.dumps(str(home.resolve() / "history" / "runs"))))


def _written_by_campaigns(text: str) -> bool:
    """The text `campaigns` wrote, this version's for any folder (a home moved elsewhere) or an
    earlier version's, never edited since: it may be written again for this home."""
    current_for_any_folder = _BASE_DIR_LINE.sub("", dagster_yaml(Path("/")))
    return text == EARLIER_DAGSTER_YAML or _BASE_DIR_LINE.sub("", text) == current_for_any_folder


def ensure_dagster_home(settings: Settings) -> str:
    home = Path(settings.dagster_home)
    home.mkdir(parents=True, exist_ok=True)
    config = home / "dagster.yaml"
    wanted = dagster_yaml(home)
    found = config.read_text() if config.exists() else None
    if found is None or (found != wanted and _written_by_campaigns(found)):
        # Written whole or not at all: another process may be reading it already.
        partial = home / f".dagster.yaml.{os.getpid()}.tmp"
        partial.write_text(wanted)
        os.replace(partial, config)
    os.environ["DAGSTER_HOME"] = str(home)
    return str(home)


INSTANCE_LOCK = ".campaigns-instance.lock"


def get_instance(settings: Settings) -> dg.DagsterInstance:
    """The instance of $DAGSTER_HOME, its storages created once.

    Dagster creates its SQLite tables and stamps their migrations the first time each storage is
    opened; two processes doing it at once on a new home collide (an OperationalError on `CREATE
    TABLE`, or two alembic heads that break the home for good). The first process creates them
    under a file lock; the others wait for it, then find them made.
    """
    home = ensure_dagster_home(settings)
    with open(Path(home) / INSTANCE_LOCK, "a+") as lock:
        fcntl.flock(lock.fileno(), fcntl.LOCK_EX)
        try:
            instance = dg.DagsterInstance.get()
            # Each storage is built (and its tables created) on first use: use each once.
            instance.get_run_records(limit=1)
            instance.event_log_storage.get_concurrency_keys()
            if instance.schedule_storage is not None:
                instance.schedule_storage.all_instigator_state()
        finally:
            fcntl.flock(lock.fileno(), fcntl.LOCK_UN)
    return instance


# Runs started by `campaigns run` carry the pid of the process that executes them in-process.
PID_TAG = "campaigns/pid"


def cli_run_tags() -> dict[str, str]:
    return {PID_TAG: str(os.getpid())}


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def fail_orphaned_cli_runs(instance: dg.DagsterInstance) -> list[str]:
    """Mark failed the runs of `campaigns run` processes that died (killed, machine restart).

    No daemon watches an in-process run: a dead one would stay "Started" for ever, holding its
    slot in the warehouse pool, and every later run would wait on that slot.
    """
    orphans = []
    records = instance.get_run_records(dg.RunsFilter(
        statuses=[dg.DagsterRunStatus.STARTED, dg.DagsterRunStatus.STARTING, dg.DagsterRunStatus.NOT_STARTED],
    ))
    for record in records:
        run = record.dagster_run
        pid = run.tags.get(PID_TAG)
        if pid is None or not pid.isdigit() or _alive(int(pid)):
            continue
        instance.report_run_failed(run, message=f"the campaigns process running it (pid {pid}) died")
        instance.event_log_storage.free_concurrency_slots_for_run(run.run_id)
        orphans.append(run.run_id)
    return orphans
