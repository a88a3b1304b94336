"""The dbt project on the spark engine builds the marts the DuckDB engine builds, row for row
(every value as text: JSON, decimals and instants included) and with the contracts' types: on
the hand-written week of tests/test_marts_chain.py and its late events, through the dbt unit
tests, and on a random feed landed in loads in random order, then rebuilt from scratch.

Every test shares the session's Spark (the `spark` fixture); dbt runs in this process and gets
that same Spark. The raw rows are written into DuckDB as the DuckDB tests write them and copied
into Spark's raw layer with the same batches (orchestration/spark/raw_tables.py).
"""

from __future__ import annotations

import random
from datetime import datetime
from pathlib import Path

import pytest
import yaml

from orchestration.settings import DBT_PROJECT_DIR

try:
    from tests.dbt_helpers import MARTS, create_warehouse, insert_raw, run_dbt
    from tests.spark_dbt_helpers import copy_raw_to_spark, duckdb_marts, reset_spark, run_dbt_spark, spark_marts
    from tests.test_marts_chain import load_first_days, load_late_events, random_feed
except ImportError:  # tests/ is not a package: pytest put it on sys.path
    from dbt_helpers import MARTS, create_warehouse, insert_raw, run_dbt
    from spark_dbt_helpers import copy_raw_to_spark, duckdb_marts, reset_spark, run_dbt_spark, spark_marts
    from test_marts_chain import load_first_days, load_late_events, random_feed


def contract_types() -> dict[str, list[tuple[str, str]]]:
    """{mart: [(column, type)]} as the marts' contracts (models/marts/*.yml) spell them."""
    types = {}
    for path in sorted((Path(DBT_PROJECT_DIR) / "models" / "marts").glob("*.yml")):
        for model in yaml.safe_load(path.read_text()).get("models", []):
            types[model["name"]] = [(c["name"], c["data_type"]) for c in model["columns"]]
    return types


def assert_same_marts(spark, warehouse) -> dict:
    """The Spark marts are the DuckDB warehouse's, row for row, with the contracts' types."""
    on_spark, on_duckdb = spark_marts(spark), duckdb_marts(warehouse)
    contracts = contract_types()
    for mart in MARTS:
        assert on_spark[mart]["types"] == contracts[mart], mart
        assert on_duckdb[mart]["types"] == contracts[mart], mart
        assert on_spark[mart]["rows"] == on_duckdb[mart]["rows"], mart
    return on_spark


@pytest.fixture(scope="module")
def spark_dbt(spark_warehouse, tmp_path_factory) -> tuple[str, Path]:
    """The Spark warehouse folder and one dbt target folder for the module's Spark runs (dbt
    then parses the project once: partial parsing)."""
    return spark_warehouse, tmp_path_factory.mktemp("spark_target")


def build_both(spark_dbt: tuple[str, Path], warehouse, root: Path, *args: str, timezone: str = "UTC") -> None:
    """`dbt run` on Spark (`spark_dbt`: its warehouse folder and dbt target), then on DuckDB."""
    spark_warehouse, spark_target = spark_dbt
    on_spark = run_dbt_spark(spark_warehouse, spark_target, "run", *args, timezone=timezone)
    assert on_spark.success, on_spark.output[-5000:]
    on_duckdb = run_dbt(warehouse, root / "duckdb-target", "run", *args, timezone=timezone)
    assert on_duckdb.success, on_duckdb.output[-5000:]


def land(spark, root: Path, name: str, load, *warehouses) -> None:
    """Write raw rows (`load(warehouse)`) into each DuckDB warehouse, and the same batches into
    Spark through a warehouse of their own (copied whole)."""
    batches = create_warehouse(root / f"{name}.duckdb")
    for warehouse in (batches, *warehouses):
        load(warehouse)
    copy_raw_to_spark(spark, batches, root / f"{name}-parquet")


