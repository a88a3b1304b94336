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
    from tests.spark_dbt_helpers import (copy_raw_to_spark, duckdb_marts, reset_spark,
                                         run_dbt_spark, spark_marts)
    from tests.test_marts_chain import load_first_days, load_late_events, random_feed
except ImportError:  # tests/ is not a package: pytest put it on sys.path
    from dbt_helpers import MARTS, create_warehouse, insert_raw, run_dbt
    from spark_dbt_helpers import (copy_raw_to_spark, duckdb_marts, reset_spark, run_dbt_spark,
                                   spark_marts)
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


def build_both(spark_dbt: tuple[str, Path], warehouse, root: Path, *args: str,
               timezone: str = "UTC") -> None:
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


# Each step is a fixture of its own, so that no test item runs more than two builds per engine
# (the suite's per-test timeout); the next step goes on from the Spark tables the last one left.
@pytest.fixture(scope="module")
def first_days(spark, spark_dbt, tmp_path_factory):
    """The hand-written week built on both engines: the marts of each engine, and the DuckDB
    warehouse and folder to go on from."""
    reset_spark(spark)
    root = tmp_path_factory.mktemp("spark_week")
    warehouse = create_warehouse(root / "warehouse.duckdb")
    land(spark, root, "first-days", load_first_days, warehouse)
    build_both(spark_dbt, warehouse, root)
    return (spark_marts(spark), duckdb_marts(warehouse)), warehouse, root


@pytest.fixture(scope="module")
def late_events(first_days, spark, spark_dbt):
    """Then the late events (batches 7 to 11) and an incremental run on both engines."""
    _, warehouse, root = first_days
    land(spark, root, "late-events", load_late_events, warehouse)
    build_both(spark_dbt, warehouse, root)
    return spark_marts(spark), duckdb_marts(warehouse)


def test_a_hand_written_week_builds_the_same_marts_on_spark(first_days):
    on_spark, on_duckdb = first_days[0]
    contracts = contract_types()
    for mart in MARTS:
        assert on_spark[mart]["types"] == on_duckdb[mart]["types"] == contracts[mart], mart
        assert on_spark[mart]["rows"] == on_duckdb[mart]["rows"], mart
    assert len(on_spark["fct_conversions"]["rows"]) == 3
    # JSON text and decimals as DuckDB writes them.
    shirts = '[{"id":"1234","name":"Camiseta Azul","quantity":2,"price":49.9}]'
    p1 = next(row for row in on_spark["fct_conversions"]["rows"] if row[0] == "P1")
    assert p1[11:] == ("99.80", "BRL", shirts, shirts)


def test_late_events_change_the_spark_marts_as_they_change_duckdbs(first_days, late_events):
    on_spark, on_duckdb = late_events
    for mart in MARTS:
        assert on_spark[mart]["rows"] == on_duckdb[mart]["rows"], mart
    assert on_spark["fct_conversions"] != first_days[0][0]["fct_conversions"]


def test_dbt_unit_tests_pass_on_spark(late_events, spark_dbt):
    """The unit tests read their inputs' column types from the built relations (the week's)."""
    result = run_dbt_spark(*spark_dbt, "test", "--select", "test_type:unit")
    assert result.success, result.output[-5000:]
    statuses = result.statuses("unit_test")
    assert len(statuses) >= 30 and set(statuses.values()) == {"pass"}


SEED, ZONE = 5, "America/New_York"


@pytest.fixture(scope="module")
def random_feed_in_loads(spark, spark_dbt, tmp_path_factory):
    """A random feed (duplicates, statuses before sends, versions out of order, cancellations,
    split orders, New York's DST change) landed in three loads in random order, with an
    incremental run after each on both engines: the DuckDB warehouse and its folder."""
    reset_spark(spark)
    root = tmp_path_factory.mktemp("spark_random_feed")
    rnd = random.Random(SEED)
    loads: list[list[tuple[str, dict]]] = [[] for _ in range(3)]
    for table_row in random_feed(SEED, datetime(2024, 3, 7)):
        loads[rnd.randrange(len(loads))].append(table_row)
    warehouse = create_warehouse(root / "warehouse.duckdb")
    batch_id = 0
    for number, load in enumerate(loads):
        def write(target, load=load, first_batch=batch_id):
            batch = first_batch
            for table in ("sends", "whatsapp_statuses", "whatsapp_messages", "clicks", "orders"):
                rows = [row for name, row in load if name == table]
                if rows:
                    batch += 1
                    insert_raw(target, table, rows, batch_id=batch)
        land(spark, root, f"load-{number}", write, warehouse)
        batch_id += len({name for name, _ in load})
        build_both(spark_dbt, warehouse, root, timezone=ZONE)
    return warehouse, root


def test_a_random_feed_in_loads_in_any_order_builds_the_same_marts_on_spark(
        spark, random_feed_in_loads):
    incremental = assert_same_marts(spark, random_feed_in_loads[0])
    assert incremental["fct_conversions"]["rows"], "the feed should produce conversions"


def test_a_full_refresh_of_the_random_feed_equals_its_incremental_loads_on_both_engines(
        spark, spark_dbt, random_feed_in_loads):
    warehouse, root = random_feed_in_loads
    incremental = spark_marts(spark)
    build_both(spark_dbt, warehouse, root, "--full-refresh", timezone=ZONE)
    assert assert_same_marts(spark, warehouse) == incremental
