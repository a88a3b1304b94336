"""Sending the report through the SendGrid v3 Mail Send API with the official client.

Retries: 429, 5xx and network failures (timeouts included) are retried with exponential
backoff, waiting at least what `Retry-After` asks, within a bounded number of attempts and a
bounded total wait; any other 4xx fails at once. The API key is handed in by the caller at
send time, lives only in local variables, and is scrubbed from every message this module and
the HTTP client produce: the client's debug log prints request headers, Authorization included.
"""

from __future__ import annotations

import base64
import http.client
import json
import logging
import re
import time
import urllib.error
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime, timezone
from email.utils import parsedate_to_datetime

import python_http_client
from python_http_client.exceptions import HTTPError as SendGridHTTPError
from sendgrid import SendGridAPIClient
from sendgrid.helpers.mail import (
    Attachment as SendGridAttachment,
    ContentId,
    Disposition,
    FileContent,
    FileName,
    FileType,
    Mail,
)

from orchestration.reporting.errors import DeliveryError
from orchestration.reporting.message import Attachment, ReportEmail

DEFAULT_HOST = "https://api.sendgrid.com"
_log = logging.getLogger(__name__)


@dataclass(frozen=True)
class RetryPolicy:
    max_attempts: int = 5
    backoff_base_seconds: float = 1.0
    backoff_max_seconds: float = 60.0
    retry_budget_seconds: float = 300.0  # the most this send may spend waiting between attempts
    timeout_seconds: float = 30.0  # per socket operation of one attempt

    def backoff(self, attempt: int) -> float:
        return min(self.backoff_max_seconds, self.backoff_base_seconds * 2 ** (attempt - 1))


@dataclass(frozen=True)
class SendGridAccepted:
    attempts: int
    message_id: str | None


class _Transient(Exception):
    def __init__(self, reason: str, retry_after: float | None = None):
        super().__init__(reason)
        self.reason = reason
        self.retry_after = retry_after


class _Permanent(Exception):
    pass


_BEARER = re.compile(r"(Bearer\s+)[^\s'\",}]+", re.IGNORECASE)
_SENDGRID_KEY = re.compile(r"SG\.[A-Za-z0-9_\-]+\.[A-Za-z0-9_\-]+")


def redact(text: str, secret: str | None = None) -> str:
    if secret:
        text = text.replace(secret, "[redacted]")
    return _SENDGRID_KEY.sub("[redacted]", _BEARER.sub(r"\1[redacted]", text))


class _ScrubClientLog(logging.Filter):
    """python_http_client logs the request headers (with the key) and the whole payload (with
    every attachment) at debug level: keep the headers' names and the payload's size only."""

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        if message.startswith("PAYLOAD:"):
            message = f"PAYLOAD: [{len(message) - len('PAYLOAD: ')} characters not logged]"
        record.msg, record.args = redact(message), None
        return True


def _install_client_log_filter() -> None:
    client_log = logging.getLogger(python_http_client.client.__name__)
    if not any(isinstance(existing, _ScrubClientLog) for existing in client_log.filters):
        client_log.addFilter(_ScrubClientLog())


_install_client_log_filter()


def build_mail(email: ReportEmail, sender: str, recipients: Sequence[str]) -> Mail:
    mail = Mail(from_email=sender, to_emails=list(recipients), subject=email.subject,
                plain_text_content=email.text, html_content=email.html)
    for part in (*email.inline_images, *email.attachments):
        mail.add_attachment(_attachment(part))
    return mail


def _attachment(part: Attachment) -> SendGridAttachment:
    attachment = SendGridAttachment(
        FileContent(base64.b64encode(part.content).decode("ascii")), FileName(part.filename),
        FileType(part.mime_type), Disposition("inline" if part.inline else "attachment"))
    if part.content_id:
        attachment.content_id = ContentId(part.content_id)
    return attachment


