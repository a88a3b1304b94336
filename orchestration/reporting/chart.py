"""The email's small chart: conversions per day (bars) and their value per currency (lines)."""

from __future__ import annotations

import io


from orchestration.reporting.metrics import RangeMetrics


def render_daily_chart(metrics: RangeMetrics) -> bytes:
    # Imported here: matplotlib costs most of a second, and loading the definitions needs none of it.
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure
    from matplotlib.ticker import FuncFormatter, MaxNLocator

    """A PNG. Built on a bare Figure with the Agg canvas: no pyplot global state, no display."""
    days = [point.day for point in metrics.daily]
    positions = list(range(len(days)))
    figure = Figure(figsize=(6.4, 2.6), dpi=100)
    FigureCanvasAgg(figure)
    conversions_axis = figure.add_subplot()
    conversions_axis.bar(positions, [point.conversions for point in metrics.daily],
                         color="#25D366", label="conversions")
    conversions_axis.set_ylabel("conversions")
    conversions_axis.yaxis.set_major_locator(MaxNLocator(integer=True))
    conversions_axis.set_ylim(bottom=0)
    # One slot per day, labelled with its date; at most ~10 labels on a long range.
    conversions_axis.xaxis.set_major_locator(MaxNLocator(nbins=10, integer=True))
    conversions_axis.xaxis.set_major_formatter(FuncFormatter(
        lambda x, _: days[int(x)].strftime("%b %d") if x == int(x) and 0 <= x < len(days) else ""))
    conversions_axis.set_xlim(-0.6, len(days) - 0.4)
    handles, labels = conversions_axis.get_legend_handles_labels()
    currencies = sorted({currency for point in metrics.daily
                         for currency in point.value_by_currency})
    if currencies:
        value_axis = conversions_axis.twinx()
        for currency in currencies:
            values = [float(point.value_by_currency.get(currency, 0)) for point in metrics.daily]
            value_axis.plot(positions, values,
                            marker="o" if len(days) <= 31 else None, linewidth=1.5,
                            label=f"value ({currency})")
        value_axis.set_ylabel("value")
        value_axis.set_ylim(bottom=0)
        more_handles, more_labels = value_axis.get_legend_handles_labels()
        handles, labels = handles + more_handles, labels + more_labels
    conversions_axis.legend(handles, labels, loc="upper left", fontsize="small", frameon=False)
    conversions_axis.set_title("Daily conversions and value", fontsize="medium")
    figure.tight_layout()
    buffer = io.BytesIO()
    # No software tag: the same figures give the same bytes.
    figure.savefig(buffer, format="png", metadata={"Software": None})
    return buffer.getvalue()
