"""The Dagster code location: the whole pipeline assembled in one place.

landing files -> raw assets (assets/ingestion.py) -> dbt staging, intermediate and marts
(assets/transformation.py, dbt_project/models/) -> the BI copy (assets/publishing.py) -> the
conversions report and its email (assets/reporting.py).

The engine ($CAMPAIGNS_ENGINE: DuckDB, or Spark) is a resource: the same assets, checks, jobs
and schedule serve both; on Spark each step runs its Spark part in a worker process
(resources/engine.py).

Every process that serves the code location (webserver, daemon, each run) imports this module,
so it imports only what defining the assets needs: DuckDB, the SendGrid client and the report
path are imported inside the steps that use them.
"""

import os

import dagster as dg

from orchestration.assets.ingestion import raw_assets
from orchestration.assets.publishing import build_publish_asset
from orchestration.assets.reporting import (
    build_daily_schedule,
    build_send_report_job,
    conversions_report,
)
from orchestration.assets.transformation import DBT_EXECUTABLE, campaign_dbt_models, dbt_project
from orchestration.resources.dbt_cli import CampaignDbtCli
from orchestration.resources.engine import Engine
from orchestration.resources.landing import LandingZone
from orchestration.resources.local_days import LocalDays
from orchestration.resources.mailer import MailerResource
from orchestration.resources.publish_folder import PublishFolder
from orchestration.resources.reports_folder import ReportsFolder
from orchestration.resources.warehouse import WarehouseResource
from orchestration.settings import DBT_PROJECT_DIR, Settings, load_settings

PIPELINE_JOB_NAME = "campaigns_pipeline"
DAILY_JOB_NAME = "daily_pipeline_and_report"

MART_KEYS = sorted((key for key in campaign_dbt_models.keys if key.path[0] == "marts"),
                   key=lambda key: key.to_user_string())
bi_marts = build_publish_asset(MART_KEYS, dbt_project.manifest_path)

# Load new landing files, build every model (tests as asset checks), publish the BI copy.
pipeline_job = dg.define_asset_job(
    PIPELINE_JOB_NAME,
    selection=dg.AssetSelection.all() - dg.AssetSelection.assets(conversions_report),
    description="Load new landing files, build every model and publish the marts for BI tools.",
)
# The same, then the previous local day's report: what the 06:00 schedule runs.
daily_job = dg.define_asset_job(
    DAILY_JOB_NAME,
    selection=dg.AssetSelection.all(),
    description="Load, build, publish, and send the previous local day's conversions report.",
)


def build_defs(settings: Settings) -> dg.Definitions:
    return dg.Definitions(
        assets=[*raw_assets, campaign_dbt_models, bi_marts, conversions_report],
        jobs=[pipeline_job, daily_job, build_send_report_job(settings)],
        schedules=[build_daily_schedule(daily_job, settings.timezone, settings.report_recipients)],
        resources={
            "warehouse": WarehouseResource(database=settings.warehouse),
            "landing": LandingZone(root=settings.landing),
            "dbt": CampaignDbtCli(project_dir=dbt_project, profiles_dir=str(DBT_PROJECT_DIR),
                                  dbt_executable=DBT_EXECUTABLE),
            "publish": PublishFolder(root=settings.publish),
            "mailer": MailerResource.for_code_location(settings),
            "reports": ReportsFolder(root=settings.reports),
            "local_days": LocalDays(timezone=settings.timezone),
            "engine": Engine(name=settings.engine, spark_master=settings.spark_master,
                             spark_warehouse=settings.spark_warehouse,
                             log_dir=os.path.join(settings.dagster_home, "spark-logs")),
        },
        # The warehouse takes one writer at a time: the steps of a run execute one after another.
        executor=dg.in_process_executor,
    )


defs = build_defs(load_settings())
