"""The campaign overview page (docs/spec.md section 8): a Streamlit app over the published BI copy.

- published.py: find the version `$CAMPAIGNS_PUBLISH/current` points at and open its bi.duckdb
  read-only; never the live warehouse, so the page keeps working while the pipeline writes;
- overview.py: the page's reads for a range of local days (funnel, rates, daily rows,
  campaigns, conversions), plain SQL over the published marts, testable without Streamlit;
- send.py: the "Send report" form's action, through the report's own `send_report`;
- app.py: the layout only (what `streamlit run` executes);
- serve.py: the `streamlit run` command line `campaigns dashboard` and `make dashboard` use.
"""
