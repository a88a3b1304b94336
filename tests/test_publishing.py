"""The BI copy: a whole new version of the marts swapped in atomically, reusing the unchanged marts."""

import json

import dagster as dg
import duckdb
import pytest

from orchestration.assets.publishing import build_publish_asset
from orchestration.resources.engine import Engine
from orchestration.resources.publish_folder import PublishFolder
from orchestration.publishing import VERSIONS_KEPT, _day_key, _days_filter, publish_marts
from orchestration.resources.warehouse import WarehouseResource


def make_marts(path, rows):
    con = duckdb.connect(path)
    con.execute("CREATE SCHEMA IF NOT EXISTS marts")
    con.execute("CREATE OR REPLACE TABLE marts.fct_conversions (conversion_id VARCHAR, order_total DECIMAL(18,2))")
    con.execute("INSERT INTO marts.fct_conversions SELECT 'c' || i, i * 1.5 FROM range(?) t(i)", [rows])
    return con


def test_published_snapshot_and_parquet_hold_the_marts_with_their_types(tmp_path):
    con = make_marts(str(tmp_path / "w.duckdb"), 3)
    publication = publish_marts(con, str(tmp_path / "publish"))
    con.close()

    assert publication.tables == {"fct_conversions": 3}
    reader = duckdb.connect(str(tmp_path / "publish" / "bi.duckdb"), read_only=True)
    assert reader.execute("SELECT data_type FROM information_schema.columns WHERE column_name = 'order_total'").fetchall() == [
        ("DECIMAL(18,2)",)]
    assert reader.execute("SELECT sum(order_total) FROM marts.fct_conversions").fetchone()[0] == 4.5
    parquet = tmp_path / "publish" / "current" / "fct_conversions.parquet"
    assert duckdb.connect().execute(f"SELECT count(*) FROM '{parquet}'").fetchone()[0] == 3


def test_new_publication_replaces_the_old_while_an_open_reader_keeps_its_version(tmp_path):
    warehouse = str(tmp_path / "w.duckdb")
    con = make_marts(warehouse, 2)
    publish_marts(con, str(tmp_path / "publish"))
    old_reader = duckdb.connect(str(tmp_path / "publish" / "bi.duckdb"), read_only=True)

    for n in range(VERSIONS_KEPT + 1):  # a change each time: each publication is a new version
        con.execute(f"INSERT INTO marts.fct_conversions VALUES ('new{n}', 1)")
        publish_marts(con, str(tmp_path / "publish"))

    assert old_reader.execute("SELECT count(*) FROM marts.fct_conversions").fetchone()[0] == 2
    new_reader = duckdb.connect(str(tmp_path / "publish" / "bi.duckdb"), read_only=True)
    assert new_reader.execute("SELECT count(*) FROM marts.fct_conversions").fetchone()[0] == 2 + VERSIONS_KEPT + 1
    assert len(list((tmp_path / "publish" / "versions").iterdir())) == VERSIONS_KEPT


def publish(con, root):
    return publish_marts(con, str(root))


def current(root, name):
    return (root / "current" / name).resolve()


def make_two_marts(path):
    con = make_marts(path, 4)
    con.execute("CREATE TABLE marts.dim_campaigns AS SELECT 'cmp_' || i AS campaign_id, 'active' AS status FROM range(3) t(i)")
    return con


def test_a_changed_mart_is_exported_again_and_an_unchanged_one_reused_from_the_previous_version(tmp_path):
    con = make_two_marts(str(tmp_path / "w.duckdb"))
    root = tmp_path / "publish"
    first = publish(con, root)
    first_conversions = current(root, "fct_conversions.parquet")
    old_reader = duckdb.connect(str(root / "bi.duckdb"), read_only=True)

    con.execute("UPDATE marts.dim_campaigns SET status = 'paused' WHERE campaign_id = 'cmp_1'")
    second = publish(con, root)

    assert (first.copied, first.reused) == (("dim_campaigns", "fct_conversions"), ())
    assert (second.copied, second.reused, second.snapshot) == (("dim_campaigns",), ("fct_conversions",), "patched")
    # The unchanged mart's Parquet file is the previous version's, not a copy of it.
    assert current(root, "fct_conversions.parquet").stat().st_ino == first_conversions.stat().st_ino
    parquet = current(root, "dim_campaigns.parquet")
    assert duckdb.connect().execute(f"SELECT status FROM '{parquet}' WHERE campaign_id = 'cmp_1'").fetchone()[0] == "paused"
    reader = duckdb.connect(str(root / "bi.duckdb"), read_only=True)
    assert reader.execute("SELECT status FROM marts.dim_campaigns WHERE campaign_id = 'cmp_1'").fetchone()[0] == "paused"
    assert reader.execute("SELECT sum(order_total) FROM marts.fct_conversions").fetchone()[0] == 9
    assert old_reader.execute("SELECT status FROM marts.dim_campaigns WHERE campaign_id = 'cmp_1'").fetchone()[0] == "active"


