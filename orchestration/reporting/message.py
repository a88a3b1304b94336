"""The report email as data, before any backend turns it into SendGrid JSON or a MIME file."""

from __future__ import annotations

import io
import zipfile
from dataclasses import dataclass

from orchestration.reporting.errors import ReportError


@dataclass(frozen=True)
class Attachment:
    filename: str
    content: bytes
    mime_type: str
    content_id: str | None = None  # set: an inline part the HTML refers to as cid:<content_id>

    @property
    def inline(self) -> bool:
        return self.content_id is not None

    @property
    def encoded_size(self) -> int:
        return 4 * ((len(self.content) + 2) // 3)


@dataclass(frozen=True)
class ReportEmail:
    subject: str
    text: str
    html: str
    inline_images: tuple[Attachment, ...]
    attachments: tuple[Attachment, ...]

    @property
    def encoded_size(self) -> int:
        parts = (*self.inline_images, *self.attachments)
        return (len(self.subject.encode()) + len(self.text.encode()) + len(self.html.encode())
                + sum(part.encoded_size for part in parts))


def zip_attachment(attachment: Attachment) -> Attachment:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression=zipfile.ZIP_DEFLATED, compresslevel=9) as archive:
        info = zipfile.ZipInfo(attachment.filename, date_time=(1980, 1, 1, 0, 0, 0))
        info.compress_type = zipfile.ZIP_DEFLATED
        info.external_attr = 0o644 << 16
        archive.writestr(info, attachment.content)
    name = attachment.filename.rsplit(".", 1)[0] + ".zip"
    return Attachment(name, buffer.getvalue(), "application/zip")


def too_large(email: ReportEmail, limit_bytes: int) -> ReportError:
    return ReportError(
        f"the report email is {email.encoded_size / 1e6:.1f} MB even with its CSV zipped, "
        f"above the {limit_bytes / 1e6:.0f} MB a message may have: send a shorter date range")
