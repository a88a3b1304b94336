"""Run the dbt project against a given DuckDB warehouse, and write raw rows by hand.

Shared by the dbt tests (tests/test_dbt_unit.py, tests/test_marts_chain.py) and meant for any
test that needs the marts built: each call gets its own warehouse file and dbt target folder,
so tests can run in parallel.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path
from typing import Any

import duckdb

from orchestration.ingestion.contracts import raw_ddl
from orchestration.settings import DBT_PROJECT_DIR

DBT_EXECUTABLE = str(Path(sys.executable).with_name("dbt"))

MARTS = (
    "fct_reminders",
    "fct_conversions",
    "fct_clicks",
    "mart_daily_campaign_metrics",
    "mart_campaign_cohorts",
    "dim_campaigns",
    "dim_campaigns_history",
)


@dataclass
class DbtResult:
    returncode: int
    output: str
    results: list[dict[str, Any]]  # run_results.json "results"

    @property
    def success(self) -> bool:
        return self.returncode == 0

    def statuses(self, resource_type: str) -> dict[str, str]:
        """{unique_id: status} of the nodes of one type (model, test, unit_test) that ran."""
        return {r["unique_id"]: r["status"] for r in self.results
                if r["unique_id"].split(".", 1)[0] == resource_type}


def create_warehouse(path: Path | str) -> Path:
    """A DuckDB file with the empty raw tables, as the loader creates them."""
    path = Path(path)
    with duckdb.connect(str(path)) as con:
        for statement in raw_ddl():
            con.execute(statement)
    return path


def run_dbt(warehouse: Path | str, target_path: Path | str, *args: str,
            timezone: str | None = "UTC", dbt_vars: dict[str, Any] | None = None,
            timeout: float = 600) -> DbtResult:
    """`dbt <args>` on `warehouse`, with its artifacts and logs in `target_path`."""
    target_path = Path(target_path)
    target_path.mkdir(parents=True, exist_ok=True)
    env = {**os.environ, "CAMPAIGNS_WAREHOUSE": str(Path(warehouse).resolve()),
           "DBT_SEND_ANONYMOUS_USAGE_STATS": "false"}
    if timezone is not None:
        env["CAMPAIGNS_TIMEZONE"] = timezone
    command = [DBT_EXECUTABLE, *args,
               "--project-dir", str(DBT_PROJECT_DIR), "--profiles-dir", str(DBT_PROJECT_DIR),
               "--target-path", str(target_path), "--log-path", str(target_path / "logs")]
    if dbt_vars:
        command += ["--vars", json.dumps(dbt_vars)]
    completed = subprocess.run(command, env=env, cwd=str(DBT_PROJECT_DIR), capture_output=True,
                               text=True, timeout=timeout)
    run_results = target_path / "run_results.json"
    results = json.loads(run_results.read_text())["results"] if run_results.exists() else []
    # A later invocation in the same folder must not read this one's results.
    run_results.unlink(missing_ok=True)
    return DbtResult(completed.returncode, completed.stdout + completed.stderr, results)


PROVENANCE_DEFAULTS = {"_received_dt": None, "_loaded_at": None}


def insert_raw(warehouse: Path | str, table: str, rows: list[dict[str, Any]], batch_id: int,
               file: str | None = None) -> None:
    """Append `rows` to raw.<table> as one load: provenance columns filled, JSON values encoded."""
    if not rows:
        return
    file = file or f"{table}/dt=2024-01-01/batch-{batch_id}.jsonl"
    received = date.fromisoformat(file.split("dt=", 1)[1][:10]) if "dt=" in file else None
    with duckdb.connect(str(warehouse)) as con:
        columns = [c[0] for c in con.execute(
            "select column_name from information_schema.columns "
            "where table_schema = 'raw' and table_name = ? order by ordinal_position", [table]).fetchall()]
        placeholders = ", ".join("?" for _ in columns)
        for line_number, row in enumerate(rows, start=1):
            values = []
            for column in columns:
                if column == "_file":
                    values.append(file)
                elif column == "_line_number":
                    values.append(line_number)
                elif column == "_received_dt":
                    values.append(received)
                elif column == "_batch_id":
                    values.append(batch_id)
                elif column == "_loaded_at":
                    values.append(datetime(2024, 1, 1))
                else:
                    value = row.get(column)
                    values.append(json.dumps(value) if isinstance(value, (dict, list)) else value)
            unknown = set(row) - set(columns)
            if unknown:
                raise KeyError(f"raw.{table} has no column {sorted(unknown)}")
            con.execute(f"insert into raw.{table} ({', '.join(columns)}) values ({placeholders})", values)


def fetch(warehouse: Path | str, sql: str) -> list[tuple]:
    with duckdb.connect(str(warehouse), read_only=True) as con:
        return con.execute(sql).fetchall()


def fetch_dicts(warehouse: Path | str, sql: str) -> list[dict[str, Any]]:
    with duckdb.connect(str(warehouse), read_only=True) as con:
        cursor = con.execute(sql)
        names = [d[0] for d in cursor.description]
        return [dict(zip(names, row)) for row in cursor.fetchall()]


def snapshot_marts(warehouse: Path | str) -> dict[str, list[tuple]]:
    """Every row of every mart, in a stable order."""
    snapshot = {}
    with duckdb.connect(str(warehouse), read_only=True) as con:
        for mart in MARTS:
            snapshot[mart] = con.execute(f"select * from marts.{mart} order by all").fetchall()
    return snapshot
