"""Raw ingestion: one asset per landing source, loading new files into `raw.*`.

Each materialization loads every landing file that `raw.loaded_files` does not hold yet, so a
late upload into an old `dt=` folder is picked up by the next run and a file is never loaded
twice. Bad lines go to `raw.rejected_records` with a reason; the rest of the file loads.

On the DuckDB engine the loader runs here, in the warehouse file; on the spark engine it runs
in a Spark worker process (orchestration/spark/worker.py) into the Spark raw layer. Both give
the same metadata and the same check results.
"""

import dataclasses

import dagster as dg

from orchestration.ingestion.contracts import contract, sources
from orchestration.resources.engine import Engine
from orchestration.resources.landing import LandingZone
from orchestration.resources.warehouse import WAREHOUSE_POOL, WarehouseResource

RAW_GROUP = "raw"


def _raw_asset(source_name: str) -> dg.AssetsDefinition:
    source = sources()[source_name]
    description = contract(source_name).get("title", source_name)
    specs = [
        dg.AssetSpec(
            key=dg.AssetKey([RAW_GROUP, table]),
            group_name=RAW_GROUP,
            description=f"Raw `{table}` rows loaded from landing/{source_name}/ ({description}), "
            "with their provenance (_file, _line_number, _received_dt, _batch_id).",
            kinds={"duckdb"},
        )
        for table in source.tables
    ]

    checked = specs[0].key  # the checks speak of the source; they sit on its first table
    check_specs = [
        dg.AssetCheckSpec("rejected_rate", asset=checked, blocking=True,
                          description="Share of this load's lines rejected: warn over 1%, error (blocking) over "
                                      "10%, when more than chance at that rate (binomial tail under 1%)."),
        dg.AssetCheckSpec("landing_freshness", asset=checked,
                          description="Warns when no new file of the source has landed for 36 hours."),
        dg.AssetCheckSpec("daily_volume", asset=checked,
                          description="Warns when the newest complete received day holds under half the lines "
                                      "of the 7 days before, beyond chance (Poisson tail under 0.1%)."),
    ]

    @dg.multi_asset(name=f"load_{source_name}", specs=specs, check_specs=check_specs, pool=WAREHOUSE_POOL)
    def load(context: dg.AssetExecutionContext, warehouse: WarehouseResource, landing: LandingZone,
             engine: Engine):
        landing.check_exists()
        # Every new file, even in a run over a window of days: a day's events land in later
        # `dt=` folders, and the window only bounds the daily marts' rows dbt recounts.
        if engine.is_spark:
            result, checks = _load_on_spark(engine, landing.root, source_name)
        else:
            result, checks = _load_on_duckdb(warehouse, landing.root, source_name)
        missing = [spec.name for spec in check_specs if spec.name not in checks]
        if missing:
            raise dg.Failure(description=f"{source_name}: the load gave no result for the checks {', '.join(missing)}")
        context.log.info(
            f"{source_name}: {len(result.files)} new files, {result.lines} lines, "
            f"{sum(result.rows_loaded.values())} rows loaded, {result.records_rejected} rejected"
        )
        for table in source.tables:
            yield dg.MaterializeResult(
                asset_key=dg.AssetKey([RAW_GROUP, table]),
                metadata={
                    "new_files": len(result.files),
                    "lines_read": result.lines,
                    "rows_loaded": result.rows_loaded.get(table, 0),
                    "rows_rejected": result.records_rejected,
                    "rejected_rate": dg.FloatMetadataValue(round(result.rejected_rate, 6)),
                    "unreadable_files": dg.MetadataValue.json(result.unreadable_files),
                },
            )
        for spec in check_specs:
            outcome = checks[spec.name]
            yield dg.AssetCheckResult(
                asset_key=checked, check_name=spec.name, passed=outcome["passed"],
                severity=dg.AssetCheckSeverity[outcome["severity"]], description=outcome["description"],
                metadata=outcome["metadata"],
            )

    return load


def _load_on_duckdb(warehouse: WarehouseResource, landing: str, source_name: str):
    """(LoadResult, {check: outcome}) of the DuckDB loader, in this process."""
    # The loader and the checks run DuckDB: imported when a load runs, not when the code
    # location loads (see orchestration/definitions.py).
    from orchestration.ingestion import health
    from orchestration.ingestion.loader import load_source

    with warehouse.connect() as con:
        result = load_source(con, landing, source_name)
        checks = {"rejected_rate": health.rejected_rate(result.lines, result.records_rejected),
                  "landing_freshness": health.freshness(con, source_name),
                  "daily_volume": health.volume(con, source_name)}
    return result, {name: dataclasses.asdict(outcome) for name, outcome in checks.items()}


def _load_on_spark(engine: Engine, landing: str, source_name: str):
    """(LoadResult, {check: outcome}) of the Spark loader, run in a worker process."""
    from orchestration.ingestion.writer import LoadResult

    with engine.scratch(f"load-{source_name}") as scratch:
        reply = engine.run_task("load", {"landing": landing, "source_name": source_name, "scratch_dir": scratch},
                                label=f"load-{source_name}")
    return LoadResult(**reply["result"]), reply["checks"]


raw_assets = [_raw_asset(name) for name in sources()]