@pytest.fixture(scope="module")
def week(spark, spark_dbt, tmp_path_factory):
    """The hand-written week built on both engines, then its late events and an incremental run:
    the marts of each engine after each build."""
    reset_spark(spark)
    root = tmp_path_factory.mktemp("spark_week")
    warehouse = create_warehouse(root / "warehouse.duckdb")
    land(spark, root, "first-days", load_first_days, warehouse)
    build_both(spark_dbt, warehouse, root)
    first_days = (spark_marts(spark), duckdb_marts(warehouse))
    land(spark, root, "late-events", load_late_events, warehouse)
    build_both(spark_dbt, warehouse, root)
    return {"first_days": first_days, "late_events": (spark_marts(spark), duckdb_marts(warehouse)),
            "warehouse": warehouse}


def test_a_hand_written_week_builds_the_same_marts_on_spark(week):
    on_spark, on_duckdb = week["first_days"]
    contracts = contract_types()
    for mart in MARTS:
        assert on_spark[mart]["types"] == on_duckdb[mart]["types"] == contracts[mart], mart
        assert on_spark[mart]["rows"] == on_duckdb[mart]["rows"], mart
    assert len(on_spark["fct_conversions"]["rows"]) == 3
    # JSON text and decimals as DuckDB writes them.
    p1 = next(row for row in on_spark["fct_conversions"]["rows"] if row[0] == "P1")
    assert p1[11:] == ("99.80", "BRL", '[{"id":"1234","name":"Camiseta Azul","quantity":2,"price":49.9}]',
                       '[{"id":"1234","name":"Camiseta Azul","quantity":2,"price":49.9}]')


def test_late_events_change_the_spark_marts_as_they_change_duckdbs(week):
    on_spark, on_duckdb = week["late_events"]
    for mart in MARTS:
        assert on_spark[mart]["rows"] == on_duckdb[mart]["rows"], mart
    assert on_spark["fct_conversions"] != week["first_days"][0]["fct_conversions"]


def test_dbt_unit_tests_pass_on_spark(week, spark_dbt):
    """The unit tests read their inputs' column types from the built relations (the week's)."""
    result = run_dbt_spark(*spark_dbt, "test", "--select", "test_type:unit")
    assert result.success, result.output[-5000:]
    statuses = result.statuses("unit_test")
    assert len(statuses) >= 30 and set(statuses.values()) == {"pass"}


@pytest.mark.parametrize("seed, timezone", [(5, "America/New_York")])
def test_a_random_feed_in_loads_in_any_order_ends_as_a_full_build_on_both_engines(
        spark, spark_dbt, tmp_path, seed, timezone):
    """A random feed (duplicates, statuses before sends, versions out of order, cancellations,
    split orders, New York's DST change) landed in three loads in random order, an incremental
    run after each on both engines, then a full refresh: all four builds are the same marts."""
    reset_spark(spark)
    rnd = random.Random(seed)
    loads: list[list[tuple[str, dict]]] = [[] for _ in range(3)]
    for table_row in random_feed(seed, datetime(2024, 3, 7)):
        loads[rnd.randrange(len(loads))].append(table_row)
    warehouse = create_warehouse(tmp_path / "warehouse.duckdb")
    batch_id = 0
    for number, load in enumerate(loads):
        def write(target, load=load, first_batch=batch_id):
            batch = first_batch
            for table in ("sends", "whatsapp_statuses", "whatsapp_messages", "clicks", "orders"):
                rows = [row for name, row in load if name == table]
                if rows:
                    batch += 1
                    insert_raw(target, table, rows, batch_id=batch)
        land(spark, tmp_path, f"load-{number}", write, warehouse)
        batch_id += len({name for name, _ in load})
        build_both(spark_dbt, warehouse, tmp_path, timezone=timezone)
    incremental = assert_same_marts(spark, warehouse)
    assert incremental["fct_conversions"]["rows"], "the feed should produce conversions"

    build_both(spark_dbt, warehouse, tmp_path, "--full-refresh", timezone=timezone)
    assert assert_same_marts(spark, warehouse) == incremental
