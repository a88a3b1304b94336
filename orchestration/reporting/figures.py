"""How the report writes its figures: counts, money, rates, and a dash where a rate has nothing
to divide by (no message sent or delivered in the range)."""

from __future__ import annotations

from decimal import Decimal

from orchestration.reporting.metrics import CampaignFigures, Funnel

DASH = "—"


def count(value: int) -> str:
    return f"{value:,}"


def money(value: Decimal | None) -> str:
    return DASH if value is None else f"{value:,.2f}"


def percent(rate: float | None) -> str:
    return DASH if rate is None else f"{rate:.1%}"


def currency_label(currency: str | None) -> str:
    return currency if currency is not None else "no currency"


def rate_phrase(funnel: Funnel, metric: str) -> str:
    """`93.3% of sent`: the rate and what it is taken of."""
    denominator = "sent" if metric == "messages_delivered" else "delivered"
    return f"{percent(funnel.rate(metric))} of {denominator}"


def campaign_title(campaign: CampaignFigures) -> str:
    if campaign.name:
        return f"{campaign.name} ({campaign.campaign_id})"
    return campaign.campaign_id


def campaign_status(campaign: CampaignFigures) -> str:
    return campaign.status or "not in dim_campaigns"


def campaign_value(campaign: CampaignFigures) -> str:
    """`129.80 BRL (9.27 per delivered message)`, one part per currency; a dash without value."""
    parts = [f"{money(entry.values['total_conversion_value'])} {currency_label(entry.currency)} "
             f"({money(campaign.funnel.value_per_delivered(entry))} per delivered message)"
             for entry in campaign.funnel.values]
    return "; ".join(parts) or DASH

