"""The dbt models as Dagster assets: staging, intermediate and marts (dbt_project/models/).

One `dbt build` per materialization: models and their tests, the tests reported as asset checks
(a warning-level test, such as two currencies in one day's conversions, as a WARN check). Asset
keys are dbt's defaults: `["raw", <table>]` for the sources (the ingestion assets produce them)
and `[<schema>, <model>]` for the models, e.g. `["marts", "fct_conversions"]`.

The incremental models process the raw batches loaded since their last build (their watermark
in `intermediate.batch_watermark_log`, see docs/decisions.md), so a daily run is cheap and a subset
of the assets can be materialized on its own. A run window (`campaigns run --start --end`, or the
run config) recounts the daily marts' rows of those local days (the dbt vars `min_date` /
`max_date`, orchestration/days.py); every new batch is absorbed, whatever its days.
"""

import fcntl
import json
import re
import subprocess
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import dagster as dg

from orchestration.errors import DefinitionsError
from orchestration.resources.dbt_cli import (
    DBT_EXECUTABLE,
    CampaignDbtCli,
    DagsterDbtTranslator,
    DbtProject,
    dbt_assets,
    using_dagster_dev,
)
from orchestration.resources.engine import Engine, require_java
from orchestration.resources.local_days import LocalDays
from orchestration.resources.publish_folder import PublishFolder
from orchestration.resources.warehouse import WAREHOUSE_POOL, WarehouseResource
from orchestration.days import WINDOW_TAGS, DayRange
from orchestration.settings import DBT_PROJECT_DIR
from orchestration.spark import session as spark_session

DBT_GROUPS = ("staging", "intermediate", "marts")
REPORT_KEY = dg.AssetKey(["conversions_report"])


_DBT_LOG_PREFIX = re.compile(r"^(\x1b\[[0-9;]*m)*(\d\d:\d\d:\d\d\s+)?")


def first_dbt_error(output: str) -> str:
    """The line of dbt's output that names the problem: `Compilation Error: Model ... depends on
    a node named 'x' which was not found`, not `Encountered an error:`."""
    lines = [_DBT_LOG_PREFIX.sub("", re.sub(r"\x1b\[[0-9;]*m", "", line)).strip() for line in output.splitlines()]
    lines = [line for line in lines if line and line != "Encountered an error:"]
    if not lines:
        return "no output from dbt"
    # "Parsing Error" / "... - Runtime Error" head the line that says what: join them to it.
    message = lines[0]
    for line in lines[1:]:
        if not message.endswith("Error"):
            break
        message = f"{message}: {line}"
    return message


class DbtParseError(DefinitionsError):
    """`dbt parse` failed: the dbt assets cannot be defined. The message is one line; the whole
    output is kept in `output`."""

    def __init__(self, output: str):
        self.output = output.strip()
        super().__init__(f"dbt parse failed: {first_dbt_error(output)}")


def parse_dbt_project(project: DbtProject) -> None:
    """`dbt parse`: writes the manifest the assets are defined from (target/manifest.json). The
    manifest depends on no setting: the warehouse and the time zone reach dbt as vars when it
    builds."""
    target = Path(project.project_dir, project.target_path)
    target.mkdir(parents=True, exist_ok=True)
    # Several processes may load the code location at once (daemon, webserver, tests).
    with open(target / ".parse.lock", "a+") as lock:
        fcntl.flock(lock.fileno(), fcntl.LOCK_EX)
        try:
            subprocess.run(
                [DBT_EXECUTABLE, "--no-use-colors", "parse", "--quiet", "--project-dir", str(project.project_dir),
                 "--profiles-dir", str(project.profiles_dir), "--target-path", str(target)],
                check=True, capture_output=True, text=True,
            )
        except subprocess.CalledProcessError as error:
            raise DbtParseError(error.stdout + error.stderr) from None
        finally:
            fcntl.flock(lock.fileno(), fcntl.LOCK_UN)


def _prepared(project: DbtProject) -> DbtProject:
    """The project with its manifest. `make install` parses it once, so loading the definitions
    never runs dbt; under `dagster dev` it is re-parsed to pick up edits (DbtProject.prepare_if_dev
    would do the same with the `dbt` on PATH, which is not always the virtualenv's); a checkout
    that was never parsed is parsed here, once."""
    if using_dagster_dev() or not project.manifest_path.exists():
        parse_dbt_project(project)
    return project


dbt_project = _prepared(DbtProject(project_dir=DBT_PROJECT_DIR))


class CampaignDbtTranslator(DagsterDbtTranslator):
    """One Dagster group per dbt folder (staging, intermediate, marts); default keys."""

    def get_group_name(self, dbt_resource_props: Mapping[str, Any]) -> str | None:
        fqn = dbt_resource_props.get("fqn") or []
        if dbt_resource_props.get("resource_type") == "model" and len(fqn) > 2 and fqn[1] in DBT_GROUPS:
            return fqn[1]
        return super().get_group_name(dbt_resource_props)


class DbtBuildConfig(dg.Config):
    """Run config of the dbt step; without it the run's window tags (if any) apply."""

    start_date: str | None = None  # first local day to rebuild, YYYY-MM-DD
    end_date: str | None = None  # last local day to rebuild, inclusive
    full_refresh: bool = False  # rebuild the incremental models from the whole history


