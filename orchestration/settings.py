"""Every setting of the pipeline, read from the environment in one place (docs/spec.md section 6).

This is the only module that reads the process environment. Everything else gets its settings
as Dagster resources (orchestration/definitions.py builds them from these) or as arguments.
Relative paths are relative to the repository root, so the CLI, the Dagster daemon and the
tests agree on where things are whatever their working directory.
"""

from __future__ import annotations

import os
import shutil
import sys
from dataclasses import dataclass, field
from pathlib import Path
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

REPO_ROOT = Path(__file__).resolve().parent.parent
DBT_PROJECT_DIR = REPO_ROOT / "dbt_project"
CONTRACTS_DIR = REPO_ROOT / "models"


ENGINES = ("duckdb", "spark")


class SettingsError(ValueError):
    """A setting that cannot be used; its message is one line meant for the user."""


def resolve_path(value: str) -> str:
    """Absolute local path for a relative setting; URIs (s3://...) are kept as they are."""
    if "://" in value:
        return value
    path = Path(value).expanduser()
    return str(path if path.is_absolute() else REPO_ROOT / path)


def validate_timezone(name: str) -> str:
    try:
        ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        raise SettingsError(f"unknown time zone {name!r}: use an IANA name such as America/Sao_Paulo") from None
    return name


def validate_engine(name: str) -> str:
    if name not in ENGINES:
        raise SettingsError(f"unknown engine {name!r} in CAMPAIGNS_ENGINE: use duckdb or spark")
    return name


@dataclass(frozen=True)
class Settings:
    landing: str
    warehouse: str
    reports: str
    outbox: str
    publish: str
    timezone: str
    report_from: str
    report_recipients: str
    sendgrid_host: str | None
    dagster_home: str
    # docs/spec.md section 7: `duckdb` (one machine) or `spark` (the same pipeline on Spark).
    engine: str = "duckdb"
    spark_master: str = "local[*]"
    spark_warehouse: str = str(REPO_ROOT / "data" / "spark-warehouse")
    # Never printed: repr=False keeps it out of any log or error that shows the settings. The
    # code location does not hand it on: its mailer takes dg.EnvVar("SENDGRID_API_KEY").
    sendgrid_api_key: str | None = field(default=None, repr=False)

    @property
    def sendgrid_configured(self) -> bool:
        return bool((self.sendgrid_api_key or "").strip())


def load_settings(environ: dict[str, str] | None = None) -> Settings:
    env = os.environ if environ is None else environ
    return Settings(
        landing=resolve_path(env.get("CAMPAIGNS_LANDING") or "data/landing"),
        warehouse=resolve_path(env.get("CAMPAIGNS_WAREHOUSE") or "data/warehouse.duckdb"),
        reports=resolve_path(env.get("CAMPAIGNS_REPORTS") or "data/reports"),
        outbox=resolve_path(env.get("CAMPAIGNS_OUTBOX") or "data/outbox"),
        publish=resolve_path(env.get("CAMPAIGNS_PUBLISH") or "data/publish"),
        timezone=validate_timezone(env.get("CAMPAIGNS_TIMEZONE") or "UTC"),
        report_from=env.get("REPORT_FROM") or "reports@localhost",
        report_recipients=env.get("REPORT_RECIPIENTS") or "",
        sendgrid_host=env.get("SENDGRID_HOST") or None,
        dagster_home=resolve_path(env.get("DAGSTER_HOME") or ".dagster_home"),
        engine=validate_engine((env.get("CAMPAIGNS_ENGINE") or "duckdb").strip().lower()),
        spark_master=(env.get("CAMPAIGNS_SPARK_MASTER") or "local[*]").strip(),
        spark_warehouse=resolve_path(env.get("CAMPAIGNS_SPARK_WAREHOUSE") or "data/spark-warehouse"),
        sendgrid_api_key=(env.get("SENDGRID_API_KEY") or "").strip() or None,
    )


def java_command() -> str | None:
    """The `java` pyspark will start: $JAVA_HOME/bin/java, else the one on PATH."""
    home = os.environ.get("JAVA_HOME")
    if home and os.access(os.path.join(home, "bin", "java"), os.X_OK):
        return os.path.join(home, "bin", "java")
    return shutil.which("java")


def pin_spark_python() -> None:
    """Spark's Python workers (and its driver, when Spark starts one) run this interpreter, which
    has the project installed, unless the environment names another. Spark reads these from the
    process environment only (passing `spark.pyspark.python` instead left the workers unable to
    unpickle the load task)."""
    os.environ.setdefault("PYSPARK_PYTHON", sys.executable)
    os.environ.setdefault("PYSPARK_DRIVER_PYTHON", sys.executable)


def subprocess_environment(**overrides: str) -> dict[str, str]:
    """The environment for a child process (dbt, a bench step), with `overrides` on top."""
    return {**os.environ, **overrides}
