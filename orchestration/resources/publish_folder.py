"""The BI copy's folder ($CAMPAIGNS_PUBLISH): what BI tools and the overview page read."""

from __future__ import annotations

import dagster as dg
from pydantic import Field


class PublishFolder(dg.ConfigurableResource):
    """`bi.duckdb`, `current/<mart>.parquet` and, for the facts, `current/<fact>/<day>.parquet`
    below it (orchestration/publishing.py)."""

    root: str = Field(description="The folder ($CAMPAIGNS_PUBLISH).")
