"""The local Dagster instance ($DAGSTER_HOME), so runs started by the CLI show in the UI."""

from __future__ import annotations

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
        config.write_text(DAGSTER_YAML)
    os.environ["DAGSTER_HOME"] = str(home)
    return str(home)


def get_instance(settings: Settings) -> dg.DagsterInstance:
    ensure_dagster_home(settings)
    return dg.DagsterInstance.get()
