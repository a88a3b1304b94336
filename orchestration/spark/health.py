"""The spark engine's reads of its ledger for the feed health checks; the judging is the DuckDB
engine's own (orchestration/ingestion/health.py), so both engines pass or warn alike."""

from __future__ import annotations

from typing import TYPE_CHECKING

from orchestration.ingestion import health
from orchestration.ingestion.health import CheckOutcome
from orchestration.ingestion.writer import LoadResult

if TYPE_CHECKING:
    from pyspark.sql import SparkSession


def hours_since_last_file(spark: SparkSession, source: str) -> float | None:
    """Hours since the newest file of the source was loaded (whole seconds, as DuckDB's
    date_diff counts them); None when none ever was."""
    return spark.sql(
        "SELECT (unix_seconds(current_timestamp()) - unix_seconds(max(loaded_at))) / 3600D "
        "FROM raw.loaded_files WHERE source = :source", args={"source": source}).first()[0]


def daily_lines(spark: SparkSession, source: str) -> dict:
    rows = spark.sql(
        "SELECT received_dt, sum(lines) FROM raw.loaded_files "
        "WHERE source = :source AND received_dt IS NOT NULL GROUP BY received_dt",
        args={"source": source}).collect()
    return {day: int(lines) for day, lines in rows}


def health_checks(spark: SparkSession, source: str, result: LoadResult) -> dict[str, CheckOutcome]:
    """The three checks of a load on the spark engine, by check name."""
    return {"rejected_rate": health.rejected_rate(result.lines, result.records_rejected),
            "landing_freshness": health.judge_freshness(source, hours_since_last_file(spark, source)),
            "daily_volume": health.judge_volume(source, daily_lines(spark, source))}
