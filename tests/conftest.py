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
