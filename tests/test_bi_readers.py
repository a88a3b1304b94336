"""BI readers of the published marts: a reader process queries them while the pipeline writes
(no errors, one version per read), and the copy a real pipeline run published is what BI tools
connect to: SQLAlchemy with duckdb-engine on bi.duckdb read-only (Superset, Metabase, DBeaver's
way), with the dbt contracts' tables and types, and every Parquet file readable by pyarrow."""

import json
import os
import shutil
import subprocess
import sys
from datetime import date
from pathlib import Path

import pytest
import sqlalchemy
import yaml

from orchestration.generate import generate
from orchestration.settings import DBT_PROJECT_DIR

CAMPAIGNS = str(Path(sys.executable).parent / "campaigns")
# What pyarrow calls each contract type in the Parquet files.
DUCKDB_NAMES = {"string": "varchar"}
ARROW_TYPES = {"varchar": "string", "bigint": "int64", "boolean": "bool", "date": "date32[day]",
               "timestamp": "timestamp[us]", "decimal(18,2)": "decimal128(18, 2)", "double": "double"}


@pytest.fixture(scope="module")
def pipeline_under_reader(tmp_path_factory) -> tuple[Path, list[str]]:
    """Two `campaigns run`s (two versions published) while a reader process queries the copy:
    the publish root, and the reader's lines."""
    tmp_path = tmp_path_factory.mktemp("bi_readers")
    feeds = tmp_path / "feeds"
    generate(feeds, date(2024, 6, 1), days=4, reminders_per_day=400, seed=5, progress=False)
    landing = tmp_path / "landing"
    env = {**os.environ, "CAMPAIGNS_LANDING": str(landing), "CAMPAIGNS_WAREHOUSE": str(tmp_path / "w.duckdb"),
           "DAGSTER_HOME": str(tmp_path / "dagster"), "CAMPAIGNS_PUBLISH": str(tmp_path / "publish")}
    stop = tmp_path / "stop"
    reader = subprocess.Popen([sys.executable, str(Path(__file__).parent / "bi_reader.py"),
                               str(tmp_path / "publish" / "bi.duckdb"), str(stop)],
                              stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        # Land the feeds in two steps, a build after each: two versions published under the reader.
        for step, days in enumerate((("2024-06-01", "2024-06-02"), ("2024-06-03", "2024-06-04", "2024-06-05",
                                                                   "2024-06-06", "2024-06-07", "2024-06-08"))):
            for source in feeds.iterdir():
                for day in days:
                    if (source / f"dt={day}").exists():
                        shutil.copytree(source / f"dt={day}", landing / source.name / f"dt={day}")
            result = subprocess.run([CAMPAIGNS, "run"], env=env, capture_output=True, text=True, timeout=600)
            assert result.returncode == 0, result.stderr[-2000:]
    finally:
        stop.touch()
        output, _ = reader.communicate(timeout=60)
    return tmp_path / "publish", output.split("\n")[:-1]


def test_reader_process_sees_only_whole_versions_while_the_pipeline_runs(pipeline_under_reader):
    _, reads = pipeline_under_reader
    errors = [line for line in reads if not line.startswith("ok ")]
    assert errors == []
    versions = {line for line in reads}
    assert len(reads) > 10 and len(versions) >= 2, reads[:5]


def contracts() -> dict[str, dict[str, str]]:
    """mart -> column -> data type, from the marts' dbt contracts (docs/spec.md section 3)."""
    found = {}
    for path in sorted((DBT_PROJECT_DIR / "models" / "marts").glob("*.yml")):
        for model in yaml.safe_load(path.read_text()).get("models", []):
            if (model.get("config") or {}).get("contract", {}).get("enforced"):
                # `string` (the one spelling both engines accept) is DuckDB's VARCHAR.
                found[model["name"]] = {column["name"]: DUCKDB_NAMES.get(type_name, type_name)
                                        for column in model["columns"]
                                        for type_name in [column["data_type"].replace(" ", "").lower()]}
    return found


def bi_engine(snapshot: Path) -> sqlalchemy.Engine:
    """The engine a BI tool makes from the URL the README gives (duckdb-engine's query string is
    DuckDB's config: access_mode=read_only opens the file read-only)."""
    return sqlalchemy.create_engine(f"duckdb:///{snapshot}?access_mode=read_only")


def test_sqlalchemy_lists_every_contracted_mart_with_its_types_read_only(pipeline_under_reader):
    publish, _ = pipeline_under_reader
    expected = contracts()
    assert {"fct_reminders", "fct_conversions", "mart_daily_campaign_metrics", "dim_campaigns"} <= set(expected)
    engine = bi_engine(publish / "bi.duckdb")
    try:
        inspector = sqlalchemy.inspect(engine)
        assert any(schema.endswith("marts") for schema in inspector.get_schema_names())
        assert set(inspector.get_table_names(schema="marts")) == set(expected)
        with engine.connect() as con:
            for mart, columns in expected.items():
                shown = con.execute(sqlalchemy.text(
                    "SELECT column_name, data_type FROM information_schema.columns "
                    "WHERE table_schema = 'marts' AND table_name = :mart ORDER BY ordinal_position"),
                    {"mart": mart}).all()
                assert {name: data_type.replace(" ", "").lower() for name, data_type in shown} == columns, mart
                table = sqlalchemy.Table(mart, sqlalchemy.MetaData(), schema="marts",
                                         *(sqlalchemy.Column(name) for name in columns))
                con.execute(sqlalchemy.select(sqlalchemy.func.count()).select_from(table)).scalar_one()
            with pytest.raises(sqlalchemy.exc.DBAPIError, match="read-only"):
                con.execute(sqlalchemy.text("CREATE TABLE marts.scratch (x INTEGER)"))
    finally:
        engine.dispose()


def test_sqlalchemy_inspector_reflects_every_marts_columns_with_the_contract_types(pipeline_under_reader):
    """What Superset, Metabase and DBeaver do on connecting: reflect each table's columns."""
    publish, _ = pipeline_under_reader
    engine = bi_engine(publish / "bi.duckdb")
    try:
        inspector = sqlalchemy.inspect(engine)
        for mart, expected in contracts().items():
            columns = inspector.get_columns(mart, schema="marts")
            # SQLAlchemy names DECIMAL(18, 2) by its standard synonym, NUMERIC(18, 2).
            reflected = {column["name"]: str(column["type"]).replace(" ", "").lower().replace("numeric", "decimal")
                         for column in columns}
            assert reflected == expected, mart
    finally:
        engine.dispose()


def test_pyarrow_reads_every_published_parquet_file_with_the_contract_types(pipeline_under_reader):
    import pyarrow.parquet as pq

    publish, _ = pipeline_under_reader
    current = (publish / "current").resolve()
    manifest = json.loads((current / "publication.json").read_text())
    expected = contracts()
    # A file per mart; the facts (publishing.DAY_COLUMNS) a folder with a file per day.
    assert {path.stem for path in current.glob("*.parquet")} | {path.name for path in current.iterdir() if path.is_dir()} \
        == set(manifest["marts"]) == set(expected)
    for mart, columns in expected.items():
        table = pq.read_table(current / mart if (current / mart).is_dir() else current / f"{mart}.parquet")
        assert table.num_rows == manifest["marts"][mart]["rows"], mart
        assert {field.name: str(field.type) for field in table.schema} == \
            {name: ARROW_TYPES[data_type] for name, data_type in columns.items()}, mart
