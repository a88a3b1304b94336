"""The mail transport: where report emails go and with what credentials.

With a SendGrid API key the email goes through SendGrid's v3 API; without one it is written as a
`.eml` file to the outbox (the default that works offline). In the code location the key is a
`dg.EnvVar("SENDGRID_API_KEY")`: Dagster resolves it when a step starts and shows only the
variable's name in the UI and in run config. What to send, and how to retry a send, is
`orchestration/reporting/` (delivery.py); this resource only says where and as whom.
"""

from __future__ import annotations

import dagster as dg
from pydantic import Field

from orchestration.settings import Settings

API_KEY_VARIABLE = "SENDGRID_API_KEY"
SENDGRID = "sendgrid"
OUTBOX = "outbox"
# SendGrid refuses a message over 30 MB, attachments base64-encoded.
SENDGRID_MAX_MESSAGE_BYTES = 30_000_000


class MailerResource(dg.ConfigurableResource):
    """Sends report emails: SendGrid when it has an API key, else a .eml in the outbox."""

    report_from: str = Field(default="reports@localhost", description="The sender ($REPORT_FROM).")
    default_recipients: str = Field(
        default="", description="Comma-separated recipients when none are given ($REPORT_RECIPIENTS).")
    outbox: str = Field(
        description="Folder of the .eml files written without a SendGrid key ($CAMPAIGNS_OUTBOX).")
    sendgrid_api_key: str | None = Field(
        default=None, repr=False,
        description="The SendGrid API key: dg.EnvVar('SENDGRID_API_KEY'), never a literal.")
    sendgrid_host: str | None = Field(
        default=None, description="Base URL of the SendGrid API ($SENDGRID_HOST); unset: its own.")
    timeout_seconds: float = Field(
        default=30.0, gt=0, description="Socket timeout of one call to SendGrid.")
    max_attempts: int = Field(
        default=5, ge=1, description="Calls to SendGrid at most for one send, retries included.")
    backoff_base_seconds: float = Field(
        default=1.0, ge=0, description="Wait after the first failed call; it doubles each time.")
    backoff_max_seconds: float = Field(
        default=60.0, ge=0, description="Longest backoff between calls (Retry-After may ask more).")
    retry_budget_seconds: float = Field(
        default=300.0, ge=0, description="Longest total wait between the calls of one send.")
    max_message_bytes: int = Field(
        default=SENDGRID_MAX_MESSAGE_BYTES, gt=0,
        description="Largest message, attachments base64-encoded; above it the CSV is zipped.")

    @classmethod
    def from_settings(cls, settings: Settings, **overrides) -> MailerResource:
        """The mailer outside Dagster (the CLI, the overview page): the key as the settings read it."""
        fields = {"report_from": settings.report_from, "outbox": settings.outbox,
                  "sendgrid_host": settings.sendgrid_host, "sendgrid_api_key": settings.sendgrid_api_key,
                  "default_recipients": settings.report_recipients}
        return cls(**{**fields, **overrides})

    @classmethod
    def for_code_location(cls, settings: Settings) -> MailerResource:
        """The mailer of the Dagster definitions: the key is resolved by Dagster from the
        environment when a step runs, and never stored with the run."""
        return cls.from_settings(
            settings, sendgrid_api_key=dg.EnvVar(API_KEY_VARIABLE) if settings.sendgrid_api_key else None)

    def backend(self) -> str:
        """Which backend a send made now uses."""
        return SENDGRID if (self.sendgrid_api_key or "").strip() else OUTBOX
