"""The BI copy of the marts: published after each successful build (orchestration/publishing.py).

On the spark engine the step first serves the marts: it copies them from Spark into the DuckDB
warehouse file (orchestration/spark/serving.py), which publishing, the report and the overview
page read on both engines (docs/decisions.md, "Serving on Spark").
"""

from pathlib import Path

import dagster as dg

from orchestration.publishing import publish_marts
from orchestration.resources.engine import Engine
from orchestration.resources.publish_folder import PublishFolder
from orchestration.resources.warehouse import WAREHOUSE_POOL, WarehouseResource
from orchestration.settings import DBT_PROJECT_DIR

# The marts' contracts: the columns and types served from Spark (dbt parse writes it).
DBT_MANIFEST = DBT_PROJECT_DIR / "target" / "manifest.json"


def build_publish_asset(mart_keys: list[dg.AssetKey], manifest_path: Path = DBT_MANIFEST) -> dg.AssetsDefinition:
    mart_names = [key.path[-1] for key in mart_keys]

    @dg.asset(key=dg.AssetKey(["publish", "bi_marts"]), group_name="publish", deps=mart_keys,
              pool=WAREHOUSE_POOL, kinds={"duckdb", "parquet"})
    def bi_marts(context: dg.AssetExecutionContext, warehouse: WarehouseResource, publish: PublishFolder,
                 engine: Engine):
        """A read-only copy of every mart for BI tools, swapped in atomically: `bi.duckdb` (schema
        `marts`) and Parquet under `current/`: a file per mart, a file per day for the facts. Only
        the marts (and the facts' days) that changed since the previous version are exported
        again; the others are reused from it."""
        served: dict[str, int] = {}
        if engine.is_spark:
            with engine.scratch("serve") as scratch:
                exported = engine.run_task("serve", {"scratch_dir": scratch, "marts": mart_names})["marts"]
                with warehouse.connect() as con:
                    served = _replace_marts(con, exported, manifest_path)
                    publication = publish_marts(con, publish.root)
            context.log.info(f"served {len(served)} marts from Spark into {warehouse.database}")
        else:
            from orchestration.build_state import record_published

            with warehouse.connect() as con:
                publication = publish_marts(con, publish.root)
                record_published(con, publication.version)
        if not publication.copied:
            context.log.info(f"no mart changed: version {publication.version} in {publish.root} stays")
        else:
            context.log.info(
                f"published version {publication.version} to {publish.root}: exported "
                f"{', '.join(publication.copied)}; reused {', '.join(publication.reused) or 'no mart'}; "
                f"bi.duckdb {publication.snapshot}")
        return dg.MaterializeResult(metadata={
            "version": publication.version,
            "bi_duckdb": dg.MetadataValue.path(f"{publish.root}/bi.duckdb"),
            "copied": dg.MetadataValue.json(list(publication.copied)),
            "reused": dg.MetadataValue.json(list(publication.reused)),
            "bi_duckdb_snapshot": publication.snapshot,
            **{f"rows_{table}": rows for table, rows in publication.tables.items()},
            **({"served_from_spark": dg.MetadataValue.json(sorted(served))} if engine.is_spark else {}),
        })

    return bi_marts


def _replace_marts(con, exported: dict, manifest_path: Path) -> dict[str, int]:
    # Imported when serving runs: the code location loads without it (orchestration/definitions.py).
    from orchestration.spark.serving import ServingError, contract_columns, replace_marts

    try:
        return replace_marts(con, exported, contract_columns(manifest_path))
    except ServingError as error:
        raise dg.Failure(description=str(error)) from None
