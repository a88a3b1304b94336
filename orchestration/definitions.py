"""The Dagster code location: the whole pipeline assembled in one place.

landing files -> raw assets (assets/ingestion.py) -> dbt staging, intermediate and marts
(assets/transformation.py, dbt_project/models/) -> the conversions report (assets/reporting.py).
"""

from __future__ import annotations

import dagster as dg

from orchestration.assets.ingestion import raw_assets
from orchestration.resources.landing import LandingZone
from orchestration.resources.warehouse import WarehouseResource
from orchestration.settings import load_settings

settings = load_settings()

PIPELINE_JOB_NAME = "campaigns_pipeline"

pipeline_job = dg.define_asset_job(
    PIPELINE_JOB_NAME,
    selection=dg.AssetSelection.groups("raw"),
    description="Load new landing files and build every model.",
)

defs = dg.Definitions(
    assets=[*raw_assets],
    jobs=[pipeline_job],
    resources={
        "warehouse": WarehouseResource(database=settings.warehouse),
        "landing": LandingZone(root=settings.landing),
    },
    # The warehouse takes one writer at a time: steps of a run execute one after another.
    executor=dg.in_process_executor,
)
