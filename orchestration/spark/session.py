"""One Spark configuration for every part of the spark engine: ingestion, dbt, serving, tests.

Locally Spark runs in process (`local[*]`), keeps its tables as plain Parquet under
$CAMPAIGNS_SPARK_WAREHOUSE and its catalog in an embedded Derby metastore beside them (one
process at a time: the steps of a run execute one after another). On a cluster the master URL
and a shared metastore replace both (README, "When one machine is not enough").
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from orchestration.settings import pin_spark_python

if TYPE_CHECKING:
    from pyspark.sql import SparkSession

APP_NAME = "campaigns"


def _is_local_path(location: str) -> bool:
    return "://" not in location or location.startswith("file://")


def metastore_url(warehouse: str) -> str:
    """The embedded Derby metastore of a local warehouse: a folder beside its tables."""
    return f"jdbc:derby:;databaseName={Path(warehouse) / 'metastore_db'};create=true"


def spark_conf(master: str, warehouse: str) -> dict[str, str]:
    """The Spark configuration of the engine. dbt gets the same as `server_side_parameters`."""
    conf = {
        "spark.master": master,
        "spark.app.name": APP_NAME,
        "spark.sql.warehouse.dir": warehouse,
        "spark.sql.catalogImplementation": "hive",
        # Instants are UTC everywhere (docs/spec.md section 3); naive Parquet timestamps stay
        # `timestamp`, not `timestamp_ntz`, and are written as microseconds, as DuckDB writes them.
        "spark.sql.session.timeZone": "UTC",
        "spark.sql.parquet.outputTimestampType": "TIMESTAMP_MICROS",
        "spark.sql.sources.partitionOverwriteMode": "dynamic",
        # A small machine: few shuffle partitions, no web UI.
        "spark.sql.shuffle.partitions": "8",
        "spark.ui.enabled": "false",
        "spark.ui.showConsoleProgress": "false",
        "spark.driver.memory": "3g",
    }
    if _is_local_path(warehouse):
        conf["spark.hadoop.javax.jdo.option.ConnectionURL"] = metastore_url(warehouse)
        # derby.log goes beside the metastore, not into the working directory.
        conf["spark.driver.extraJavaOptions"] = f"-Dderby.system.home={warehouse}"
    return conf


def spark_session(master: str, warehouse: str) -> SparkSession:
    """The process's Spark session (created once, then shared: getOrCreate)."""
    if _is_local_path(warehouse):
        Path(warehouse).mkdir(parents=True, exist_ok=True)
    pin_spark_python()
    from pyspark.sql import SparkSession

    builder = SparkSession.builder.enableHiveSupport()
    for key, value in spark_conf(master, warehouse).items():
        builder = builder.config(key, value)
    return builder.getOrCreate()