def test_nothing_changed_makes_no_new_version(tmp_path):
    con = make_two_marts(str(tmp_path / "w.duckdb"))
    root = tmp_path / "publish"
    first = publish(con, root)
    snapshot = current(root, "bi.duckdb")

    again = publish(con, root)

    assert (again.copied, again.reused, again.snapshot) == ((), ("dim_campaigns", "fct_conversions"), "kept")
    assert again.version == first.version and current(root, "bi.duckdb") == snapshot
    assert [path.name for path in (root / "versions").iterdir()] == [first.version]
    assert again.tables == {"dim_campaigns": 3, "fct_conversions": 4}


@pytest.mark.parametrize("change", [
    "UPDATE marts.fct_conversions SET order_total = order_total + 0.01 WHERE conversion_id = 'c2'",
    # The same rows, values and sums, but two conversions swap their totals.
    "UPDATE marts.fct_conversions SET order_total = CASE conversion_id WHEN 'c1' THEN 3.0 ELSE 1.5 END "
    "WHERE conversion_id IN ('c1', 'c2')",
    # The same row count: one row replaced by a copy of another.
    "UPDATE marts.fct_conversions SET conversion_id = 'c0', order_total = 0 WHERE conversion_id = 'c3'",
    "UPDATE marts.fct_conversions SET order_total = NULL WHERE conversion_id = 'c0'",
    "INSERT INTO marts.fct_conversions VALUES ('c0', 0)",
    "DELETE FROM marts.fct_conversions WHERE conversion_id = 'c3'",
    # The same values under another type, or another name.
    "ALTER TABLE marts.fct_conversions ALTER order_total TYPE DECIMAL(18,3)",
    "ALTER TABLE marts.fct_conversions RENAME order_total TO order_value",
    "ALTER TABLE marts.fct_conversions ADD COLUMN currency VARCHAR",
])
def test_any_change_to_a_mart_republishes_it(tmp_path, change):
    con = make_two_marts(str(tmp_path / "w.duckdb"))
    root = tmp_path / "publish"
    publish(con, root)

    con.execute(change)
    publication = publish(con, root)

    assert publication.copied == ("fct_conversions",)
    expected = con.execute("SELECT * FROM marts.fct_conversions ORDER BY ALL").fetchall()
    reader = duckdb.connect(str(root / "bi.duckdb"), read_only=True)
    assert reader.execute("SELECT * FROM marts.fct_conversions ORDER BY ALL").fetchall() == expected
    parquet = current(root, "fct_conversions.parquet")
    assert duckdb.connect().execute(f"SELECT * FROM '{parquet}' ORDER BY ALL").fetchall() == expected


def test_a_mart_added_or_dropped_in_the_warehouse_is_added_to_or_dropped_from_the_copy(tmp_path):
    con = make_two_marts(str(tmp_path / "w.duckdb"))
    root = tmp_path / "publish"
    publish(con, root)

    con.execute("DROP TABLE marts.dim_campaigns")
    con.execute("CREATE TABLE marts.mart_daily_campaign_metrics AS SELECT DATE '2024-06-25' AS metric_date")
    publication = publish(con, root)

    assert (publication.copied, publication.reused) == (("mart_daily_campaign_metrics",), ("fct_conversions",))
    reader = duckdb.connect(str(root / "bi.duckdb"), read_only=True)
    assert [name for (name,) in reader.execute("SELECT table_name FROM information_schema.tables ORDER BY 1").fetchall()] == [
        "fct_conversions", "mart_daily_campaign_metrics"]
    assert sorted(p.name for p in (root / "current").iterdir() if p.suffix == ".parquet") == [
        "fct_conversions.parquet", "mart_daily_campaign_metrics.parquet"]


def test_a_change_to_most_rows_writes_a_new_snapshot_and_the_patched_one_keeps_its_size(tmp_path):
    con = make_marts(str(tmp_path / "w.duckdb"), 200_000)
    con.execute("CREATE TABLE marts.dim_campaigns AS SELECT 'cmp_' || i AS campaign_id FROM range(3) t(i)")
    root = tmp_path / "publish"
    publish(con, root)
    sizes = []
    for day in range(4):
        con.execute("INSERT INTO marts.dim_campaigns VALUES (?)", [f"new_{day}"])
        patched = publish(con, root)
        sizes.append(current(root, "bi.duckdb").stat().st_size)
        assert (patched.copied, patched.snapshot) == (("dim_campaigns",), "patched")

    con.execute("UPDATE marts.fct_conversions SET order_total = order_total + 1")
    written = publish(con, root)

    assert (written.copied, written.snapshot) == (("fct_conversions",), "written")
    # Dropped tables' blocks are reused: patching does not grow the file.
    assert max(sizes) == min(sizes)


