"""dagster-dbt, imported and configured for a pipeline that runs dbt as a command only.

dbt runs as its own process (`dbt build`, the virtualenv's executable). The code location never
needs dbt-core in-process, yet dagster-dbt imports it when it can (`dagster_dbt.compat`): 1.4 s
of every definitions load (webserver, daemon, each run, each CLI command). dagster-dbt has a
supported path for an environment without dbt-core (the one it takes beside dbt Fusion): its
own copies of dbt's node types and statuses, and the manifest for the default selection. This
module takes that path by hiding dbt-core from dagster-dbt's import, once, before anything else
imports dagster_dbt (orchestration/definitions.py and assets/transformation.py import it from
here). docs/decisions.md, "The fixed cost of a run", has the measurements.

`CampaignDbtCli` removes the fixed costs dagster-dbt adds to every `dbt build`:
- `dbt --version` in a subprocess, to tell dbt-core from Fusion (2-4 s here: dbt-core imports
  itself and asks PyPI for the latest release); the installed dbt-core's version is read from
  its package metadata instead;
- an adapter built in-process (the project, the profile and every macro loaded) that is only
  used to fetch row counts and column schemas, which this project does not ask for;
- a full parse of the project: dagster-dbt gives each invocation a target folder of its own and
  seeds it with `<target>/partial_parse.msgpack`, but the one `make install` wrote was parsed
  without the run's vars (warehouse, time zone), so dbt parsed everything again (3-7 s). After
  each build the run's own partial parse is put back (`build`), and the next run with the same
  vars reuses it; dbt itself checks the vars, the profile and every file's checksum before it
  trusts a saved parse. The per-run folders are pruned to the last `RUN_TARGETS_KEPT`.
"""

from __future__ import annotations

import os
import shutil
import sys
from collections.abc import Iterator, Sequence
from functools import cached_property
from importlib import metadata
from pathlib import Path

from packaging import version


def _import_dagster_dbt_without_dbt_core() -> None:
    if "dagster_dbt" in sys.modules:
        return
    saved = sys.modules.get("dbt.version", ...)
    # A None entry makes `import dbt.version` raise ImportError (the import system's documented
    # way to block a module); dagster_dbt.compat then takes its no-dbt-core path.
    sys.modules["dbt.version"] = None  # type: ignore[assignment]
    try:
        import dagster_dbt  # noqa: F401
    finally:
        if saved is ...:
            del sys.modules["dbt.version"]
        else:
            sys.modules["dbt.version"] = saved


_import_dagster_dbt_without_dbt_core()

from dagster_dbt import DagsterDbtTranslator, DbtCliResource, DbtProject, dbt_assets  # noqa: E402
from dagster_dbt.dbt_project import using_dagster_dev  # noqa: E402

__all__ = ["DBT_EXECUTABLE", "CampaignDbtCli", "DagsterDbtTranslator", "DbtProject", "dbt_assets", "using_dagster_dev"]

RUN_TARGETS_KEPT = 10
PARTIAL_PARSE = "partial_parse.msgpack"

# The dbt beside this Python (the project's virtualenv), found even when the venv is not on PATH:
# pass it to CampaignDbtCli(dbt_executable=...).
DBT_EXECUTABLE = shutil.which("dbt", path=str(Path(sys.executable).parent)) or "dbt"


class CampaignDbtCli(DbtCliResource):
    """dagster-dbt's `DbtCliResource` without its per-invocation fixed costs (module docstring)."""

    @cached_property
    def _cli_version(self) -> version.Version:
        # The executable is the virtualenv's dbt (assets/transformation.py: DBT_EXECUTABLE),
        # which is the installed dbt-core package.
        return version.parse(metadata.version("dbt-core"))

    def _initialize_dbt_core_adapter(self, args: Sequence[str]) -> None:  # type: ignore[override]
        # The adapter only serves fetch_row_counts() / fetch_column_metadata(); dagster-dbt
        # passes None on when there is none.
        return None

    def build(self, args: Sequence[str], context) -> Iterator:
        """Run `dbt <args>` and stream its events (dagster-dbt's `cli(...).stream()`); then keep
        its parse for the next run and prune old run folders (module docstring)."""
        invocation = self.cli(list(args), context=context)
        yield from invocation.stream()
        run_target = Path(invocation.target_path)
        _keep_partial_parse(run_target)
        _prune_run_targets(run_target, keep=RUN_TARGETS_KEPT)


def _keep_partial_parse(run_target: Path) -> None:
    parsed = run_target / PARTIAL_PARSE
    if not parsed.is_file():
        return
    # Another run may read it at any time: copy beside it, then rename into place (atomic).
    temporary = run_target.parent / f".{PARTIAL_PARSE}.{os.getpid()}.tmp"
    shutil.copyfile(parsed, temporary)
    os.replace(temporary, run_target.parent / PARTIAL_PARSE)


def _prune_run_targets(run_target: Path, keep: int) -> None:
    """Each invocation leaves a folder (its manifest, run results, compiled SQL: 6 MB at our
    size) beside the others; keep the newest `keep`, this run's included."""
    prefix = run_target.name.split("-", 1)[0] + "-"
    folders = [p for p in run_target.parent.iterdir() if p.is_dir() and p.name.startswith(prefix)]
    folders.sort(key=lambda p: p.stat().st_mtime, reverse=True)
    for old in folders[keep:]:
        if old != run_target:
            shutil.rmtree(old, ignore_errors=True)
