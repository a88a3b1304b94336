"""Values and landing paths written into DuckDB SQL text."""

from __future__ import annotations


def sql_literal(value: str) -> str:
    return "'" + value.replace("'", "''") + "'"


def received_dt_sql(path: str) -> str:
    """The day a file was received, from its `dt=YYYY-MM-DD/` folder (NULL outside one); `path`
    is the SQL of its path."""
    return f"TRY_CAST(regexp_extract({path}, 'dt=([0-9]{{4}}-[0-9]{{2}}-[0-9]{{2}})/', 1) AS DATE)"
