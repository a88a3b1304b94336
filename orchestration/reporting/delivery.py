"""Delivering a composed report email through the mailer's transport: the outbox, or SendGrid
with retries (sendgrid_delivery.py). The one place that reads the mailer's API key."""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

from orchestration.reporting.errors import DeliveryError
from orchestration.reporting.message import ReportEmail
from orchestration.reporting.outbox import write_to_outbox
from orchestration.reporting.recipients import validate_address
from orchestration.resources.mailer import API_KEY_VARIABLE, OUTBOX, SENDGRID, MailerResource

if TYPE_CHECKING:
    from orchestration.reporting.sendgrid_delivery import RetryPolicy


@dataclass(frozen=True)
class Delivery:
    backend: str
    attempts: int
    sendgrid_message_id: str | None = None
    outbox_file: str | None = None


def sender_address(mailer: MailerResource) -> str:
    """The validated sender address, or a one-line ReportArgumentError."""
    return validate_address(mailer.report_from, "sender (REPORT_FROM)")


def retry_policy(mailer: MailerResource) -> RetryPolicy:
    # The SendGrid client (and the cryptography it imports) loads only when a mail is sent.
    from orchestration.reporting.sendgrid_delivery import RetryPolicy

    return RetryPolicy(
        max_attempts=mailer.max_attempts,
        backoff_base_seconds=mailer.backoff_base_seconds,
        backoff_max_seconds=mailer.backoff_max_seconds,
        retry_budget_seconds=mailer.retry_budget_seconds,
        timeout_seconds=mailer.timeout_seconds,
    )


def deliver(mailer: MailerResource, email: ReportEmail, recipients: Sequence[str],
            backend: str | None = None, log: logging.Logger | None = None) -> Delivery:
    """Deliver through `backend` (default: the mailer's), or raise DeliveryError."""
    sender = sender_address(mailer)
    backend = backend or mailer.backend()
    if backend == OUTBOX:
        path = write_to_outbox(email, sender, recipients, mailer.outbox)
        return Delivery(backend=OUTBOX, attempts=1, outbox_file=str(path))
    api_key = mailer.sendgrid_api_key or ""
    if not api_key.strip():
        raise DeliveryError(f"no SendGrid API key ({API_KEY_VARIABLE}) to send the report with")
    from orchestration.reporting.sendgrid_delivery import send_with_sendgrid

    accepted = send_with_sendgrid(email, sender, recipients, api_key=api_key,
                                  host=mailer.sendgrid_host, policy=retry_policy(mailer), log=log)
    return Delivery(backend=SENDGRID, attempts=accepted.attempts,
                    sendgrid_message_id=accepted.message_id)
