"""Serving on Spark (orchestration/spark/serving.py): the marts Spark holds, copied through
Parquet into a DuckDB warehouse file, publish exactly what the DuckDB engine publishes: the
same columns in the same order, the same types, the same rows."""

import json
from datetime import date, datetime
from pathlib import Path

import duckdb
import pytest

from dbt_helpers import MARTS, run_dbt
from orchestration.assets.transformation import dbt_project
from orchestration.generate import generate
from orchestration.ingestion.contracts import sources
from orchestration.ingestion.loader import load_source
from orchestration.publishing import MANIFEST, publish_marts
from orchestration.resources.warehouse import WarehouseResource
from orchestration.spark.serving import ServingError, contract_columns, export_marts, replace_marts

SPARK_DATABASE = "serving_test"  # not `marts`: the shared session's other tests build that one
VIEWS = ("fct_reminders", "fct_clicks")  # views on the DuckDB engine too


@pytest.fixture(scope="module")
def duckdb_engine_warehouse(tmp_path_factory) -> Path:
    """Three generated days loaded and built by the DuckDB engine (the loader, then dbt)."""
    root = tmp_path_factory.mktemp("duckdb-engine")
    generate(root / "landing", date(2024, 6, 1), days=3, reminders_per_day=40, seed=11, progress=False)
    warehouse = root / "warehouse.duckdb"
    with WarehouseResource(database=str(warehouse)).connect() as con:
        for source in sources():
            load_source(con, str(root / "landing"), source)
    built = run_dbt(warehouse, root / "target", "run")
    assert built.success, built.output[-3000:]
    return warehouse


def spark_marts_from(spark, warehouse: Path, scratch: Path) -> None:
    """The DuckDB engine's marts as Spark tables (the two views as views over tables), with
    Spark's own types: instants as `timestamp`, one mart with its columns in another order."""
    from pyspark.sql.functions import col
    from pyspark.sql.types import TimestampNTZType

    spark.sql(f"CREATE DATABASE IF NOT EXISTS {SPARK_DATABASE}_base")
    spark.sql(f"CREATE DATABASE IF NOT EXISTS {SPARK_DATABASE}")
    con = duckdb.connect(str(warehouse), read_only=True)
    try:
        for mart in MARTS:
            path = scratch / f"{mart}.parquet"
            con.execute(f"COPY (SELECT * FROM marts.{mart}) TO '{path}' (FORMAT parquet)")
            frame = spark.read.parquet(str(path))
            frame = frame.select([col(f.name).cast("timestamp").alias(f.name) if isinstance(f.dataType, TimestampNTZType)
                                  else col(f.name) for f in frame.schema.fields])
            if mart == "fct_conversions":
                frame = frame.select(list(reversed(frame.columns)))
            if mart in VIEWS:
                frame.write.mode("overwrite").format("parquet").saveAsTable(f"{SPARK_DATABASE}_base.{mart}")
                spark.sql(f"CREATE OR REPLACE VIEW {SPARK_DATABASE}.{mart} AS SELECT * FROM {SPARK_DATABASE}_base.{mart}")
            else:
                frame.write.mode("overwrite").format("parquet").saveAsTable(f"{SPARK_DATABASE}.{mart}")
    finally:
        con.close()


def published(root: Path) -> dict:
    return json.loads((root / "current" / MANIFEST).read_text())["marts"]


def test_marts_served_from_spark_publish_what_the_duckdb_engine_publishes(spark, duckdb_engine_warehouse, tmp_path):
    (tmp_path / "to_spark").mkdir()
    spark_marts_from(spark, duckdb_engine_warehouse, tmp_path / "to_spark")
    exported = export_marts(spark, str(tmp_path / "served"), list(MARTS), database=SPARK_DATABASE)
    served = WarehouseResource(database=str(tmp_path / "served.duckdb"))
    with served.connect() as con:
        rows = replace_marts(con, exported, contract_columns(dbt_project.manifest_path))
        publish_marts(con, str(tmp_path / "publish_spark"))
    with WarehouseResource(database=str(duckdb_engine_warehouse)).connect() as con:
        publish_marts(con, str(tmp_path / "publish_duckdb"))

    # Each mart's fingerprint: its columns and DuckDB types in order, its rows, the sum of a
    # hash of every row.
    from_spark, from_duckdb = published(tmp_path / "publish_spark"), published(tmp_path / "publish_duckdb")
    assert set(from_spark) == set(MARTS)
    for mart in MARTS:
        assert from_spark[mart] == from_duckdb[mart], mart
    assert rows["fct_conversions"] > 0 and rows["fct_clicks"] > 0  # data that can differ
    types = dict(from_spark["fct_conversions"]["columns"])
    assert (types["order_total"], types["order_created_at"], types["order_date"]) == \
        ("DECIMAL(18,2)", "TIMESTAMP", "DATE")


