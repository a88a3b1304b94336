"""The BI copy of the marts: published after each successful build (orchestration/publishing.py)."""

import dagster as dg

from orchestration.publishing import publish_marts
from orchestration.resources.publish_folder import PublishFolder
from orchestration.resources.warehouse import WAREHOUSE_POOL, WarehouseResource


def build_publish_asset(mart_keys: list[dg.AssetKey]) -> dg.AssetsDefinition:
    @dg.asset(key=dg.AssetKey(["publish", "bi_marts"]), group_name="publish", deps=mart_keys,
              pool=WAREHOUSE_POOL, kinds={"duckdb", "parquet"})
    def bi_marts(context: dg.AssetExecutionContext, warehouse: WarehouseResource, publish: PublishFolder):
        """A read-only copy of every mart for BI tools, swapped in atomically: `bi.duckdb` (schema
        `marts`) and one Parquet file per mart under `current/`. Only the marts that changed since
        the previous version are exported again; the others are reused from it."""
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
        })

    return bi_marts
