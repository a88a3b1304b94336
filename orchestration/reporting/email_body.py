"""The report email: subject, HTML and plain-text bodies, the inline chart, the CSV attached.

Both bodies show the same things (docs/spec.md section 4): the range's totals of every daily metric
with the rates a marketer reads beside them, the conversion value per currency and per
delivered message, one row per campaign with its name and status, and (HTML) the daily chart.
"""

from __future__ import annotations

import textwrap
from decimal import Decimal
from html import escape

from orchestration.reporting.csv_export import ConversionsCsv
from orchestration.reporting.figures import (
    DASH,
    campaign_status,
    campaign_title,
    campaign_value,
    count,
    currency_label,
    money,
    percent,
    rate_phrase,
)
from orchestration.reporting.message import Attachment, ReportEmail, too_large, zip_attachment
from orchestration.reporting.metrics import (
    COUNT_METRICS,
    METRIC_LABELS,
    RATE_DENOMINATORS,
    VALUE_METRICS,
    CampaignFigures,
    CurrencyValues,
    RangeMetrics,
)
from orchestration.days import DayRange

_COUNT_GROUPS = (
    ("Messages", COUNT_METRICS[0:4]),
    ("Clicks", COUNT_METRICS[4:6]),
    ("Conversions", COUNT_METRICS[6:9]),
)
_NO_VALUE = CurrencyValues(None, {name: Decimal(0) for name in VALUE_METRICS})
_NOTE = ("Unique clicks count each user who clicked once over the whole range, whatever the "
         "days or campaigns. Rates are taken of the messages sent (delivered) or delivered "
         "(read, unique clicks, conversions); value per delivered message divides a currency's "
         "value by the messages delivered by the campaigns priced in it. A dash: nothing to "
         "divide by. Status is each campaign's status now.")
# The campaign table's figures: a count, with its rate where the funnel has one.
_CAMPAIGN_COLUMNS = (
    ("Sent", "messages_sent"), ("Delivered", "messages_delivered"), ("Read", "messages_read"),
    ("Unique clicks", "unique_clicks"), ("Conversions", "total_conversions"),
)


def chart_content_id(report_range: DayRange) -> str:
    return (f"daily-conversions-{report_range.start.isoformat()}-{report_range.end.isoformat()}"
            "@campaigns.report")


