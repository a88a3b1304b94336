"""Ingestion on the spark engine (orchestration/spark/ingestion.py) against the DuckDB engine's:
the same landing zone gives the same raw rows, rejects, ledger, load counts and feed health, in
one load or several in random order; a load killed before its ledger is undone by the next
one; a retried task replaces its own output. One Spark session for all (the `spark` fixture)."""

from __future__ import annotations

import os
import random
import shutil
from datetime import date, datetime
from pathlib import Path

import duckdb
import pytest

from landing_files import send, status, webhook, write_lines
from orchestration.generate import generate
from orchestration.ingestion.contracts import raw_table_columns, sources
from orchestration.ingestion.health import duckdb_health_checks
from orchestration.ingestion.loader import load_source as load_on_duckdb
from orchestration.resources.warehouse import WarehouseResource
from orchestration.spark import ingestion as spark_ingestion
from orchestration.spark.batches import database_location
from orchestration.spark.load_task import TaskPlan, load_task
from orchestration.spark.raw_tables import spark_columns
from test_hostile_feeds import ORDER
from test_ingestion import BAD_SENDS

LOAD_TIMES = ("_loaded_at", "loaded_at")


# --- landing zones --------------------------------------------------------------------------

def hostile_files(landing: Path, outside: Path) -> None:
    """The hostile cases of tests/test_ingestion.py and tests/test_hostile_feeds.py, one landing zone."""
    write_lines(landing, "sends", "2024-06-03", "bad-lines.jsonl",
                [send("wamid.h1")] + [text for text, _ in BAD_SENDS] + [send("wamid.h2")])
    write_lines(landing, "sends", "2024-06-03", "undecodable.jsonl.gz",
                [send("wamid.h3"), "", b'{"message_id": "wamid.\xff"}', send("wamid.h4")])
    broken = write_lines(landing, "sends", "2024-06-03", "truncated.jsonl.gz", [send(f"wamid.t{i}") for i in range(200)])
    broken.write_bytes(broken.read_bytes()[: len(broken.read_bytes()) // 2])
    cut = write_lines(landing, "sends", "2024-06-02", "cut-mid-write.jsonl", [send("wamid.h5")])
    cut.write_bytes(cut.read_bytes() + b'{"message_id": "wamid.h6", "campa')
    write_lines(landing, "sends", "yesterday", "no-dt.jsonl", [send("wamid.h7")])
    outside.write_text('{"message_id": "wamid.secret"}\n')
    os.symlink(outside, landing / "sends" / "dt=2024-06-03" / "link.jsonl")
    write_lines(landing, "whatsapp", "2024-06-03", "bad-items.jsonl", [
        webhook(statuses=[status("wamid.1", "delivered", 1717400000), status("wamid.1", "read", "soon"),
                          {"status": "read", "timestamp": "1717400100"}]),
        '{"object": "whatsapp_business_account"}', "[1, 2]"])
    (landing / "clicks" / "dt=2024-06-03").mkdir(parents=True, exist_ok=True)
    (landing / "clicks" / "dt=2024-06-03" / "empty.jsonl").write_bytes(b"")
    write_lines(landing, "orders", "2024-06-25", "bad-items.jsonl",
                [ORDER, {**ORDER, "items": [{"id": "1", "price": 1}]}, {**ORDER, "value": -5}])


@pytest.fixture(scope="module")
def hostile_landing(tmp_path_factory) -> Path:
    """A small generated feed of every source, with the hostile cases beside it."""
    root = tmp_path_factory.mktemp("hostile")
    generate(root / "landing", date(2024, 6, 1), days=3, reminders_per_day=60, seed=5, progress=False)
    hostile_files(root / "landing", root / "outside.jsonl")
    return root / "landing"


# --- the raw layer of each engine, comparable ------------------------------------------------

def _columns(table: str, with_batch: bool) -> list[tuple[str, str]]:
    return [(name, kind) for name, kind in spark_columns(table)
            if name not in LOAD_TIMES and (with_batch or not name.endswith("batch_id"))]


def duckdb_rows(warehouse: str, table: str, with_batch: bool = True) -> list[tuple]:
    select = ", ".join(f"strftime(\"{n}\", '%Y-%m-%d %H:%M:%S.%f')" if k == "timestamp" else f'"{n}"'
                       for n, k in _columns(table, with_batch))
    with duckdb.connect(warehouse, read_only=True) as con:
        return sorted(con.execute(f"SELECT {select} FROM raw.{table}").fetchall(), key=repr)


def spark_rows(spark, table: str, with_batch: bool = True) -> list[tuple]:
    select = ", ".join(f"date_format(`{n}`, 'yyyy-MM-dd HH:mm:ss.SSSSSS')" if k == "timestamp" else f"`{n}`"
                       for n, k in _columns(table, with_batch))
    return sorted((tuple(row) for row in spark.sql(f"SELECT {select} FROM raw.{table}").collect()), key=repr)


def duckdb_tables(warehouse: str, with_batch: bool = True) -> dict[str, list[tuple]]:
    return {table: duckdb_rows(warehouse, table, with_batch) for table in raw_table_columns()}


def spark_tables(spark, with_batch: bool = True) -> dict[str, list[tuple]]:
    return {table: spark_rows(spark, table, with_batch) for table in raw_table_columns()}


def load_duckdb(warehouse: str, landing: Path, names) -> dict:
    with WarehouseResource(database=warehouse).connect() as con:
        return {name: load_on_duckdb(con, str(landing), name) for name in names}


def load_spark(spark, landing: Path, names, scratch: Path) -> dict:
    return {name: spark_ingestion.load_source(spark, str(landing), name, str(scratch)) for name in names}


@pytest.fixture
def spark_raw(spark):
    """The spark fixture's session with no raw layer, before and after the test."""
    spark.sql("DROP DATABASE IF EXISTS raw CASCADE")
    yield spark
    spark.sql("DROP DATABASE IF EXISTS raw CASCADE")


# --- one load of everything ------------------------------------------------------------------

@pytest.fixture(scope="module")
def both_engines(spark, hostile_landing, tmp_path_factory):
    """The hostile landing zone loaded once by each engine: results, tables and health checks."""
    root = tmp_path_factory.mktemp("both")
    warehouse = str(root / "warehouse.duckdb")
    spark.sql("DROP DATABASE IF EXISTS raw CASCADE")
    duck = load_duckdb(warehouse, hostile_landing, sources())
    with WarehouseResource(database=warehouse).connect() as con:
        duck_health = {name: duckdb_health_checks(con, name, duck[name]) for name in sources()}
    on_spark = load_spark(spark, hostile_landing, sources(), root / "scratch")
    spark_health = {name: spark_ingestion.health_checks(spark, name, on_spark[name]) for name in sources()}
    loaded = {"duckdb": (duck, duckdb_tables(warehouse), duck_health),
              "spark": (on_spark, spark_tables(spark), spark_health), "scratch": root / "scratch"}
    spark.sql("DROP DATABASE IF EXISTS raw CASCADE")
    return loaded


def test_spark_loads_the_raw_rows_rejects_and_ledger_duckdb_loads(both_engines):
    _, duck_tables, _ = both_engines["duckdb"]
    _, on_spark, _ = both_engines["spark"]
    for table, rows in duck_tables.items():
        assert on_spark[table] == rows, table
    # The hostile cases are all there, on both engines.
    reasons = {row[3] for row in on_spark["rejected_records"]}
    assert {"not valid UTF-8 text", "empty line", "not valid JSON", "the file is not in a dt=YYYY-MM-DD folder",
            "statuses[2]: missing key field id", "missing field items[].quantity",
            "unreadable file: it resolves outside the landing root (a link); not read"} <= reasons
    assert any(r.startswith("unreadable file: ") and "truncated" in r for r in reasons)
    statuses = {(row[1], row[3]) for row in on_spark["loaded_files"]}
    assert ("sends/dt=2024-06-03/truncated.jsonl.gz", "unreadable") in statuses
    assert ("clicks/dt=2024-06-03/empty.jsonl", "loaded") in statuses
    assert [name for name in os.listdir(both_engines["scratch"]) if name.isdigit()] == []  # cleaned up


def test_spark_load_counts_equal_duckdb_load_counts(both_engines):
    duck, _, _ = both_engines["duckdb"]
    on_spark, _, _ = both_engines["spark"]
    assert on_spark == duck
    assert on_spark["sends"].unreadable_files == ["sends/dt=2024-06-03/link.jsonl",
                                                  "sends/dt=2024-06-03/truncated.jsonl.gz"]


def test_spark_feed_health_checks_equal_duckdb_ones(both_engines):
    _, _, duck_health = both_engines["duckdb"]
    _, _, spark_health = both_engines["spark"]
    for source, checks in duck_health.items():
        assert set(spark_health[source]) == {"rejected_rate", "landing_freshness", "daily_volume"}
        for name, outcome in checks.items():
            other = spark_health[source][name]
            # Minutes pass between the two loads: the hours since the last file may round apart.
            hours = "hours_since_last_new_file"
            assert (other.passed, other.severity, {k: v for k, v in other.metadata.items() if k != hours}) == (
                outcome.passed, outcome.severity, {k: v for k, v in outcome.metadata.items() if k != hours}), name
            if name != "landing_freshness":
                assert other.description == outcome.description
    assert not duck_health["sends"]["rejected_rate"].passed  # the hostile cases are many: a real verdict compared


# --- several loads ---------------------------------------------------------------------------

INCREMENTAL_SOURCES = ("sends", "whatsapp")


def test_files_landing_over_several_loads_in_random_order_end_as_one_load(spark_raw, hostile_landing, tmp_path):
    files = sorted(p.relative_to(hostile_landing) for name in INCREMENTAL_SOURCES
                   for p in (hostile_landing / name).rglob("*.jsonl*"))
    random.Random(11).shuffle(files)
    arrivals = [files[i::3] for i in range(3)]  # three loads, each with files of any day
    landing = tmp_path / "landing"
    duck_warehouse, once_warehouse = str(tmp_path / "steps.duckdb"), str(tmp_path / "once.duckdb")

    for arrival in arrivals:
        for relative in arrival:
            (landing / relative).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy(hostile_landing / relative, landing / relative, follow_symlinks=False)
        on_spark = load_spark(spark_raw, landing, INCREMENTAL_SOURCES, tmp_path / "scratch")
        assert on_spark == load_duckdb(duck_warehouse, landing, INCREMENTAL_SOURCES)
    load_duckdb(once_warehouse, landing, INCREMENTAL_SOURCES)

    # The same batches as DuckDB's three loads, whose rows are those of one load of everything.
    before = spark_tables(spark_raw)
    assert before == duckdb_tables(duck_warehouse)
    assert duckdb_tables(duck_warehouse, with_batch=False) == duckdb_tables(once_warehouse, with_batch=False)
    assert len({row[-1] for row in before["loaded_files"]}) > len(INCREMENTAL_SOURCES)

    again = load_spark(spark_raw, landing, INCREMENTAL_SOURCES, tmp_path / "scratch")
    assert [(r.files, r.lines) for r in again.values()] == [([], 0), ([], 0)]
    assert spark_tables(spark_raw) == before


# --- a load killed mid-way, a task retried ----------------------------------------------------

class Killed(Exception):
    """The process dying at a given point of a load."""


def kill_before_appending(monkeypatch, dying_table: str) -> None:
    """The next load dies just before it appends `dying_table` (the tables before it are written)."""
    append = spark_ingestion.append_parquet

    def append_or_die(spark, table, path):
        if table == dying_table:
            raise Killed(table)
        append(spark, table, path)

    monkeypatch.setattr(spark_ingestion, "append_parquet", append_or_die)


def test_a_load_killed_before_its_ledger_is_undone_by_the_next_load(spark_raw, hostile_landing, tmp_path,
                                                                    monkeypatch):
    landing, scratch = tmp_path / "landing", tmp_path / "scratch"
    shutil.copytree(hostile_landing / "whatsapp", landing / "whatsapp")
    clean = str(tmp_path / "clean.duckdb")
    load_duckdb(clean, landing, ["whatsapp"])

    # Killed after every raw row and reject of the batch, before its ledger rows.
    kill_before_appending(monkeypatch, "loaded_files")
    with pytest.raises(Killed):
        spark_ingestion.load_source(spark_raw, str(landing), "whatsapp", str(scratch))
    assert spark_rows(spark_raw, "whatsapp_statuses") and spark_rows(spark_raw, "rejected_records")
    assert spark_rows(spark_raw, "loaded_files") == []
    # ...and the ledger's own write killed after some of its files were in place, unregistered.
    stray = next(scratch.glob("1/*/loaded_files.parquet"))
    ledger_folder = Path(database_location(spark_raw).removeprefix("file:")) / "loaded_files" / "batch_id=1"
    ledger_folder.mkdir(parents=True)
    shutil.copy(stray, ledger_folder / "part-00000-stray.parquet")

    # The next load dies between the two raw tables of the webhook source.
    kill_before_appending(monkeypatch, "whatsapp_messages")
    with pytest.raises(Killed):
        spark_ingestion.load_source(spark_raw, str(landing), "whatsapp", str(scratch))

    monkeypatch.undo()
    result = spark_ingestion.load_source(spark_raw, str(landing), "whatsapp", str(scratch))

    assert result.files and spark_tables(spark_raw) == duckdb_tables(clean)  # batch 1, nothing twice, nothing lost
    assert [name for name in os.listdir(scratch) if name.isdigit()] == []


def test_a_retried_task_replaces_the_output_of_its_failed_attempt(hostile_landing, tmp_path):
    files = sorted((str(p), p.stat().st_size) for p in (hostile_landing / "sends").rglob("*.jsonl*")
                   if not p.is_symlink())
    plan = TaskPlan(str(hostile_landing), "sends", 7, datetime(2024, 6, 4, 8, 0), str(tmp_path / "7"))
    first = load_task(plan, 3, files)
    folder = tmp_path / "7" / "3"
    written = {p.name: duckdb.sql(f"SELECT * FROM '{p}' ORDER BY ALL").fetchall() for p in folder.iterdir()}
    (folder / "sends.parquet").write_bytes(b"half a file")  # the failed attempt's leftovers
    (folder / "orders.parquet").write_bytes(b"a file it no longer writes")

    retried = load_task(plan, 3, files)

    assert retried == first and first.written["sends"] == first.result.rows_loaded["sends"] > 0
    assert {p.name: duckdb.sql(f"SELECT * FROM '{p}' ORDER BY ALL").fetchall() for p in folder.iterdir()} == written
    assert sorted(written) == ["loaded_files.parquet", "rejected_records.parquet", "sends.parquet"]
