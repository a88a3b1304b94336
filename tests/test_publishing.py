"""The BI copy: a whole new version of the marts swapped in atomically."""

import duckdb

from orchestration.publishing import VERSIONS_KEPT, publish_marts


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

    con.execute("INSERT INTO marts.fct_conversions VALUES ('new', 1)")
    for _ in range(VERSIONS_KEPT + 1):
        publish_marts(con, str(tmp_path / "publish"))

    assert old_reader.execute("SELECT count(*) FROM marts.fct_conversions").fetchone()[0] == 2
    new_reader = duckdb.connect(str(tmp_path / "publish" / "bi.duckdb"), read_only=True)
    assert new_reader.execute("SELECT count(*) FROM marts.fct_conversions").fetchone()[0] == 3
    assert len(list((tmp_path / "publish" / "versions").iterdir())) == VERSIONS_KEPT
