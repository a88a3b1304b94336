"""The batches of the spark engine's raw layer: which are committed, and undoing the others.

A batch is committed when the ledger `raw.loaded_files` holds its partition: a load appends its
raw rows and rejects first and its ledger rows last (orchestration/spark/ingestion.py). Plain
Parquet tables have no transactions, so a load killed between the two leaves raw partitions
that no ledger row accounts for; the next load drops them before it starts, and the files they
came from, still absent from the ledger, are loaded again. Spark registers a partition in the
metastore only after its files are in place, so a write killed half-way can also leave files
in a partition folder the metastore does not know: those folders are removed too, or the next
batch, given the same id, would take them in.

Loads are serialised (Dagster's warehouse pool, and the metastore takes one process): a load
in flight is never mistaken for a dead one.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING

from orchestration.ingestion.contracts import raw_table_columns
from orchestration.spark.raw_tables import batch_column

if TYPE_CHECKING:
    from pyspark.sql import SparkSession


def partition_batches(spark: SparkSession, table: str) -> set[int]:
    """The batches that have a partition of raw.<table> in the metastore."""
    return {int(row[0].split("=", 1)[1]) for row in spark.sql(f"SHOW PARTITIONS raw.{table}").collect()}


def committed_batches(spark: SparkSession) -> set[int]:
    return partition_batches(spark, "loaded_files")


def roll_back_uncommitted(spark: SparkSession) -> int:
    """Remove every partition of a batch the ledger does not hold, registered or not, from every
    raw table, the rejects and the ledger; return the next batch id: one more than any batch
    left (all of them committed)."""
    committed = committed_batches(spark)
    database = database_location(spark)
    for table in raw_table_columns():
        column = batch_column(table)
        folder = f"{database}/{table}"
        # Every registered partition has its folder: the folders show both kinds (read from the
        # file system, faster than asking the metastore table by table).
        for batch in sorted(_folder_batches(spark, folder, column) - committed):
            if table != "loaded_files":  # the ledger's registered partitions are the committed ones
                spark.sql(f"ALTER TABLE raw.{table} DROP IF EXISTS PARTITION ({column} = {batch})")
            _delete_folder(spark, f"{folder}/{column}={batch}")
            spark.catalog.refreshTable(f"raw.{table}")
    return max(committed, default=0) + 1


def database_location(spark: SparkSession) -> str:
    """The folder of the raw database; each of its tables (created without a LOCATION by
    raw_tables.py) is the folder named after it."""
    rows = spark.sql("DESCRIBE DATABASE raw").collect()
    return next(row[1] for row in rows if row[0] == "Location").rstrip("/")


def _file_system(spark: SparkSession, location: str):
    """Hadoop's file system of a warehouse folder (local, hdfs://, s3a://) and its path."""
    path = spark.sparkContext._jvm.org.apache.hadoop.fs.Path(location)
    return path.getFileSystem(spark.sparkContext._jsc.hadoopConfiguration()), path


def _folder_batches(spark: SparkSession, folder: str, column: str) -> set[int]:
    """The batches that have a partition folder (`<column>=<batch>`) in a table's folder."""
    fs, path = _file_system(spark, folder)
    if not fs.exists(path):
        return set()
    names = (status.getPath().getName() for status in fs.listStatus(path) if status.isDirectory())
    return {int(match[1]) for name in names if (match := re.fullmatch(rf"{re.escape(column)}=([0-9]+)", name))}


def _delete_folder(spark: SparkSession, location: str) -> bool:
    fs, path = _file_system(spark, location)
    return bool(fs.exists(path) and fs.delete(path, True))
