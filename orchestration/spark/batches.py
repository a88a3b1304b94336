"""The batches of the spark engine's raw layer: which are committed, and undoing the others.

A batch is committed when the ledger `raw.loaded_files` holds its partition: a load appends its
raw rows and rejects first and its ledger rows last (orchestration/spark/ingestion.py). Plain
Parquet tables have no transactions, so a load killed between the two leaves raw partitions
that no ledger row accounts for; the next load drops them before it starts, and the files they
came from, still absent from the ledger, are loaded again. Spark registers a partition in the
metastore only after its files are in place, so a write killed half-way can also leave files
in an unregistered partition folder: the next batch's folders are emptied before it is written.

Loads are serialised (Dagster's warehouse pool, and the metastore takes one process): a load
in flight is never mistaken for a dead one.
"""

from __future__ import annotations

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
    """Drop every partition of a batch the ledger does not hold from every raw table and the
    rejects, empty the folders of the next batch, and return its id: one more than any batch
    left (the ledger's and the raw partitions')."""
    committed = committed_batches(spark)
    for table in raw_table_columns():
        if table == "loaded_files":
            continue
        for batch in sorted(partition_batches(spark, table) - committed):
            spark.sql(f"ALTER TABLE raw.{table} DROP IF EXISTS PARTITION ({batch_column(table)} = {batch})")
    next_batch = max(committed, default=0) + 1  # the raw partitions left are all committed ones
    database = database_location(spark)
    for table in raw_table_columns():
        if _delete_folder(spark, f"{database}/{table}/{batch_column(table)}={next_batch}"):
            spark.catalog.refreshTable(f"raw.{table}")
    return next_batch


def database_location(spark: SparkSession) -> str:
    """The folder of the raw database; each of its tables (created without a LOCATION by
    raw_tables.py) is the folder named after it."""
    rows = spark.sql("DESCRIBE DATABASE raw").collect()
    return next(row[1] for row in rows if row[0] == "Location").rstrip("/")


def _delete_folder(spark: SparkSession, location: str) -> bool:
    """Delete a folder of the warehouse through Hadoop's file system (local, hdfs://, s3a://)."""
    jvm = spark.sparkContext._jvm
    path = jvm.org.apache.hadoop.fs.Path(location)
    fs = path.getFileSystem(spark.sparkContext._jsc.hadoopConfiguration())
    return bool(fs.exists(path) and fs.delete(path, True))
