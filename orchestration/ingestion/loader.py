"""Load landing files into the raw tables with DuckDB itself: the parts, assembled.

One load of a source:
1. discovery.py lists the files under `<landing>/<source>/dt=*/` that `raw.loaded_files` does
   not hold yet (late uploads into old `dt=` folders included), in chunks;
2. reading.py reads a chunk's lines with their line numbers, and the lines it cannot decode;
3. each line is parsed once and judged against the source's contract (models/*.schema.json,
   compiled by contracts.py into the checks of checks.py, rendered for DuckDB by
   duckdb_checks.py): a quick test, then the full checks that name a reason where it fails;
   a webhook body's statuses and messages are listed and judged one by one (webhook.py);
4. writer.py writes the chunk in one transaction: good rows into `raw.<table>`, bad ones into
   `raw.rejected_records` with a reason, and one row per file into `raw.loaded_files`.
"""

from __future__ import annotations

from datetime import datetime, timezone

import duckdb

from orchestration.ingestion import discovery, reading, webhook
from orchestration.ingestion.contracts import Source, sources
from orchestration.ingestion.discovery import discover_new_files
from orchestration.ingestion.duckdb_checks import ITEM_REASON, LINE_REASON, judged_sql
from orchestration.ingestion.writer import LoadResult, Writer, ensure_raw_tables, next_batch_id

__all__ = ["LoadResult", "discover_new_files", "ensure_raw_tables", "load_files", "load_source"]

# The temporary tables of a chunk: its judged lines, then one stream's judged items.
DOCS = "_landing_docs"
ITEMS = "_landing_rows"


def load_source(con: duckdb.DuckDBPyConnection, landing: str, source_name: str) -> LoadResult:
    """Load every landing file of `source_name` that was never loaded."""
    source = sources()[source_name]
    ensure_raw_tables(con)
    files = discover_new_files(con, landing, source)
    if not files:
        return LoadResult(source=source_name, rows_loaded={t: 0 for t in source.tables})
    return load_files(con, landing, source, files, next_batch_id(con), datetime.now(timezone.utc).replace(tzinfo=None))


def load_files(con: duckdb.DuckDBPyConnection, landing: str, source: Source, files: list[tuple[str, int]],
               batch_id: int, loaded_at: datetime) -> LoadResult:
    """Load the landing files `files` ((path, size), in order) of `source` into the raw tables of
    `con` as batch `batch_id`. The spark engine runs this in its tasks, on a few files each
    (orchestration/spark/ingestion.py)."""
    result = LoadResult(source=source.name, rows_loaded={t: 0 for t in source.tables})
    writer = Writer(con, landing, source, batch_id, loaded_at)
    outside = [path for path, _ in files if discovery.escapes_root(path, landing)]
    for path in outside:
        writer.record_unreadable(path, "it resolves outside the landing root (a link); not read", result)
    for chunk in discovery.chunks([f for f in files if f[0] not in outside]):
        writer.write_atomically(chunk, lambda paths: _load_chunk(writer, source, paths, result), result)
    result.files = [p[len(writer.landing) + 1:] for p, _ in files]
    return result


def _load_chunk(writer: Writer, source: Source, paths: list[str], result: LoadResult) -> None:
    con = writer.con
    read = reading.read_lines(con, paths)
    writer.reject(f"SELECT _path, _line_number, reason, raw_text FROM {read.undecodable}")

    # Each line: a JSON object, then (for flat sources) the row it holds, checked against the
    # contract and cast; for webhook bodies, the envelope around their items.
    is_flat = source.streams[0].item_path is None
    lines = f"({read.lines})"
    docs = (judged_sql(lines, "text", source.streams[0].fields, LINE_REASON) if is_flat
            else webhook.webhook_docs_sql(lines, source))
    con.execute(f"CREATE OR REPLACE TEMP TABLE {DOCS} AS {docs}")
    reading.done_reading(con)
    writer.reject(f"SELECT _path, _line_number, reason, raw_text FROM {DOCS} WHERE reason IS NOT NULL")

    for stream in source.streams:
        rows = DOCS
        if not is_flat:
            # One row per item; a bad item is rejected alone, named by its position.
            items = judged_sql(webhook.items_sql(DOCS, stream), "text", stream.fields, ITEM_REASON,
                               keep=["item_index"])
            con.execute(f"CREATE OR REPLACE TEMP TABLE {ITEMS} AS {items}")
            writer.reject(f"SELECT _path, _line_number, '{stream.label}[' || item_index || ']: ' || reason AS reason, "
                          f"raw_text FROM {ITEMS} WHERE reason IS NOT NULL")
            rows = ITEMS
        result.rows_loaded[stream.table] += writer.insert_rows(stream, rows)

    writer.write_ledger(paths, DOCS, read.undecodable)
    writer.count_chunk(DOCS, read.undecodable, result)