def compose_report_email(report_range: DayRange, csv: ConversionsCsv, metrics: RangeMetrics,
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


def _render(report_range: DayRange, rows: int, metrics: RangeMetrics, chart: Attachment,
            attachment: Attachment, timezone: str | None) -> ReportEmail:
    return ReportEmail(
        subject=report_range.subject,
        text=_text(report_range, rows, metrics, attachment, timezone),
        html=_html(report_range, rows, metrics, chart, attachment, timezone),
        inline_images=(chart,),
        attachments=(attachment,),
    )


def _days_note(report_range: DayRange, timezone: str | None) -> str:
    days = "1 day" if report_range.days == 1 else f"{report_range.days} days"
    zone = f", local days in {timezone}" if timezone else ""
    return f"{report_range} ({days}{zone})"


def _conversions_phrase(rows: int) -> str:
    return "1 conversion" if rows == 1 else f"{rows:,} conversions"


def _value_sections(metrics: RangeMetrics) -> tuple[CurrencyValues, ...]:
    return metrics.values or (_NO_VALUE,)


def _value_title(entry: CurrencyValues) -> str:
    if entry is _NO_VALUE:
        return "Conversion value"
    return f"Conversion value ({currency_label(entry.currency)})"


def _per_delivered(entry: CurrencyValues, metrics: RangeMetrics) -> str:
    return money(metrics.totals.value_per_delivered(entry)) if entry is not _NO_VALUE else DASH


def _campaign_cell(campaign: CampaignFigures, metric: str) -> tuple[str, str]:
    rate = percent(campaign.funnel.rate(metric)) if metric in RATE_DENOMINATORS else ""
    return count(campaign.funnel.counts[metric]), rate


# --- plain text ----------------------------------------------------------------------------

def _text(report_range: DayRange, rows: int, metrics: RangeMetrics, attachment: Attachment,
          timezone: str | None) -> str:
    lines = [report_range.subject, "", f"Totals for {_days_note(report_range, timezone)}", ""]
    width = max(len(label) for label in METRIC_LABELS.values()) + 2
    for title, names in _COUNT_GROUPS:
        lines.append(title)
        for name in names:
            rate = f"   {rate_phrase(metrics.totals, name)}" if name in RATE_DENOMINATORS else ""
            lines.append(f"  {METRIC_LABELS[name]:<{width}}{count(metrics.counts[name]):>14}{rate}")
        lines.append("")
    for entry in _value_sections(metrics):
        lines.append(_value_title(entry))
        lines += [f"  {METRIC_LABELS[name]:<{width}}{money(entry.values[name]):>14}"
                  for name in VALUE_METRICS]
        lines.append(f"  {'Value per delivered message':<{width}}"
                     f"{_per_delivered(entry, metrics):>14}")
        lines.append("")
    lines.append("Campaigns")
    if not metrics.campaigns:
        lines.append("  no campaign has data in this range")
    for campaign in metrics.campaigns:
        lines.append(f"  {campaign_title(campaign)}: {campaign_status(campaign)}")
        figures = []
        for label, metric in _CAMPAIGN_COLUMNS:
            figure, rate = _campaign_cell(campaign, metric)
            figures.append(f"{label.lower()} {figure}" + (f" ({rate})" if rate else ""))
        lines.append("    " + ", ".join(figures))
        lines.append(f"    value {campaign_value(campaign)}")
    lines.append("")
    lines.append(textwrap.fill(_NOTE, width=78))
    lines.append("")
    lines.append(f"Attached: {attachment.filename} ({_conversions_phrase(rows)}).")
    return "\n".join(lines) + "\n"


# --- HTML ----------------------------------------------------------------------------------

_CELL = 'style="padding:2px 12px 2px 0;border-bottom:1px solid #eee"'
_NUMBER = 'style="padding:2px 0 2px 12px;border-bottom:1px solid #eee;text-align:right"'
_RATE = 'style="padding:2px 0 2px 12px;border-bottom:1px solid #eee;color:#666"'
_HEAD = 'style="padding:2px 0 2px 12px;border-bottom:1px solid #ccc;text-align:right"'
_HEAD_LEFT = 'style="padding:2px 12px 2px 0;border-bottom:1px solid #ccc;text-align:left"'


def _row(label: str, value: str, rate: str = "") -> str:
    return (f"<tr><td {_CELL}>{escape(label)}</td><td {_NUMBER}>{escape(value)}</td>"
            f"<td {_RATE}>{escape(rate)}</td></tr>")


def _campaign_row(campaign: CampaignFigures) -> str:
    cells = [f"<td {_CELL}>{escape(campaign_title(campaign))}</td>",
             f"<td {_CELL}>{escape(campaign_status(campaign))}</td>"]
    for _label, metric in _CAMPAIGN_COLUMNS:
        figure, rate = _campaign_cell(campaign, metric)
        shown = escape(figure) + (f'<br><span style="color:#666">{escape(rate)}</span>'
                                  if rate else "")
        cells.append(f"<td {_NUMBER}>{shown}</td>")
    cells.append(f"<td {_NUMBER}>{escape(campaign_value(campaign))}</td>")
    return "<tr>" + "".join(cells) + "</tr>"


def _campaign_table(metrics: RangeMetrics) -> list[str]:
    if not metrics.campaigns:
        return ["<h3>Campaigns</h3>", "<p>No campaign has data in this range.</p>"]
    head = ([f"<th {_HEAD_LEFT}>Campaign</th>", f"<th {_HEAD_LEFT}>Status</th>"]
            + [f"<th {_HEAD}>{escape(label)}</th>" for label, _ in _CAMPAIGN_COLUMNS]
            + [f"<th {_HEAD}>Conversion value</th>"])
    return ["<h3>Campaigns</h3>", '<table style="border-collapse:collapse">',
            "<tr>" + "".join(head) + "</tr>",
            *(_campaign_row(campaign) for campaign in metrics.campaigns), "</table>"]


def _html(report_range: DayRange, rows: int, metrics: RangeMetrics, chart: Attachment,
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
        parts += [_row(METRIC_LABELS[name], count(metrics.counts[name]),
                       rate_phrase(metrics.totals, name) if name in RATE_DENOMINATORS else "")
                  for name in names]
        parts.append("</table>")
    for entry in _value_sections(metrics):
        parts.append(f"<h3>{escape(_value_title(entry))}</h3><table>")
        parts += [_row(METRIC_LABELS[name], money(entry.values[name])) for name in VALUE_METRICS]
        parts.append(_row("Value per delivered message", _per_delivered(entry, metrics)))
        parts.append("</table>")
    parts += _campaign_table(metrics)
    parts += [
        f'<p><img src="cid:{escape(chart.content_id or "")}" alt="Daily conversions and value" '
        'width="640" height="260"></p>',
        f'<p style="color:#666;font-size:12px">{escape(_NOTE)}</p>',
        f"<p>Attached: {escape(attachment.filename)} ({escape(_conversions_phrase(rows))}).</p>",
        "</body></html>",
    ]
    return "\n".join(parts) + "\n"
