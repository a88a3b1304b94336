"""The conversions report: CSV export, email, delivery through SendGrid or the outbox, ledger.

Callers use `send_report` (service.py); the CLI uses `run_report_command` (cli.py); Dagster
uses the asset in orchestration/assets/reporting.py, which calls `send_report` too.
"""