def test_a_version_without_fingerprints_is_not_trusted(tmp_path):
    con = make_two_marts(str(tmp_path / "w.duckdb"))
    root = tmp_path / "publish"
    publish(con, root)
    (root / "current" / "publication.json").unlink()  # as published before fingerprints existed

    publication = publish(con, root)

    assert (publication.copied, publication.snapshot) == (("dim_campaigns", "fct_conversions"), "written")


def test_published_files_are_read_only(tmp_path):
    con = make_two_marts(str(tmp_path / "w.duckdb"))
    root = tmp_path / "publish"
    publish(con, root)

    modes = {p.name: p.stat().st_mode & 0o222 for p in (root / "current").iterdir()}
    assert modes == {"bi.duckdb": 0, "dim_campaigns.parquet": 0, "fct_conversions.parquet": 0, "publication.json": 0}


def test_a_mart_with_a_column_named_like_its_table_is_fingerprinted_by_its_rows(tmp_path):
    con = make_marts(str(tmp_path / "w.duckdb"), 3)
    con.execute("ALTER TABLE marts.fct_conversions ADD COLUMN fct_conversions INTEGER DEFAULT 1")
    root = tmp_path / "publish"
    publish(con, root)

    con.execute("UPDATE marts.fct_conversions SET order_total = 7 WHERE conversion_id = 'c0'")

    assert publish(con, root).copied == ("fct_conversions",)


def test_the_publish_step_records_which_marts_it_copied_and_which_it_reused(tmp_path):
    warehouse = str(tmp_path / "w.duckdb")
    make_two_marts(warehouse).close()
    asset = build_publish_asset([dg.AssetKey(["marts", "fct_conversions"]), dg.AssetKey(["marts", "dim_campaigns"])])
    resources = {"warehouse": WarehouseResource(database=warehouse), "publish": PublishFolder(root=str(tmp_path / "publish")),
                 "engine": Engine()}
    dg.materialize([asset], resources=resources)
    con = duckdb.connect(warehouse)
    con.execute("UPDATE marts.dim_campaigns SET status = 'paused' WHERE campaign_id = 'cmp_2'")
    con.close()

    result = dg.materialize([asset], resources=resources)

    metadata = result.asset_materializations_for_node("publish__bi_marts")[0].metadata
    assert metadata["copied"].value == ["dim_campaigns"]
    assert metadata["reused"].value == ["fct_conversions"]
    assert metadata["bi_duckdb_snapshot"].value == "patched"


def make_reminders(path, days=10, per_day=1000):
    """A fact published day by day (publishing.DAY_COLUMNS): fct_reminders by `sent_at`."""
    con = duckdb.connect(path)
    con.execute("CREATE SCHEMA IF NOT EXISTS marts")
    con.execute("CREATE TABLE marts.fct_reminders AS SELECT 'm' || i AS message_id, "
                "TIMESTAMP '2024-06-01 12:00:00' + to_days(CAST(i // ? AS INTEGER)) AS sent_at, "
                "NULL::TIMESTAMP AS read_at FROM range(?) t(i)", [per_day, days * per_day])
    con.execute("CREATE TABLE marts.dim_campaigns AS SELECT 'cmp_' || i AS campaign_id FROM range(3) t(i)")
    return con


def bi_rows(root, mart):
    reader = duckdb.connect(str(root / "bi.duckdb"), read_only=True)
    try:
        return reader.execute(f"SELECT * FROM marts.{mart} ORDER BY ALL").fetchall()
    finally:
        reader.close()


