"""The report email: subject, HTML and plain-text bodies, the inline chart, the CSV attached."""

from __future__ import annotations

from decimal import Decimal
from html import escape

from orchestration.reporting.csv_export import ConversionsCsv
from orchestration.reporting.message import Attachment, ReportEmail, too_large, zip_attachment
from orchestration.reporting.metrics import (
    COUNT_METRICS,
    METRIC_LABELS,
    VALUE_METRICS,
    RangeMetrics,
)
from orchestration.reporting.report_range import ReportRange

_COUNT_GROUPS = (
    ("Messages", COUNT_METRICS[0:4]),
    ("Clicks", COUNT_METRICS[4:6]),
    ("Conversions", COUNT_METRICS[6:9]),
)


def chart_content_id(report_range: ReportRange) -> str:
    return (f"daily-conversions-{report_range.start.isoformat()}-{report_range.end.isoformat()}"
            "@campaigns.report")


def compose_report_email(report_range: ReportRange, csv: ConversionsCsv, metrics: RangeMetrics,
                         chart_png: bytes, *, max_message_bytes: int,
                         timezone: str | None = None) -> ReportEmail:
    """The email, its CSV zipped when the message would pass `max_message_bytes` otherwise."""
    chart = Attachment("daily_conversions.png", chart_png, "image/png",
                       content_id=chart_content_id(report_range))
    attachment = Attachment(csv.path.name, csv.read_bytes(), "text/csv")
    email = _render(report_range, csv.rows, metrics, chart, attachment, timezone)
    if email.encoded_size > max_message_bytes:
        zipped = zip_attachment(attachment)
        email = _render(report_range, csv.rows, metrics, chart, zipped, timezone)
        if email.encoded_size > max_message_bytes:
            raise too_large(email, max_message_bytes)
    return email


def _render(report_range: ReportRange, rows: int, metrics: RangeMetrics, chart: Attachment,
            attachment: Attachment, timezone: str | None) -> ReportEmail:
    return ReportEmail(
        subject=report_range.subject,
        text=_text(report_range, rows, metrics, attachment, timezone),
        html=_html(report_range, rows, metrics, chart, attachment, timezone),
        inline_images=(chart,),
        attachments=(attachment,),
    )


_SUMS_NOTE = ("Totals add up the daily rows of every campaign: unique clicks is the sum of each "
              "day's distinct clickers.")


def _count(value: int) -> str:
    return f"{value:,}"


def _money(value: Decimal) -> str:
    return f"{value:,.2f}"


def _days_note(report_range: ReportRange, timezone: str | None) -> str:
    days = "1 day" if report_range.days == 1 else f"{report_range.days} days"
    zone = f", local days in {timezone}" if timezone else ""
    return f"{report_range} ({days}{zone})"


def _currency_label(currency: str | None) -> str:
    return currency if currency is not None else "no currency"


def _text(report_range: ReportRange, rows: int, metrics: RangeMetrics, attachment: Attachment,
          timezone: str | None) -> str:
    lines = [report_range.subject, "", f"Totals for {_days_note(report_range, timezone)}", ""]
    width = max(len(name) for name in (*COUNT_METRICS, *VALUE_METRICS)) + 2
    for title, names in _COUNT_GROUPS:
        lines.append(title)
        lines += [f"  {name:<{width}}{_count(metrics.counts[name]):>16}" for name in names]
        lines.append("")
    if metrics.values:
        for entry in metrics.values:
            lines.append(f"Conversion value ({_currency_label(entry.currency)})")
            lines += [f"  {name:<{width}}{_money(entry.values[name]):>16}"
                      for name in VALUE_METRICS]
            lines.append("")
    else:
        lines.append("Conversion value")
        lines += [f"  {name:<{width}}{_money(Decimal(0)):>16}" for name in VALUE_METRICS]
        lines.append("")
    lines.append(_SUMS_NOTE)
    lines.append("")
    lines.append(f"Attached: {attachment.filename} ({_conversions_phrase(rows)}).")
    return "\n".join(lines) + "\n"


def _conversions_phrase(rows: int) -> str:
    return "1 conversion" if rows == 1 else f"{rows:,} conversions"


_CELL = 'style="padding:2px 12px 2px 0;border-bottom:1px solid #eee"'
_NUMBER = 'style="padding:2px 0 2px 12px;border-bottom:1px solid #eee;text-align:right"'


def _row(label: str, value: str) -> str:
    return f"<tr><td {_CELL}>{escape(label)}</td><td {_NUMBER}>{escape(value)}</td></tr>"


def _html(report_range: ReportRange, rows: int, metrics: RangeMetrics, chart: Attachment,
          attachment: Attachment, timezone: str | None) -> str:
    parts = [
        "<!DOCTYPE html>",
        '<html><head><meta charset="utf-8">',
        f"<title>{escape(report_range.subject)}</title></head>",
        '<body style="font-family:Arial,Helvetica,sans-serif;font-size:14px;color:#222">',
        f"<h2>{escape(report_range.subject)}</h2>",
        f"<p>Totals for {escape(_days_note(report_range, timezone))}.</p>",
    ]
    for title, names in _COUNT_GROUPS:
        parts.append(f"<h3>{escape(title)}</h3><table>")
        parts += [_row(METRIC_LABELS[name], _count(metrics.counts[name])) for name in names]
        parts.append("</table>")
    values = metrics.values or ()
    if values:
        for entry in values:
            currency = escape(_currency_label(entry.currency))
            parts.append(f"<h3>Conversion value ({currency})</h3><table>")
            parts += [_row(METRIC_LABELS[name], _money(entry.values[name]))
                      for name in VALUE_METRICS]
            parts.append("</table>")
    else:
        parts.append("<h3>Conversion value</h3><table>")
        parts += [_row(METRIC_LABELS[name], _money(Decimal(0))) for name in VALUE_METRICS]
        parts.append("</table>")
    parts += [
        f'<p><img src="cid:{escape(chart.content_id or "")}" alt="Daily conversions and value" '
        'width="640" height="260"></p>',
        f'<p style="color:#666;font-size:12px">{escape(_SUMS_NOTE)}</p>',
        f"<p>Attached: {escape(attachment.filename)} ({escape(_conversions_phrase(rows))}).</p>",
        "</body></html>",
    ]
    return "\n".join(parts) + "\n"