def build_window(config: DbtBuildConfig, tags: Mapping[str, str]) -> DayRange:
    """The local days to rebuild: the run config's, else the run's tags, else all of them."""
    if config.start_date or config.end_date:
        return DayRange.parse(config.start_date, config.end_date)
    return DayRange.from_tags(tags, WINDOW_TAGS)


def dbt_build_args(window: DayRange, full_refresh: bool = False, *, warehouse: str | None = None,
                   timezone: str | None = None, spark_conf: dict[str, str] | None = None,
                   touched_row_tests: bool = False) -> list[str]:
    """`dbt build` arguments. The settings reach dbt as vars, never through the environment:
    `warehouse_path` (profiles.yml) and `timezone` (dbt_project.yml); the window as `min_date` /
    `max_date`, half-open. With `spark_conf` (the spark engine) dbt builds on the `spark` target
    of profiles.yml, which takes the whole Spark configuration as the var `spark_conf`.
    `touched_row_tests` (every run on DuckDB, the same var each time: a changed var costs dbt a
    whole parse) lets the tests that allow it read only the rows the run touched, as the
    warehouse's `tests_after` row says (dbt_project/macros/tests/touched_rows.sql).

    Unit tests pin the logic, not the data: `make test` runs them, a pipeline run does not."""
    args = ["build", "--exclude-resource-type", "unit_test"]
    if spark_conf is not None:
        args += ["--target", "spark"]
    if full_refresh:
        args.append("--full-refresh")
    dbt_vars: dict[str, str | dict[str, str]] = {}
    if warehouse:
        dbt_vars["warehouse_path"] = warehouse
    if timezone:
        dbt_vars["timezone"] = timezone
    if spark_conf is not None:
        dbt_vars["spark_conf"] = spark_conf
    if touched_row_tests:
        dbt_vars["tests_on_touched_rows"] = True
    dbt_vars.update(window.dbt_vars())
    if dbt_vars:
        args += ["--vars", json.dumps(dbt_vars)]
    return args


@dbt_assets(
    manifest=dbt_project.manifest_path,
    project=dbt_project,
    dagster_dbt_translator=CampaignDbtTranslator(),
    name="campaign_dbt_models",
    pool=WAREHOUSE_POOL,
)
def campaign_dbt_models(
    context: dg.AssetExecutionContext,
    config: DbtBuildConfig,
    dbt: CampaignDbtCli,
    warehouse: WarehouseResource,
    local_days: LocalDays,
    publish: PublishFolder,
    engine: Engine,
):
    """Reminders, purchases, their attribution and the daily campaign metrics (dbt build), on
    the warehouse file or, on the spark engine, in Spark (dbt-spark starts it in dbt's process)."""
    from orchestration import build_state

    window = build_window(config, context.run.tags)
    conf = None
    if engine.is_spark:
        require_java()
        conf = spark_session.spark_conf(engine.spark_master, engine.spark_warehouse)
    # A plain build (every model, no window, no full refresh) on DuckDB is recorded with its
    # inputs. It is skipped when the marts and their published copy were made from exactly these
    # inputs: dbt does not start, and Dagster skips the publish step. Not in a run that holds the
    # report, which must follow a build (Dagster skips everything downstream of a skipped asset).
    # A window, a full refresh or a subset always builds. On the spark engine every run builds:
    # its raw ledger is in Spark.
    plain = (not engine.is_spark and window.is_everything and not config.full_refresh
             and set(context.selected_asset_keys) == set(context.assets_def.keys))
    whole = plain and REPORT_KEY not in context.job_def.asset_layer.selected_asset_keys
    tests_after = -1
    if not engine.is_spark:
        with warehouse.connect() as con:
            inputs = build_state.current_inputs(con, local_days.timezone)
            if whole and build_state.is_built_and_published(con, inputs, publish.root):
                context.log.info(f"skipped: nothing new since the last build ({inputs.describe()}); "
                                 "the marts and their published copy stay as they are")
                return
            # A plain build after a plain build tests the rows it touched; any other every row.
            if plain:
                tests_after = build_state.tests_after(con, inputs)
            build_state.record_tests_after(con, inputs, tests_after)
            build_state.forget_build(con)
        context.log.info("data tests: " + ("every row" if tests_after < 0 else
                                           f"the rows touched by the raw batches after {tests_after}, "
                                           "where a test allows it (every row once a week)"))
    args = dbt_build_args(window, config.full_refresh, warehouse=warehouse.database,
                          timezone=local_days.timezone, spark_conf=conf,
                          touched_row_tests=not engine.is_spark)
    context.log.info(f"dbt {' '.join(args)}")
    # dbt is the writer for the length of the build: DuckDB takes one writing process per file,
    # a local Spark warehouse's Derby metastore one process.
    with engine.spark_lock() if engine.is_spark else warehouse.writer_lock():
        yield from dbt.build(args, context)
    if plain:
        with warehouse.connect() as con:
            build_state.record_built(con, inputs, every_row_tested=tests_after < 0)
