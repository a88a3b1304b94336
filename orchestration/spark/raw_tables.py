"""The raw layer on the spark engine: the same tables, columns and provenance as DuckDB's
(orchestration/ingestion/contracts.py: raw_table_columns), as plain Parquet tables.

Every raw table, the rejects and the ledger are partitioned by their batch column: a batch is
written whole into its own partition, and a batch the ledger does not hold (a run killed before
it wrote the ledger, its commit marker) is dropped whole by the next load.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from orchestration.ingestion.contracts import raw_table_columns

if TYPE_CHECKING:
    from pyspark.sql import SparkSession

# DuckDB types of the raw layer -> Spark SQL types. JSON fragments are their text on Spark.
SPARK_TYPES = {
    "VARCHAR": "string",
    "JSON": "string",
    "TIMESTAMP": "timestamp",
    "DATE": "date",
    "BIGINT": "bigint",
    "INTEGER": "int",
    "DOUBLE": "double",
    "BOOLEAN": "boolean",
}


def spark_type(duckdb_type: str) -> str:
    base = duckdb_type.replace("NOT NULL", "").strip().upper()
    if base.startswith("DECIMAL"):
        return base.lower()
    try:
        return SPARK_TYPES[base]
    except KeyError:
        raise ValueError(f"no Spark type for the raw column type {duckdb_type!r}") from None


def batch_column(table: str) -> str:
    return "batch_id" if table == "loaded_files" else "_batch_id"


def spark_columns(table: str) -> list[tuple[str, str]]:
    """The table's columns with their Spark types, the batch column last (Spark keeps the
    partition column last)."""
    columns = [(name, spark_type(sql_type)) for name, sql_type in raw_table_columns()[table]]
    batch = batch_column(table)
    return [c for c in columns if c[0] != batch] + [c for c in columns if c[0] == batch]


def spark_raw_ddl() -> list[str]:
    statements = ["CREATE DATABASE IF NOT EXISTS raw"]
    for table in raw_table_columns():
        body = ", ".join(f"`{name}` {sql_type}" for name, sql_type in spark_columns(table))
        statements.append(f"CREATE TABLE IF NOT EXISTS raw.{table} ({body}) USING parquet "
                          f"PARTITIONED BY ({batch_column(table)})")
    return statements


def ensure_spark_raw_tables(spark: SparkSession) -> None:
    for statement in spark_raw_ddl():
        spark.sql(statement)


def append_parquet(spark: SparkSession, table: str, parquet_path: str) -> None:
    """Append the rows of Parquet files written by DuckDB (the raw table's columns) to
    raw.<table>, cast to its Spark types (DuckDB's naive timestamps read as timestamp_ntz)."""
    columns = spark_columns(table)
    select = ", ".join(f"cast(`{name}` as {sql_type}) as `{name}`" for name, sql_type in columns)
    spark.read.parquet(parquet_path).createOrReplaceTempView("_raw_parquet")
    spark.sql(f"INSERT INTO raw.{table} SELECT {select} FROM _raw_parquet")
    spark.catalog.dropTempView("_raw_parquet")


def copy_raw_from_duckdb(spark: SparkSession, con, scratch_dir: str) -> None:
    """Append every raw table of a DuckDB warehouse (open as `con`) to the Spark raw layer,
    through Parquet files under `scratch_dir`: the same rows, provenance and batches."""
    ensure_spark_raw_tables(spark)
    for table in raw_table_columns():
        path = f"{scratch_dir}/{table}.parquet"
        con.execute(f"COPY raw.{table} TO '{path}' (FORMAT parquet)")
        append_parquet(spark, table, path)
