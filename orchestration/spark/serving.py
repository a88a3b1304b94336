"""Serving on the spark engine: the marts Spark built, copied into the DuckDB warehouse file.

Publishing (orchestration/publishing.py), the report and the overview page read the marts from
$CAMPAIGNS_WAREHOUSE. On Spark the publish step first copies them there (docs/decisions.md,
"Serving on Spark"): Spark writes each mart as Parquet to a scratch folder (`export_marts`, in
the worker process), then DuckDB replaces the marts with them in one transaction
(`replace_marts`, under the warehouse's writer lock). Each copy has exactly the columns, order
and types the DuckDB engine gives: the dbt contract's (the manifest), else the Spark type's
DuckDB twin. Spark writes instants as UTC-adjusted Parquet timestamps: they become naive UTC
TIMESTAMPs again, as on DuckDB.
"""

from __future__ import annotations

import glob
import json
import re
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import duckdb
    from pyspark.sql import SparkSession

MARTS_SCHEMA = "marts"

# Spark SQL type -> the DuckDB type the DuckDB engine gives the same column.
DUCKDB_TYPES = {
    "string": "VARCHAR",
    "bigint": "BIGINT",
    "int": "INTEGER",
    "smallint": "SMALLINT",
    "tinyint": "TINYINT",
    "double": "DOUBLE",
    "float": "FLOAT",
    "boolean": "BOOLEAN",
    "date": "DATE",
    "timestamp": "TIMESTAMP",
    "timestamp_ntz": "TIMESTAMP",
}


class ServingError(RuntimeError):
    """The marts cannot be served as they are; the message is one line for the user."""


def _quote(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def duckdb_type(spark_type: str) -> str:
    decimal = re.fullmatch(r"decimal\((\d+),\s*(\d+)\)", spark_type.strip().lower())
    if decimal:
        return f"DECIMAL({decimal.group(1)},{decimal.group(2)})"
    try:
        return DUCKDB_TYPES[spark_type.strip().lower()]
    except KeyError:
        raise ServingError(f"no DuckDB type for the Spark type {spark_type!r}") from None


def export_marts(spark: SparkSession, scratch_dir: str, marts: list[str],
                 database: str = MARTS_SCHEMA) -> dict[str, dict]:
    """Write each of `marts` (tables and views of the Spark `marts` database) as Parquet under
    `scratch_dir/<mart>/`: {mart: {"path", "columns": [[name, spark type], ...]}}."""
    missing = [mart for mart in marts if not spark.catalog.tableExists(f"{database}.{mart}")]
    if missing:
        raise ServingError(f"the Spark warehouse has no {', '.join(f'{database}.{m}' for m in missing)}: "
                           "the dbt build did not make it")
    exported = {}
    for mart in marts:
        frame = spark.table(f"`{database}`.`{mart}`")
        path = f"{scratch_dir.rstrip('/')}/{mart}"
        frame.write.mode("overwrite").parquet(path)
        exported[mart] = {"path": path,
                          "columns": [[field.name, field.dataType.simpleString()] for field in frame.schema.fields]}
    return exported


def contract_columns(manifest_path: str | Path) -> dict[str, list[tuple[str, str]]]:
    """{mart: [(column, type)]} of every marts model whose contract names every column's type,
    in the contract's order: the columns the DuckDB engine gives it."""
    manifest = json.loads(Path(manifest_path).read_text())
    columns = {}
    for node in manifest["nodes"].values():
        if node.get("resource_type") != "model" or node.get("schema") != MARTS_SCHEMA:
            continue
        declared = [(name, column.get("data_type")) for name, column in node.get("columns", {}).items()]
        enforced = (node.get("config", {}).get("contract") or {}).get("enforced")
        if enforced and declared and all(data_type for _, data_type in declared):
            columns[node["alias"] or node["name"]] = declared
    return columns


def _served_columns(mart: str, spark_columns: list[list[str]],
                    contract: list[tuple[str, str]] | None) -> list[tuple[str, str]]:
    if contract is None:
        return [(name, duckdb_type(spark_type)) for name, spark_type in spark_columns]
    if sorted(name.lower() for name, _ in contract) != sorted(name.lower() for name, _ in spark_columns):
        raise ServingError(f"{MARTS_SCHEMA}.{mart} on Spark has the columns "
                           f"{', '.join(name for name, _ in spark_columns)}, not its contract's "
                           f"{', '.join(name for name, _ in contract)}")
    return contract


def _parquet_source(path: str) -> str | None:
    """The files of one exported mart, or None when Spark wrote none (an empty local mart)."""
    if "://" not in path and not glob.glob(f"{glob.escape(path)}/*.parquet"):
        return None
    return "'" + f"{path}/*.parquet".replace("'", "''") + "'"


def replace_marts(con: duckdb.DuckDBPyConnection, exported: dict[str, dict],
                  contracts: dict[str, list[tuple[str, str]]]) -> dict[str, int]:
    """Replace `marts.<mart>` in the DuckDB warehouse by each exported mart, in one transaction:
    a reader sees the previous marts or these, never a mix. {mart: rows}."""
    planned = {mart: _served_columns(mart, export["columns"], contracts.get(mart))
               for mart, export in exported.items()}
    # Naive TIMESTAMP from Spark's UTC-adjusted ones: the cast reads them in the session's zone.
    con.execute("SET TimeZone = 'UTC'")
    existing = dict(con.execute(
        "SELECT table_name, table_type FROM information_schema.tables WHERE table_schema = ? "
        "AND table_catalog = current_database()", [MARTS_SCHEMA]).fetchall())
    rows = {}
    con.execute("BEGIN TRANSACTION")
    try:
        con.execute(f"CREATE SCHEMA IF NOT EXISTS {MARTS_SCHEMA}")
        for mart, columns in planned.items():
            target = f"{MARTS_SCHEMA}.{_quote(mart)}"
            if mart in existing:
                con.execute(f"DROP {'VIEW' if existing[mart] == 'VIEW' else 'TABLE'} {target}")
            con.execute(f"CREATE TABLE {target} ("
                        + ", ".join(f"{_quote(name)} {data_type}" for name, data_type in columns) + ")")
            source = _parquet_source(exported[mart]["path"])
            if source is not None:
                casts = ", ".join(f"CAST({_quote(name)} AS {data_type})" for name, data_type in columns)
                con.execute(f"INSERT INTO {target} SELECT {casts} FROM read_parquet({source})")
            rows[mart] = con.execute(f"SELECT count(*) FROM {target}").fetchone()[0]
        con.execute("COMMIT")
    except BaseException:
        con.execute("ROLLBACK")
        raise
    return rows
