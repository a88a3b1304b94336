"""The mailer: the one place that delivers report emails.

With `SENDGRID_API_KEY` in the environment at send time the email goes through SendGrid's v3
API; without it, it is written as a `.eml` file to the outbox (the default that works offline).
The key is never a config field: Dagster shows resource config in the UI and stores it with
runs, so the key is read from the environment at the moment of sending and nowhere else.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

import dagster as dg
from pydantic import Field

from orchestration.reporting.errors import DeliveryError
from orchestration.reporting.message import SENDGRID_MAX_MESSAGE_BYTES, ReportEmail
from orchestration.reporting.outbox import write_to_outbox
from orchestration.reporting.recipients import validate_address
from orchestration.settings import Settings

if TYPE_CHECKING:
    from orchestration.reporting.sendgrid_delivery import RetryPolicy

API_KEY_VARIABLE = "SENDGRID_API_KEY"
SENDGRID = "sendgrid"
OUTBOX = "outbox"


@dataclass(frozen=True)
class Delivery:
    backend: str
    attempts: int
    sendgrid_message_id: str | None = None
    outbox_file: str | None = None


class MailerResource(dg.ConfigurableResource):
    """Sends report emails: SendGrid when SENDGRID_API_KEY is set, else a .eml in the outbox."""

    report_from: str = Field(default="reports@localhost", description="The sender ($REPORT_FROM).")
    outbox: str = Field(
        description="Folder of the .eml files written without a SendGrid key ($CAMPAIGNS_OUTBOX).")
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
        fields = {"report_from": settings.report_from, "outbox": settings.outbox,
                  "sendgrid_host": settings.sendgrid_host}
        return cls(**{**fields, **overrides})

    def sender(self) -> str:
        """The validated sender address, or a one-line ReportArgumentError."""
        return validate_address(self.report_from, "sender (REPORT_FROM)")

    def backend(self) -> str:
        """Which backend a send made now would use."""
        return SENDGRID if os.environ.get(API_KEY_VARIABLE, "").strip() else OUTBOX

    def retry_policy(self) -> RetryPolicy:
        # The SendGrid client (and the cryptography it imports) loads only when a mail is sent.
        from orchestration.reporting.sendgrid_delivery import RetryPolicy

        return RetryPolicy(
            max_attempts=self.max_attempts,
            backoff_base_seconds=self.backoff_base_seconds,
            backoff_max_seconds=self.backoff_max_seconds,
            retry_budget_seconds=self.retry_budget_seconds,
            timeout_seconds=self.timeout_seconds,
        )

    def deliver(self, email: ReportEmail, recipients: Sequence[str], backend: str | None = None,
                log: logging.Logger | None = None) -> Delivery:
        """Deliver through `backend` (default: what `backend()` names), or raise DeliveryError."""
        sender = self.sender()
        backend = backend or self.backend()
        if backend == OUTBOX:
            path = write_to_outbox(email, sender, recipients, self.outbox)
            return Delivery(backend=OUTBOX, attempts=1, outbox_file=str(path))
        api_key = os.environ.get(API_KEY_VARIABLE, "")
        if not api_key.strip():
            raise DeliveryError(f"{API_KEY_VARIABLE} was unset while the report was being sent")
        from orchestration.reporting.sendgrid_delivery import send_with_sendgrid

        accepted = send_with_sendgrid(email, sender, recipients, api_key=api_key,
                                      host=self.sendgrid_host, policy=self.retry_policy(), log=log)
        return Delivery(backend=SENDGRID, attempts=accepted.attempts,
                        sendgrid_message_id=accepted.message_id)
