"""The dbt project on the spark engine, in this process: dbt (dbtRunner) with the `spark` target
gets the test session's Spark (getOrCreate with the same configuration), so no test starts a
second JVM. And the marts of either engine as text, to compare them row for row.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import duckdb

from orchestration.settings import DBT_PROJECT_DIR
from orchestration.spark.raw_tables import copy_raw_from_duckdb
from orchestration.spark.session import spark_conf

try:
    from tests.dbt_helpers import MARTS, DbtResult
except ImportError:  # tests/ is not a package: pytest put it on sys.path
    from dbt_helpers import MARTS, DbtResult

SPARK_MASTER = "local[2]"  # the `spark` fixture's (tests/conftest.py)
SCHEMAS = ("raw", "staging", "intermediate", "marts")


def run_dbt_spark(spark_warehouse: str, target_path: Path | str, *args: str,
                  timezone: str = "UTC", dbt_vars: dict[str, Any] | None = None) -> DbtResult:
    """`dbt <args> --target spark`, with its artifacts and logs in `target_path`."""
    from dbt.cli.main import dbtRunner

    target_path = Path(target_path)
    target_path.mkdir(parents=True, exist_ok=True)
    dbt_vars = {"spark_conf": spark_conf(SPARK_MASTER, spark_warehouse), "timezone": timezone,
                **(dbt_vars or {})}
    lines: list[str] = []
    result = dbtRunner(callbacks=[lambda event: lines.append(event.info.msg)]).invoke([
        *args, "--target", "spark", "--project-dir", str(DBT_PROJECT_DIR),
        "--profiles-dir", str(DBT_PROJECT_DIR), "--target-path", str(target_path),
        "--log-path", str(target_path / "logs"), "--vars", json.dumps(dbt_vars),
        "--no-send-anonymous-usage-stats", "--no-use-colors"])
    run_results = target_path / "run_results.json"
    results = json.loads(run_results.read_text())["results"] if run_results.exists() else []
    run_results.unlink(missing_ok=True)
    if result.exception is not None:
        lines.append(repr(result.exception))
    return DbtResult(0 if result.success else 1, "\n".join(str(line) for line in lines), results)


def reset_spark(spark) -> None:
    """Drop every schema the pipeline writes (cascade), so the next test starts empty."""
    for schema in SCHEMAS:
        spark.sql(f"drop database if exists {schema} cascade")


def copy_raw_to_spark(spark, warehouse: Path | str, scratch_dir: Path | str) -> None:
    """Append the raw rows of a DuckDB warehouse to Spark's raw layer (same batches)."""
    Path(scratch_dir).mkdir(parents=True, exist_ok=True)
    with duckdb.connect(str(warehouse), read_only=True) as con:
        copy_raw_from_duckdb(spark, con, str(scratch_dir))


def _as_text(columns: list[str], relation: str) -> str:
    # `string`: Spark's text type, a DuckDB alias of VARCHAR; one query for both engines.
    text = ", ".join(f"cast({c} as string) as {c}" for c in columns)
    return f"select {text} from {relation}"


def _sorted(rows) -> list[tuple]:
    return sorted((tuple(row) for row in rows), key=lambda row: [(v is None, v or "") for v in row])


def duckdb_marts(warehouse: Path | str) -> dict[str, dict[str, Any]]:
    """{mart: {"types": [(column, type)], "rows": sorted rows of text}} of a DuckDB warehouse."""
    marts = {}
    with duckdb.connect(str(warehouse), read_only=True) as con:
        for mart in MARTS:
            types = con.execute(
                "select column_name, data_type from information_schema.columns where table_schema"
                " = 'marts' and table_name = ? order by ordinal_position", [mart]).fetchall()
            types = [(name, "string" if sql_type == "VARCHAR" else sql_type.lower())
                     for name, sql_type in types]
            rows = con.execute(_as_text([name for name, _ in types], f"marts.{mart}")).fetchall()
            marts[mart] = {"types": types, "rows": _sorted(rows)}
    return marts


def spark_marts(spark) -> dict[str, dict[str, Any]]:
    """The same as duckdb_marts(), of the Spark marts."""
    marts = {}
    for mart in MARTS:
        types = [(name, sql_type) for name, sql_type in spark.table(f"marts.{mart}").dtypes]
        rows = spark.sql(_as_text([name for name, _ in types], f"marts.{mart}")).collect()
        marts[mart] = {"types": types, "rows": _sorted(rows)}
    return marts
