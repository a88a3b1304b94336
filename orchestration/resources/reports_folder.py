"""The folder the report CSVs are written to ($CAMPAIGNS_REPORTS)."""

from __future__ import annotations

import dagster as dg
from pydantic import Field


class ReportsFolder(dg.ConfigurableResource):
    """`conversions_<D1>_<D2>.csv` files, each written atomically."""

    root: str = Field(description="The folder ($CAMPAIGNS_REPORTS).")
