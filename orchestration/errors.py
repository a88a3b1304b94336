"""Errors that stop the code location from loading at all, for the CLI to report in one line."""


class DefinitionsError(RuntimeError):
    """The Dagster definitions cannot be built (e.g. `dbt parse` failed); the message is one line."""
