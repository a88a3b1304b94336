import os
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parent))

# No test may reach the internet or a real mailbox: the SendGrid key is never inherited.
os.environ.pop("SENDGRID_API_KEY", None)


@pytest.fixture
def landing(tmp_path: Path) -> Path:
    root = tmp_path / "landing"
    root.mkdir()
    return root


@pytest.fixture
def warehouse_path(tmp_path: Path) -> str:
    return str(tmp_path / "warehouse.duckdb")


@pytest.fixture
def report_warehouse(tmp_path: Path):
    """A warehouse holding only small hand-made marts (fake_sendgrid.small_marts): what the report
    reads, without running the pipeline."""
    from fake_sendgrid import small_marts
    from orchestration.resources.warehouse import WarehouseResource

    resource = WarehouseResource(database=str(tmp_path / "warehouse.duckdb"))
    with resource.connect() as con:
        small_marts(con)
    return resource


@pytest.fixture(scope="session")
def spark_warehouse(tmp_path_factory) -> str:
    return str(tmp_path_factory.mktemp("spark-warehouse"))


@pytest.fixture(scope="session")
def spark(spark_warehouse):
    """One Spark session for every Spark test of the run (it takes about 13 s to start). dbt run
    in process (dbtRunner) with the `spark` target gets this same session (getOrCreate)."""
    from orchestration.spark.session import spark_session

    session = spark_session("local[2]", spark_warehouse)
    session.sparkContext.setLogLevel("ERROR")
    yield session
    session.stop()
