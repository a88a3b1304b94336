"""The local Dagster instance ($DAGSTER_HOME), so runs started by the CLI show in the UI."""

from __future__ import annotations

import fcntl
import os
from pathlib import Path

import dagster as dg

from orchestration.settings import Settings

# Writers of the warehouse run one at a time: one run in progress, one step per pool.
DAGSTER_YAML = """\
# Written by `campaigns` when missing; edit freely.
concurrency:
  runs:
    max_concurrent_runs: 1
  pools:
    default_limit: 1
telemetry:
  enabled: false
"""


def ensure_dagster_home(settings: Settings) -> str:
    home = Path(settings.dagster_home)
    home.mkdir(parents=True, exist_ok=True)
    config = home / "dagster.yaml"
    if not config.exists():
        # Written whole or not at all: another process may be reading it already.
        partial = home / f".dagster.yaml.{os.getpid()}.tmp"
        partial.write_text(DAGSTER_YAML)
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
