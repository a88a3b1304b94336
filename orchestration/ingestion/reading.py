"""Reading: the lines of landing files with their physical line numbers, and the lines DuckDB
cannot decode (invalid UTF-8, a line cut short), each with its number and a reason.

The files are read as lines of text with `read_csv` (one column, no quoting), so that every
physical line keeps its file and line number and a line DuckDB cannot decode is caught, not
dropped. A file DuckDB cannot read at all (a truncated gzip) fails the read: see writer.py.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import duckdb

from orchestration.ingestion.sql_text import received_dt_sql, sql_literal

# One JSON document per line is read as one text column: a delimiter that valid JSON text never
# holds unescaped. A line that holds it anyway is caught by the scan's reject table.
LINE_DELIMITER = "\x01"
MAX_LINE_BYTES = 64 << 20

# The temporary tables a read fills (one read at a time per connection).
SCAN = "_landing_scan"
UNDECODABLE = "_line_rejects"


@dataclass(frozen=True)
class LinesRead:
    """What a read of some files gives: `lines` is a SELECT of the decoded lines (_path,
    _line_number, _received_dt, text); `undecodable` a table of the others (_path, _line_number,
    reason, raw_text)."""

    lines: str
    undecodable: str = UNDECODABLE


def scan_sql(paths: Sequence[str]) -> str:
    listed = "[" + ", ".join(sql_literal(p) for p in paths) + "]"
    return f"""
        SELECT filename AS _path, text
        FROM read_csv({listed}, columns = {{'text': 'VARCHAR'}}, header = false,
                      auto_detect = false, delim = '{LINE_DELIMITER}', quote = '', escape = '',
                      filename = true, store_rejects = true,
                      rejects_scan = '_landing_reject_scans', rejects_table = '_landing_reject_errors',
                      max_line_size = {MAX_LINE_BYTES}, buffer_size = {MAX_LINE_BYTES * 2})
    """


def read_lines(con: duckdb.DuckDBPyConnection, paths: Sequence[str]) -> LinesRead:
    """Read `paths` (in their order) into temporary tables: `_landing_scan(_path, text)` the lines
    DuckDB decoded, `_landing_files(_path, first_row, _received_dt)`, and `_line_rejects` the
    lines it could not. Drop `_landing_scan` (`done_reading`) once `lines` has been read."""
    con.execute("DROP TABLE IF EXISTS _landing_reject_errors")
    con.execute("DROP TABLE IF EXISTS _landing_reject_scans")
    con.execute(f"CREATE OR REPLACE TEMP TABLE {SCAN} AS {scan_sql(paths)}")
    con.execute(
        f"""
        CREATE OR REPLACE TEMP TABLE {UNDECODABLE} AS
        SELECT s.file_path AS _path, e.line AS _line_number,
               CASE e.error_type WHEN 'INVALID ENCODING' THEN 'not valid UTF-8 text'
                    ELSE 'unreadable line: ' || lower(e.error_type::VARCHAR) END AS reason,
               e.csv_line AS raw_text,
               -- kept lines before this one, for numbering the kept lines around it
               e.line - row_number() OVER (PARTITION BY s.file_path ORDER BY e.line) AS kept_before
        FROM _landing_reject_errors AS e
        JOIN _landing_reject_scans AS s USING (scan_id, file_id)
        """
    )
    # The scan keeps the files' order, so a file's lines are consecutive rows from its first.
    con.execute(
        f"""
        CREATE OR REPLACE TEMP TABLE _landing_files AS
        SELECT _path, min(rowid) AS first_row, {received_dt_sql("_path")} AS _received_dt
        FROM {SCAN} GROUP BY _path
        """
    )
    con.execute(
        f"""
        CREATE OR REPLACE TEMP TABLE _line_shifts AS
        SELECT _path, kept_before, sum(count(*)) OVER (PARTITION BY _path ORDER BY kept_before) AS shift
        FROM {UNDECODABLE} GROUP BY _path, kept_before
        """
    )
    has_rejects = con.execute(f"SELECT count(*) FROM {UNDECODABLE}").fetchone()[0] > 0
    return LinesRead(lines_sql(has_rejects))


def done_reading(con: duckdb.DuckDBPyConnection) -> None:
    """Free the scanned text once the lines have been judged."""
    con.execute(f"DROP TABLE {SCAN}")


def lines_sql(has_rejects: bool) -> str:
    """The decoded lines with their physical line numbers and the day their file was received.
    The k-th decoded line of a file is physical line k plus the rejected lines that had fewer
    than k decoded lines before them (an as-of join on the few rejects, not a sort)."""
    numbered = f"""
        SELECT s._path, s.rowid - f.first_row + 1 AS k, f._received_dt, s.text
        FROM {SCAN} AS s JOIN _landing_files AS f USING (_path)
    """
    if not has_rejects:
        return f"SELECT _path, k AS _line_number, _received_dt, text FROM ({numbered})"
    return f"""
        SELECT n._path, n.k + coalesce(r.shift, 0) AS _line_number, n._received_dt, n.text
        FROM ({numbered}) AS n
        ASOF LEFT JOIN _line_shifts AS r ON n._path = r._path AND n.k > r.kept_before
    """
