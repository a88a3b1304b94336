"""The offline backend: the report as a standard `.eml` file in `$CAMPAIGNS_OUTBOX`.

The MIME tree is the one mail clients expect for an HTML mail with an inline image and a file:
multipart/mixed [multipart/alternative [text/plain, multipart/related [text/html, image/png]],
text/csv].
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from datetime import datetime, timezone
from email import policy
from email.message import EmailMessage
from email.utils import format_datetime, make_msgid
from pathlib import Path

from orchestration.reporting.atomic import atomic_file
from orchestration.reporting.message import ReportEmail


def build_mime_message(email: ReportEmail, sender: str, recipients: Sequence[str],
                       now: datetime | None = None) -> EmailMessage:
    message = EmailMessage(policy=policy.SMTP)
    message["Subject"] = email.subject
    message["From"] = sender
    message["To"] = ", ".join(recipients)
    message["Date"] = format_datetime(now or datetime.now(timezone.utc))
    message["Message-ID"] = make_msgid(domain=sender.rpartition("@")[2] or None)
    message.set_content(email.text)
    message.add_alternative(email.html, subtype="html")
    html_part = message.get_payload()[1]
    for image in email.inline_images:
        maintype, _, subtype = image.mime_type.partition("/")
        html_part.add_related(image.content, maintype=maintype, subtype=subtype,
                              cid=f"<{image.content_id}>", filename=image.filename,
                              disposition="inline")
    for attachment in email.attachments:
        maintype, _, subtype = attachment.mime_type.partition("/")
        message.add_attachment(attachment.content, maintype=maintype, subtype=subtype,
                               filename=attachment.filename)
    return message


def write_to_outbox(email: ReportEmail, sender: str, recipients: Sequence[str],
                    outbox: str | os.PathLike, now: datetime | None = None) -> Path:
    """Write the message atomically as `<outbox>/<subject words>_<UTC time>.eml`."""
    now = now or datetime.now(timezone.utc)
    folder = Path(outbox)
    folder.mkdir(parents=True, exist_ok=True)
    stem = "_".join(email.subject.lower().split()).replace("/", "-")
    target = folder / f"{stem}_{now.strftime('%Y%m%dT%H%M%S%fZ')}.eml"
    content = build_mime_message(email, sender, recipients, now).as_bytes()
    with atomic_file(target) as out:
        out.write(content)
    return target