def test_spark_instants_become_the_same_naive_utc_timestamps(tmp_path):
    # What Spark writes: UTC-adjusted timestamps (DuckDB reads them as TIMESTAMPTZ).
    source = tmp_path / "dim_campaigns"
    source.mkdir()
    writer = duckdb.connect()
    writer.execute("SET TimeZone = 'America/Sao_Paulo'")
    writer.execute(f"""COPY (SELECT 'cmp_1' AS campaign_id, 'Cart' AS name, 'es' AS language,
        'cart_reminder' AS message_type, 'BRL' AS currency, 'active' AS status,
        TIMESTAMPTZ '2024-06-25 11:58:05.514321+00' AS created_at, NULL::TIMESTAMPTZ AS updated_at)
        TO '{source}/part-0.parquet' (FORMAT parquet)""")
    exported = {"dim_campaigns": {"path": str(source), "columns": [
        ["campaign_id", "string"], ["name", "string"], ["language", "string"], ["message_type", "string"],
        ["currency", "string"], ["status", "string"], ["created_at", "timestamp"], ["updated_at", "timestamp"]]}}

    with WarehouseResource(database=str(tmp_path / "w.duckdb")).connect() as con:
        replace_marts(con, exported, contract_columns(dbt_project.manifest_path))
        con.execute("SET TimeZone = 'Asia/Tokyo'")  # what a reader's zone does not change
        row = con.execute("SELECT created_at, updated_at, typeof(created_at) FROM marts.dim_campaigns").fetchone()
    assert row == (datetime(2024, 6, 25, 11, 58, 5, 514321), None, "TIMESTAMP")


def test_an_empty_mart_and_a_view_in_its_place_are_replaced_by_a_typed_table(tmp_path):
    empty = tmp_path / "mart_campaign_cohorts"
    empty.mkdir()  # Spark may write no Parquet file for an empty mart
    columns = contract_columns(dbt_project.manifest_path)["mart_campaign_cohorts"]
    exported = {"mart_campaign_cohorts": {"path": str(empty), "columns": [[n, "string"] for n, _ in columns]}}
    with WarehouseResource(database=str(tmp_path / "w.duckdb")).connect() as con:
        con.execute("CREATE VIEW marts.mart_campaign_cohorts AS SELECT 1 AS old")
        rows = replace_marts(con, exported, contract_columns(dbt_project.manifest_path))
        described = con.execute("SELECT column_name, data_type FROM information_schema.columns "
                                "WHERE table_name = 'mart_campaign_cohorts' ORDER BY ordinal_position").fetchall()
        kind = con.execute("SELECT table_type FROM information_schema.tables "
                           "WHERE table_name = 'mart_campaign_cohorts'").fetchone()[0]
    assert rows == {"mart_campaign_cohorts": 0}
    assert kind == "BASE TABLE"
    assert described[0] == ("send_date", "DATE")
    assert ("total_conversion_value", "DECIMAL(18,2)") in described


def test_a_mart_whose_columns_are_not_its_contract_fails_in_one_line_and_changes_nothing(tmp_path):
    source = tmp_path / "dim_campaigns"
    source.mkdir()
    duckdb.connect().execute(f"COPY (SELECT 'cmp_1' AS campaign_id, 2.5::DECIMAL(18,2) AS budget) "
                             f"TO '{source}/part-0.parquet' (FORMAT parquet)")
    exported = {"dim_campaigns": {"path": str(source), "columns": [["campaign_id", "string"],
                                                                   ["budget", "decimal(18,2)"]]}}
    with WarehouseResource(database=str(tmp_path / "w.duckdb")).connect() as con:
        con.execute("CREATE TABLE marts.dim_campaigns AS SELECT 'kept' AS campaign_id")
        with pytest.raises(ServingError, match=r"^marts\.dim_campaigns on Spark has the columns campaign_id, "
                                               r"budget, not its contract's campaign_id, name"):
            replace_marts(con, exported, contract_columns(dbt_project.manifest_path))
        assert con.execute("SELECT * FROM marts.dim_campaigns").fetchall() == [("kept",)]
