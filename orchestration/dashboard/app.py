"""The campaign overview page: the layout. `campaigns dashboard` serves it with `streamlit run`.

Each request resolves the published copy once and reads everything from that version
(overview.py); nothing here touches the live warehouse except "Send report" (send.py).
"""

from __future__ import annotations

import duckdb
import streamlit as st

from orchestration.dashboard import overview, published, send
from orchestration.dashboard.published import DashboardError, PublishedCopy
from orchestration.reporting.csv_export import render_conversions_csv
from orchestration.days import DayRange
from orchestration.settings import Settings, SettingsError, load_settings


def _count(value: int) -> str:
    return f"{value:,}"


def _percent(value: float | None) -> str:
    return "n/a" if value is None else f"{value:.1%}"


def _currency(currency: str | None) -> str:
    return currency or "no currency"


def pick_range(days: tuple) -> DayRange | None:
    first, last = days
    default = overview.default_range(days)
    picked = st.date_input(
        "Local days (a day or a range)", value=(default.start, default.end), format="YYYY-MM-DD",
        key="days", help=f"The published marts hold {first} to {last}.")
    if not isinstance(picked, (tuple, list)):
        picked = (picked,)
    if len(picked) == 0:
        st.info("Pick a day, or a first and a last day, in the calendar.")
        return None
    return DayRange(picked[0], picked[-1])  # one day picked: that day


def show_funnel(funnel: overview.Funnel) -> None:
    st.subheader("Funnel")
    counts = st.columns(len(overview.COUNTS))
    for column, (name, label) in zip(counts, overview.COUNTS):
        column.metric(label, _count(funnel.counts[name]))
    st.caption("Unique clicks: distinct users who clicked during the range (fct_clicks).")
    rates = st.columns(len(overview.RATES) + max(1, len(funnel.values)))
    for column, (name, label, _, _) in zip(rates, overview.RATES):
        column.metric(label, _percent(funnel.rate(name)))
    for column, entry in zip(rates[len(overview.RATES):], funnel.values):
        value = entry.value_per_delivered
        column.metric(f"Value per delivered ({_currency(entry.currency)})",
                      "n/a" if value is None else f"{value:,.2f}")
    if not funnel.values:
        st.caption("No conversion value in this range.")
    for entry in funnel.values:
        values = st.columns(len(overview.VALUES))
        for column, (name, label) in zip(values, overview.VALUES):
            column.metric(f"{label} ({_currency(entry.currency)})", f"{entry.values[name]:,.2f}")


def show_daily(daily) -> None:
    st.subheader("Day by day")
    # Days as text: one bar slot per day, not a time axis with hairline bars.
    by_day = daily.assign(Day=daily["Day"].dt.strftime("%Y-%m-%d")).set_index("Day")
    left, right = st.columns(2)
    left.line_chart(by_day[["Sent", "Delivered", "Read", "Total clicks"]], height=280,
                    y_label="messages and clicks")
    right.bar_chart(by_day[["Assisted conversions", "Click-through conversions"]], height=280,
                    y_label="conversions")


def show_conversions(copy: PublishedCopy, view: overview.Overview) -> None:
    st.subheader("Conversions")
    shown = len(view.conversions)
    st.caption(f"{_count(view.conversions_total)} conversions in {view.report_range}"
               + (f"; the first {_count(shown)} shown, the download holds them all"
                  if shown < view.conversions_total else "") + ".")
    st.dataframe(view.conversions, hide_index=True, key="conversions")
    report_range = view.report_range

    def csv_bytes() -> bytes:  # made when clicked, from the version this page shows
        with published.open_version(copy) as con:
            return render_conversions_csv(con, report_range)

    st.download_button("Download the report CSV", data=csv_bytes, file_name=report_range.csv_name,
                       mime="text/csv", on_click="ignore", key="download")


def show_send_form(settings: Settings, report_range: DayRange) -> None:
    st.subheader("Send report")
    with st.form("send_report"):
        recipients = st.text_input("Recipients (comma-separated)", value=settings.report_recipients,
                                   placeholder="name@example.com, other@example.com",
                                   key="recipients")
        force = st.checkbox("Send even if this report was already sent", key="force")
        submitted = st.form_submit_button(f"Send report {report_range}", key="send")
    if submitted:
        with st.spinner("Sending the report"):
            result = send.send_from_page(settings, report_range, recipients, force)
        {send.SENT: st.success, send.ALREADY: st.info}.get(result.status, st.error)(result.message)


def main() -> None:
    st.set_page_config(page_title="Campaign overview", layout="wide")
    st.title("WhatsApp reminder campaigns: overview")
    try:
        settings = load_settings()
        with published.open_published(settings.publish) as (copy, con):
            st.caption(f"Reading {copy.describe()}; local days in {settings.timezone}.")
            overview.check_marts(con)
            days = overview.data_days(con)
            if days is None:
                st.warning("The published marts hold no day yet: land data and run "
                           "`campaigns run`.")
                return
            report_range = pick_range(days)
            if report_range is None:
                return
            if not overview.has_data(con, report_range):
                st.warning(f"No data from {report_range}: the published marts hold "
                           f"{days[0]} to {days[1]}. Pick days in that span.")
                return
            view = overview.read_overview(con, report_range)
    except (DashboardError, SettingsError) as error:
        st.error(str(error))
        return
    except duckdb.Error as error:
        st.error(f"Cannot read the published copy: {' '.join(str(error).split())[:300]}")
        return
    show_funnel(view.funnel)
    show_daily(view.daily)
    st.subheader("Campaigns")
    st.dataframe(view.campaigns, hide_index=True, key="campaigns")
    show_conversions(copy, view)
    show_send_form(settings, report_range)


main()
