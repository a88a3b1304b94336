"""The local calendar: the IANA time zone that defines days ($CAMPAIGNS_TIMEZONE)."""

from __future__ import annotations

import dagster as dg
from pydantic import Field, field_validator

from orchestration.settings import validate_timezone


class LocalDays(dg.ConfigurableResource):
    """Days are local days in this zone; instants stay UTC (docs/spec.md section 2)."""

    timezone: str = Field(default="UTC", description="IANA zone, e.g. America/Sao_Paulo ($CAMPAIGNS_TIMEZONE).")

    @field_validator("timezone")
    @classmethod
    def _known(cls, value: str) -> str:
        return validate_timezone(value)