def send_with_sendgrid(email: ReportEmail, sender: str, recipients: Sequence[str], *, api_key: str,
                       host: str | None, policy: RetryPolicy, log: logging.Logger | None = None,
                       sleep: Callable[[float], None] = time.sleep) -> SendGridAccepted:
    """Send once SendGrid accepts (202), or raise DeliveryError with a one-line reason."""
    log = log or _log
    api_key = api_key.strip()
    if not api_key or any(ord(char) <= 32 or ord(char) >= 127 for char in api_key):
        raise DeliveryError("SENDGRID_API_KEY is empty or holds spaces or control characters: "
                            "set it to the key exactly as SendGrid shows it")
    host = (host or DEFAULT_HOST).rstrip("/")
    body = build_mail(email, sender, recipients).get()
    budget_ends = time.monotonic() + policy.retry_budget_seconds
    attempt = 0
    while True:
        attempt += 1
        failure: str | None = None
        try:
            message_id = _post(body, api_key, host, policy.timeout_seconds)
            return SendGridAccepted(attempts=attempt, message_id=message_id)
        except _Permanent as error:
            failure = redact(str(error), api_key)
            transient = None
        except _Transient as error:
            transient = error
        except Exception as error:  # anything else the client raises: its text may quote headers
            failure = (f"SendGrid call failed with {type(error).__name__}: "
                       f"{redact(str(error), api_key)}")
            transient = None
        if transient is None:
            break
        reason = redact(transient.reason, api_key)
        if attempt >= policy.max_attempts:
            failure = f"SendGrid failed {attempt} times, the last with {reason}; giving up"
            break
        delay = policy.backoff(attempt)
        if transient.retry_after is not None:
            delay = max(delay, transient.retry_after)
        if time.monotonic() + delay > budget_ends:
            failure = (f"SendGrid failed {attempt} times, the last with {reason}; the next try "
                       f"in {delay:.0f}s would pass the {policy.retry_budget_seconds:.0f}s "
                       "retry budget")
            break
        log.warning(f"SendGrid attempt {attempt} of {policy.max_attempts} failed with {reason}; "
                    f"retrying in {delay:.2f}s")
        sleep(delay)
    # Raised here, outside any `except`, so no client exception rides along as its context.
    raise DeliveryError(failure, attempts=attempt)


def _post(body: dict, api_key: str, host: str, timeout: float) -> str | None:
    """One call of Mail Send; the X-Message-Id of an accepted message."""
    client = SendGridAPIClient(api_key, host=host)
    client.client.timeout = timeout  # python_http_client passes it to urlopen for every call
    try:
        response = client.send(body)
    except SendGridHTTPError as error:
        status, reason, detail = _http_failure(error)
        retry_after = _retry_after(error.headers)
        summary = f"{status} {reason}".strip()
        if status == 429 or status >= 500:
            raise _Transient(f"{summary}{detail}", retry_after) from None
        raise _Permanent(
            f"SendGrid rejected the request ({summary}){detail}{_hint(status)}") from None
    except (TimeoutError, urllib.error.URLError, http.client.HTTPException,
            ConnectionError) as error:
        raise _Transient(_network_reason(error, host, timeout)) from None
    except OSError as error:
        reason = error.strerror or type(error).__name__
        raise _Transient(f"a network error calling {host}: {reason}") from None
    except ValueError:
        raise _Permanent(
            f"SENDGRID_HOST {host!r} is not a usable URL, e.g. https://api.sendgrid.com") from None
    return response.headers.get("X-Message-Id") if response.headers else None


def _http_failure(error: SendGridHTTPError) -> tuple[int, str, str]:
    status = int(getattr(error, "status_code", 0) or 0)
    reason = str(getattr(error, "reason", "") or http.client.responses.get(status, ""))
    detail = ""
    try:
        payload = json.loads(error.body.decode("utf-8")) if error.body else {}
        messages = [str(item.get("message")) for item in payload.get("errors", [])
                    if isinstance(item, dict) and item.get("message")]
        if messages:
            detail = ": " + "; ".join(messages)
    except (ValueError, AttributeError, TypeError):
        pass
    detail = " ".join(detail.split())
    return status, reason, detail[:300]


def _hint(status: int) -> str:
    if status == 401:
        return "; check SENDGRID_API_KEY"
    if status == 403:
        return ("; check that SENDGRID_API_KEY may send mail and that REPORT_FROM is a "
                "verified sender")
    if status == 413:
        return "; send a shorter date range"
    return ""


def _retry_after(headers) -> float | None:
    value = headers.get("Retry-After") if headers is not None else None
    if value is None:
        return None
    value = str(value).strip()
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=timezone.utc)
    return max(0.0, (when - datetime.now(timezone.utc)).total_seconds())


def _network_reason(error: Exception, host: str, timeout: float) -> str:
    cause = error.reason if isinstance(error, urllib.error.URLError) else error
    if isinstance(cause, TimeoutError):
        return f"no answer from {host} within the {timeout:g}s timeout"
    if isinstance(cause, OSError) and cause.strerror:
        return f"a network error calling {host}: {cause.strerror}"
    return f"a network error calling {host}: {type(cause).__name__}"
