"""The errors of the report, each one line meant for the person who asked for it.

The CLI prints them as they are and Dagster shows them as the step's failure, so a message
says what went wrong and what to do, and never holds a secret (the SendGrid key).
"""

from __future__ import annotations


class ReportError(Exception):
    """A report that could not be produced or delivered; the message is a single line."""

    def __init__(self, message: str):
        super().__init__(" ".join(str(message).split()))


class ReportArgumentError(ReportError):
    """A bad date range, recipient or sender: the caller's input, fixed by changing it."""


class DeliveryError(ReportError):
    """The mail did not go out. `attempts` is how many times SendGrid was called."""

    def __init__(self, message: str, attempts: int = 0):
        super().__init__(message)
        self.attempts = attempts


class DeliveryInProgress(ReportError):
    """The ledger holds an unfinished delivery of the same report."""