def test_a_fact_is_patched_day_by_day_and_ends_equal_to_the_warehouse(tmp_path):
    con = make_reminders(str(tmp_path / "w.duckdb"))
    root = tmp_path / "publish"
    publish(con, root)
    written = current(root, "publication.json")
    first_files = {path.name: path.stat().st_ino for path in current(root, "fct_reminders").iterdir()}

    # A day of late reads, a new day, a reminder without a day, and a day gone.
    con.execute("UPDATE marts.fct_reminders SET read_at = sent_at + INTERVAL 1 HOUR "
                "WHERE CAST(sent_at AS DATE) = '2024-06-09' AND message_id LIKE '%7'")
    con.execute("INSERT INTO marts.fct_reminders SELECT 'n' || i, TIMESTAMP '2024-06-11 08:00:00', NULL "
                "FROM range(500) t(i)")
    con.execute("INSERT INTO marts.fct_reminders VALUES ('undated', NULL, NULL)")
    con.execute("DELETE FROM marts.fct_reminders WHERE CAST(sent_at AS DATE) = '2024-06-01'")
    patched = publish(con, root)

    assert (patched.copied, patched.reused, patched.snapshot) == (("fct_reminders",), ("dim_campaigns",), "patched")
    assert bi_rows(root, "fct_reminders") == con.execute("SELECT * FROM marts.fct_reminders ORDER BY ALL").fetchall()
    days = {day: rows for day, rows, _ in json.loads(current(root, "publication.json").read_text())
            ["marts"]["fct_reminders"]["days"]}
    assert days == {**{f"2024-06-{d:02d}": 1000 for d in range(2, 11)}, "2024-06-11": 500, "undated": 1}
    # Parquet: one file per day; the unchanged days' are the first version's files, not copies.
    files = {path.name: path.stat().st_ino for path in current(root, "fct_reminders").iterdir()}
    assert sorted(files) == sorted(f"{day}.parquet" for day in days)
    assert {name for name in files if files[name] == first_files.get(name)} == {
        f"2024-06-{d:02d}.parquet" for d in range(2, 11) if d != 9}
    parquet = current(root, "fct_reminders") / "*.parquet"
    assert duckdb.connect().execute(f"SELECT * FROM '{parquet}' ORDER BY ALL").fetchall() == \
        con.execute("SELECT * FROM marts.fct_reminders ORDER BY ALL").fetchall()
    # Rows changed on the same day, with the same count: still that day's rows republished.
    con.execute("UPDATE marts.fct_reminders SET message_id = message_id || 'x' WHERE message_id = 'm5000'")
    assert publish(con, root).snapshot == "patched"
    assert bi_rows(root, "fct_reminders") == con.execute("SELECT * FROM marts.fct_reminders ORDER BY ALL").fetchall()
    assert json.loads(written.read_text())["snapshot_written_bytes"] > 0


def test_a_patched_snapshot_that_grew_past_its_limit_is_written_whole(tmp_path):
    con = make_reminders(str(tmp_path / "w.duckdb"))
    root = tmp_path / "publish"
    publish(con, root)
    # As if the file had been patched many times since it was written whole at a tenth of its size.
    manifest = current(root, "publication.json")
    value = json.loads(manifest.read_text())
    value["snapshot_written_bytes"] = current(root, "bi.duckdb").stat().st_size // 10
    manifest.chmod(0o644)
    manifest.write_text(json.dumps(value))

    con.execute("INSERT INTO marts.fct_reminders VALUES ('late', TIMESTAMP '2024-06-05 10:00:00', NULL)")
    publication = publish(con, root)

    assert publication.snapshot == "written"
    assert bi_rows(root, "fct_reminders") == con.execute("SELECT * FROM marts.fct_reminders ORDER BY ALL").fetchall()
    assert json.loads(current(root, "publication.json").read_text())["snapshot_written_bytes"] == \
        current(root, "bi.duckdb").stat().st_size


def test_a_day_gone_from_a_fact_is_gone_from_the_copy(tmp_path):
    con = make_reminders(str(tmp_path / "w.duckdb"), days=3, per_day=10)
    root = tmp_path / "publish"
    publish(con, root)

    con.execute("DELETE FROM marts.fct_reminders WHERE CAST(sent_at AS DATE) = '2024-06-02'")
    publication = publish(con, root)

    assert publication.copied == ("fct_reminders",)
    assert bi_rows(root, "fct_reminders") == con.execute("SELECT * FROM marts.fct_reminders ORDER BY ALL").fetchall()
    assert sorted(p.name for p in current(root, "fct_reminders").iterdir()) == ["2024-06-01.parquet", "2024-06-03.parquet"]


@pytest.mark.parametrize("column_type", ["TIMESTAMP", "TIMESTAMPTZ"])
def test_a_fact_s_days_are_selected_by_their_ranges_exactly_as_by_their_day_key(column_type):
    # The ranges let DuckDB skip other days' row groups; they must select the same rows.
    con = duckdb.connect()
    con.execute("SET TimeZone = 'UTC'")
    con.execute(f"CREATE TABLE fact AS SELECT i, CASE WHEN i % 97 = 0 THEN NULL ELSE "
                f"(TIMESTAMP '2024-06-01' + i * INTERVAL 37 MINUTE)::{column_type} END AS sent_at "
                "FROM range(2000) t(i)")
    for days in (["2024-06-02"], ["2024-06-01", "2024-06-02", "2024-06-03"], ["2024-06-01", "2024-06-04"],
                 ["undated"], ["2024-06-03", "undated"], []):
        by_key = con.execute(f"SELECT list(i ORDER BY i) FROM fact WHERE {_day_key('sent_at')} "
                             "IN (SELECT unnest(?::VARCHAR[]))", [days]).fetchone()[0]
        by_ranges = con.execute(f"SELECT list(i ORDER BY i) FROM fact WHERE {_days_filter('sent_at', days)}",
                                [days]).fetchone()[0]
        assert by_ranges == by_key, days
        assert bool(by_key) == bool(days), days  # each set selects rows (none for no day)
