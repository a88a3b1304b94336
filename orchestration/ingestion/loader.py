"""Load landing files into the raw tables with DuckDB itself.

One load of a source:
1. lists the files under `<landing>/<source>/dt=*/` that `raw.loaded_files` does not hold yet
   (late uploads into old `dt=` folders included);
2. reads them as lines of text with `read_csv` (one column, no quoting), so that every physical
   line keeps its file and line number and a line DuckDB cannot decode is caught, not dropped;
3. parses each line once (`json_transform`: a flat document's fields as JSON fragments, a webhook
   body's envelope and items), judges it against the source's contract (models/*.schema.json):
   a quick test, then the full checks that name a reason where it fails; and casts it;
4. in one transaction per chunk of files: good rows into `raw.<table>`, bad ones into
   `raw.rejected_records` with a reason, and one row per file into `raw.loaded_files`.
A file is listed in the ledger in the same transaction that loads its rows, so a crash loses
the whole chunk or nothing, and a rerun never loads a file twice.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timezone

import duckdb

from orchestration.ingestion.contracts import Field, Source, Stream, raw_ddl, sources

# Bytes of landing text read in one transaction: bounds memory and the work a crash can lose.
CHUNK_BYTES = 256 << 20
# A .jsonl.gz file holds several times its size in text (about 7x for webhook bodies).
GZIP_RATIO = 7
# One JSON document per line is read as one text column: a delimiter that valid JSON text never
# holds unescaped. A line that holds it anyway is caught by the scan's reject table.
_LINE_DELIMITER = "\x01"
MAX_LINE_BYTES = 64 << 20
# The digits of a Unix-seconds timestamp string (models/whatsapp.schema.json, $defs.unix_seconds).
UNIX_SECONDS_PATTERN = "[0-9]{1,12}"

_RECEIVED_DT = "TRY_CAST(regexp_extract({path}, 'dt=([0-9]{{4}}-[0-9]{{2}}-[0-9]{{2}})/', 1) AS DATE)"

_JSON_TYPES = {
    "string": ("VARCHAR",),
    "integer": ("BIGINT", "UBIGINT"),
    "number": ("BIGINT", "UBIGINT", "DOUBLE"),
    "boolean": ("BOOLEAN",),
    "object": ("OBJECT",),
    "array": ("ARRAY",),
}


@dataclass
class LoadResult:
    source: str
    files: list[str] = field(default_factory=list)
    lines: int = 0
    rows_loaded: dict[str, int] = field(default_factory=dict)
    records_rejected: int = 0
    unreadable_files: list[str] = field(default_factory=list)

    @property
    def rejected_rate(self) -> float:
        return self.records_rejected / self.lines if self.lines else 0.0


def ensure_raw_tables(con: duckdb.DuckDBPyConnection) -> None:
    for statement in raw_ddl():
        con.execute(statement)


def next_batch_id(con: duckdb.DuckDBPyConnection) -> int:
    return con.execute("SELECT coalesce(max(batch_id), 0) + 1 FROM raw.loaded_files").fetchone()[0]


def sql_literal(value: str) -> str:
    return "'" + value.replace("'", "''") + "'"


def _glob_root(landing: str) -> str:
    return landing.rstrip("/")


def discover_new_files(con: duckdb.DuckDBPyConnection, landing: str, source: Source) -> list[tuple[str, int]]:
    """(path, size) of the landing files of a source that were never loaded, oldest dt first.

    Every one of them, whatever its `dt=` folder: `dt` is the day a file was received, and the
    events of a day arrive in later folders (docs/spec.md section 1)."""
    root = _glob_root(landing)
    patterns = [f"{root}/{source.name}/dt=*/*.jsonl", f"{root}/{source.name}/dt=*/*.jsonl.gz"]
    listed = " UNION ALL ".join(f"SELECT file FROM glob({sql_literal(p)})" for p in patterns)
    rows = con.execute(
        f"""
        SELECT landed.file
        FROM ({listed}) AS landed
        ANTI JOIN (SELECT file FROM raw.loaded_files WHERE source = ?) AS loaded
          ON loaded.file = substr(landed.file, {len(root) + 2})
        ORDER BY landed.file
        """,
        [source.name],
    ).fetchall()
    return [(path, os.path.getsize(path) if "://" not in path else 0) for (path,) in rows]


def _escapes_root(path: str, root: str) -> bool:
    """A link (or a link in the folders) that resolves outside the landing root."""
    if "://" in path:
        return False
    real_root = os.path.realpath(root)
    return os.path.commonpath([os.path.realpath(path), real_root]) != real_root


def _chunks(files: Sequence[tuple[str, int]]) -> Iterator[list[str]]:
    chunk: list[str] = []
    size = 0
    for path, file_size in files:
        if path.endswith(".gz"):
            file_size *= GZIP_RATIO
        if chunk and size + file_size > CHUNK_BYTES:
            yield chunk
            chunk, size = [], 0
        chunk.append(path)
        size += file_size
    if chunk:
        yield chunk


# ---------------------------------------------------------------------------------------------
# Reading lines
# ---------------------------------------------------------------------------------------------

def _scan_sql(paths: Sequence[str]) -> str:
    listed = "[" + ", ".join(sql_literal(p) for p in paths) + "]"
    return f"""
        SELECT filename AS _path, text
        FROM read_csv({listed}, columns = {{'text': 'VARCHAR'}}, header = false,
                      auto_detect = false, delim = '{_LINE_DELIMITER}', quote = '', escape = '',
                      filename = true, store_rejects = true,
                      rejects_scan = '_landing_reject_scans', rejects_table = '_landing_reject_errors',
                      max_line_size = {MAX_LINE_BYTES}, buffer_size = {MAX_LINE_BYTES * 2})
    """


def _read_lines(con: duckdb.DuckDBPyConnection, paths: Sequence[str]) -> bool:
    """Fill `_landing_scan(_path, text)` with the lines DuckDB decoded (in the files' order),
    `_landing_files(_path, first_row, _received_dt)`, and `_line_rejects(_path, _line_number,
    reason, raw_text, kept_before)` with the lines it could not; `_lines_sql` numbers the
    decoded lines. Returns whether any line was rejected."""
    con.execute("DROP TABLE IF EXISTS _landing_reject_errors")
    con.execute("DROP TABLE IF EXISTS _landing_reject_scans")
    con.execute(f"CREATE OR REPLACE TEMP TABLE _landing_scan AS {_scan_sql(paths)}")
    con.execute(
        """
        CREATE OR REPLACE TEMP TABLE _line_rejects AS
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
        SELECT _path, min(rowid) AS first_row, {_RECEIVED_DT.format(path="_path")} AS _received_dt
        FROM _landing_scan GROUP BY _path
        """
    )
    con.execute(
        """
        CREATE OR REPLACE TEMP TABLE _line_shifts AS
        SELECT _path, kept_before, sum(count(*)) OVER (PARTITION BY _path ORDER BY kept_before) AS shift
        FROM _line_rejects GROUP BY _path, kept_before
        """
    )
    return con.execute("SELECT count(*) FROM _line_rejects").fetchone()[0] > 0


def _lines_sql(has_rejects: bool) -> str:
    """The decoded lines with their physical line numbers and the day their file was received.
    The k-th decoded line of a file is physical line k plus the rejected lines that had fewer
    than k decoded lines before them (an as-of join on the few rejects, not a sort)."""
    numbered = """
        SELECT s._path, s.rowid - f.first_row + 1 AS k, f._received_dt, s.text
        FROM _landing_scan AS s JOIN _landing_files AS f USING (_path)
    """
    if not has_rejects:
        return f"SELECT _path, k AS _line_number, _received_dt, text FROM ({numbered})"
    return f"""
        SELECT n._path, n.k + coalesce(r.shift, 0) AS _line_number, n._received_dt, n.text
        FROM ({numbered}) AS n
        ASOF LEFT JOIN _line_shifts AS r ON n._path = r._path AND n.k > r.kept_before
    """


# ---------------------------------------------------------------------------------------------
# Checking and casting against the contract
#
# Every row is judged twice over, cheaply first: a quick test that only a row meeting every
# check passes (types read from the first characters of JSON fragments, each value cast once),
# then, for the few rows it does not pass, the full checks in order, which name the first one
# that fails (and pass the rare good row the quick test was unsure of). The quick test never
# passes a row the full checks reject: tests/test_loader_checks.py holds the two to that.
# ---------------------------------------------------------------------------------------------

def _cast_sql(f: Field, text: str, fragment: str) -> str:
    """The column value of field `f`, from its text (`fragment ->> '$'`) or its JSON fragment."""
    return {
        "text": text,
        "timestamp": f"timezone('UTC', TRY_CAST({text} AS TIMESTAMPTZ))",
        # Only what the contract's pattern allows is read: a longer number is out of range for
        # to_timestamp, which fails the query where TRY_CAST would give NULL.
        "unix_seconds": f"CASE WHEN regexp_full_match({text}, '{UNIX_SECONDS_PATTERN}') "
                        f"THEN timezone('UTC', to_timestamp({text}::BIGINT)) END",
        "integer": f"TRY_CAST({text} AS BIGINT)",
        "number": f"TRY_CAST({text} AS DOUBLE)",
        "boolean": f"TRY_CAST({text} AS BOOLEAN)",
        "json": f"{fragment}::JSON",
    }[f.kind]


def _value_sql(f: Field, fragment: str) -> str:
    return _cast_sql(f, f"({fragment} ->> '$')", fragment)


# No event of this business predates 2000; an instant after the day its file was received (plus
# a day of clock skew and time zones) cannot have been observed yet: both are producer bugs.
EARLIEST_INSTANT = "2000-01-01"
RECEIVED_SLACK_DAYS = 2


def _range_sql(value: str, minimum: float | None, maximum: float | None) -> str | None:
    bounds = []
    if minimum is not None:
        bounds.append(f"{value} < {minimum}")
    if maximum is not None:
        bounds.append(f"{value} > {maximum}")
    return " OR ".join(bounds) or None


def _bounds_text(minimum: float | None, maximum: float | None) -> str:
    if minimum is not None and maximum is not None:
        return f"expected {minimum:g} to {maximum:g}"
    return f"expected at least {minimum:g}" if minimum is not None else f"expected at most {maximum:g}"


def _item_checks_sql(f: Field, fragment: str) -> list[tuple[str, str]]:
    """Checks of the objects an array lists, e.g. every order item's quantity and price."""
    checks = [(f"{fragment} IS NOT NULL AND len(list_filter(json_extract({fragment}, '$[*]'), "
               "lambda v: json_type(v) <> 'OBJECT')) > 0",
               f"'wrong type for {f.name}: expected a list of objects'")]
    for item in f.items:
        values = f"json_extract({fragment}, '$[*].{item.name}')"
        label = f"{f.name}[].{item.name}"
        if item.required:
            checks.append((f"{fragment} IS NOT NULL AND len({values}) < len(json_extract({fragment}, '$[*]'))",
                           f"'missing field {label}'"))
        types = ", ".join(sql_literal(t) for t in _JSON_TYPES.get(item.json_type, ("VARCHAR",)))
        checks.append((f"{fragment} IS NOT NULL AND len(list_filter({values}, lambda v: json_type(v) NOT IN ({types}))) > 0",
                       f"'wrong type for {label}: expected {item.json_type}'"))
        out_of_range = _range_sql("TRY_CAST(v AS DOUBLE)", item.minimum, item.maximum)
        if out_of_range:
            checks.append((
                f"{fragment} IS NOT NULL AND len(list_filter({values}, lambda v: {out_of_range})) > 0",
                f"'out of range value for {label} ({_bounds_text(item.minimum, item.maximum)}): ' || "
                f"list_filter({values}, lambda v: {out_of_range})[1]",
            ))
    return checks


def _checks_sql(f: Field, fragment: str, allowed: Sequence[str] | None, received: str) -> list[tuple[str, str]]:
    """(condition, reason) pairs; the first condition that holds rejects the row. `received` is
    the SQL of the day the row's file was received."""
    expected = _JSON_TYPES.get(f.json_type, ("VARCHAR",))
    checks: list[tuple[str, str]] = []
    if f.required:
        checks.append((f"{fragment} IS NULL", f"'missing key field {f.name}'"))
    types = ", ".join(sql_literal(t) for t in expected)
    checks.append((
        f"{fragment} IS NOT NULL AND json_type({fragment}) NOT IN ({types})",
        f"'wrong type for {f.name}: expected {f.json_type}, got ' || lower(json_type({fragment}))",
    ))
    if f.required and f.json_type == "string":
        checks.append((f"{fragment} ->> '$' = ''", f"'empty key field {f.name}'"))
    if f.kind in ("integer", "number"):
        value = _value_sql(f, fragment)
        out_of_range = _range_sql(value, f.minimum, f.maximum)
        condition = f"{value} IS NULL" + (f" OR {out_of_range}" if out_of_range else "")
        checks.append((f"{fragment} IS NOT NULL AND ({condition})",
                       f"'out of range value for {f.name}: ' || left({fragment}, 40)"))
    if f.kind == "timestamp":
        checks.append((f"{fragment} IS NOT NULL AND {_value_sql(f, fragment)} IS NULL",
                       f"'unparseable timestamp in {f.name}: ' || left({fragment}, 60)"))
    if f.kind == "unix_seconds":
        checks.append((
            f"{fragment} IS NOT NULL AND NOT regexp_full_match({fragment} ->> '$', '{UNIX_SECONDS_PATTERN}')",
            f"'unparseable timestamp in {f.name} (Unix seconds expected): ' || left({fragment}, 60)",
        ))
    if f.kind in ("timestamp", "unix_seconds"):
        value = _value_sql(f, fragment)
        checks.append((f"{value} < TIMESTAMP '{EARLIEST_INSTANT}'",
                       f"'timestamp before {EARLIEST_INSTANT[:4]} in {f.name}: ' || left({fragment}, 60)"))
        checks.append((f"{value} >= {received} + INTERVAL {RECEIVED_SLACK_DAYS} DAY",
                       f"'timestamp in {f.name} is after its file was received (dt=' || {received} || '): ' "
                       f"|| left({fragment}, 60)"))
    if f.items:
        checks.extend(_item_checks_sql(f, fragment))
    if allowed:
        listed = ", ".join(sql_literal(a) for a in allowed)
        checks.append((f"{fragment} IS NOT NULL AND ({fragment} ->> '$') NOT IN ({listed})",
                       f"'unknown value for {f.name}: ' || left({fragment}, 60)"))
    return checks


def _type_ok_sql(json_type: str, fragment: str) -> str:
    """Whether a JSON fragment is of `json_type`, read from its first characters: json_transform
    writes fragments minified, so a string starts with a quote, an object with a brace, and an
    integer is digits alone (a fraction or an exponent makes it a DOUBLE to json_type)."""
    return {
        "integer": f"regexp_full_match({fragment}, '-?[0-9]+')",
        "number": f"regexp_matches({fragment}, '^-?[0-9]')",
        "boolean": f"{fragment} IN ('true', 'false')",
        "object": f"starts_with({fragment}, '{{')",
        "array": f"starts_with({fragment}, '[')",
    }.get(json_type, f"starts_with({fragment}, '\"')")


def _items_ok_sql(f: Field, fragment: str) -> str:
    """The quick form of _item_checks_sql: every element an object, no JSON null anywhere in the
    list (a null property is a wrong type that a transform cannot tell from an absent one), and
    every listed property present if required, of its type and within its bounds."""
    spec = sql_literal(json.dumps([{item.name: "JSON" for item in f.items}]))
    conditions = ["i IS NOT NULL"]
    for item in f.items:
        ref = f'i."{item.name}"'
        checks = [_type_ok_sql(item.json_type, ref)]
        out_of_range = _range_sql(f"TRY_CAST({ref} AS DOUBLE)", item.minimum, item.maximum)
        if out_of_range:
            checks.append(f"NOT ({out_of_range})")
        checked = " AND ".join(checks)
        conditions.append(f"{ref} IS NOT NULL AND {checked}" if item.required else f"({ref} IS NULL OR ({checked}))")
    checks = [f"NOT contains({fragment}, 'null')",
              f"len(list_filter(json_transform({fragment}, {spec}), "
              f"lambda i: NOT coalesce({' AND '.join(conditions)}, false))) = 0"]
    if not any(item.required for item in f.items):
        # A transform makes any element a struct; a required property absent shows one that was
        # no object. Without one, the elements' first characters are read.
        checks.append(f"len(list_filter(json_transform({fragment}, '[\"JSON\"]'), "
                      "lambda e: NOT coalesce(starts_with(e, '{'), false))) = 0")
    return " AND ".join(checks)


def _quick_ok_sql(f: Field, fragment: str, text: str, value: str, allowed: Sequence[str] | None,
                  received: str) -> str:
    """True only when field `f` passes every check of _checks_sql; `text` and `value` are its
    text and column value, computed once."""
    checks = [_type_ok_sql(f.json_type, fragment)]
    if f.required and f.json_type == "string":
        checks.append(f"{text} <> ''")
    if f.kind in ("integer", "number"):
        checks.append(f"{value} IS NOT NULL")
        out_of_range = _range_sql(value, f.minimum, f.maximum)
        if out_of_range:
            checks.append(f"NOT ({out_of_range})")
    if f.kind in ("timestamp", "unix_seconds"):
        # a Unix-seconds value is NULL unless its text matches the contract's pattern
        checks += [f"{value} IS NOT NULL", f"{value} >= TIMESTAMP '{EARLIEST_INSTANT}'",
                   f"{value} < {received} + INTERVAL {RECEIVED_SLACK_DAYS} DAY"]
    if f.items:
        checks.append(_items_ok_sql(f, fragment))
    if allowed:
        checks.append(f"{text} IN ({', '.join(sql_literal(a) for a in allowed)})")
    checked = " AND ".join(checks)
    return f"({fragment} IS NOT NULL AND {checked})" if f.required else f"({fragment} IS NULL OR ({checked}))"


def _judged_sql(relation: str, json_text: str, fields: Sequence[Field], allowed: dict[str, tuple[str, ...]],
                first_reason: str = "NULL", keep: Sequence[str] = (), audit: bool = False) -> str:
    """A SELECT of `relation`'s rows (which hold `_path`, `_line_number`, `_received_dt` and the
    JSON text `json_text`) with `reason` (NULL for a good row) and, for a good row, one column per
    field named as its raw column. `first_reason` is checked before the contract (a line that is
    no JSON object); `keep` names more columns to pass through; a rejected row keeps its text.
    `audit` adds the two verdicts for every row, `quick_ok` and `full_reason`, for the tests."""
    texts, values, quick = [], [], []
    for i, f in enumerate(fields):
        fragment, text = _struct_ref("doc", f), f'"_text_{i}"'
        if f.kind != "json":  # a JSON column is its fragment: no text to read
            texts.append(f"{fragment} ->> '$' AS {text}")
        values.append(f'{_cast_sql(f, text, fragment)} AS "{f.column}"')
        quick.append(_quick_ok_sql(f, fragment, text, f'"{f.column}"', allowed.get(f.name), "_received_dt"))
    kept = "".join(f", {column}" for column in keep)
    columns = ", ".join(f'"{f.column}"' for f in fields)
    return f"""
        WITH first_checked AS (
            SELECT _path, _line_number, _received_dt, {json_text} AS _json{kept}, {first_reason} AS first_reason
            FROM {relation}),
        parsed AS (
            SELECT *, CASE WHEN first_reason IS NULL THEN json_transform(_json, {_transform_spec(fields)}) END AS doc
            FROM first_checked),
        texts AS (SELECT *{"".join(", " + t for t in texts)} FROM parsed),
        valued AS (SELECT *, {', '.join(values)} FROM texts),
        quick AS (SELECT *, coalesce({' AND '.join(quick)}, false) AS quick_ok FROM valued),
        judged AS (
            SELECT *, CASE WHEN first_reason IS NOT NULL THEN first_reason
                           WHEN quick_ok THEN NULL
                           ELSE {_reason_sql(fields, 'doc', allowed)} END AS reason
                      {f", {_reason_sql(fields, 'doc', allowed)} AS full_reason" if audit else ""}
            FROM quick)
        SELECT _path, _line_number, _received_dt{kept}, reason{", quick_ok, full_reason" if audit else ""},
               CASE WHEN reason IS NOT NULL THEN _json END AS raw_text,
               {columns}
        FROM judged
    """


def _transform_spec(fields: Sequence[Field]) -> str:
    return sql_literal(json.dumps({f.name: "JSON" for f in fields}))


def _struct_ref(struct: str, f: Field) -> str:
    return f'{struct}."{f.name}"'


def _allowed_values(stream_or_envelope_fields: Sequence[Field], schema_props: dict) -> dict[str, tuple[str, ...]]:
    allowed = {}
    for f in stream_or_envelope_fields:
        prop = schema_props.get(f.name, {})
        if "enum" in prop:
            allowed[f.name] = tuple(prop["enum"])
        elif "const" in prop:
            allowed[f.name] = (prop["const"],)
    return allowed


def _reason_sql(fields: Sequence[Field], struct: str, allowed: dict[str, tuple[str, ...]]) -> str:
    """The full checks: the reason of the first check a row fails, NULL when it fails none."""
    received = "_received_dt"
    whens = []
    for f in fields:
        for condition, reason in _checks_sql(f, _struct_ref(struct, f), allowed.get(f.name), received):
            whens.append(f"WHEN {condition} THEN {reason}")
    return "CASE " + " ".join(whens) + " END" if whens else "NULL"


# ---------------------------------------------------------------------------------------------
# Webhook bodies: the envelope checked and its items listed from one parse
# ---------------------------------------------------------------------------------------------

def _path_segments(item_path: str) -> list[str]:
    """`$.entry[*].changes[*].value.statuses[*]` -> ['entry[*]', 'changes[*]', 'value', 'statuses[*]']"""
    return item_path.removeprefix("$.").split(".")


def _webhook_spec(source: Source) -> dict:
    """One json_transform spec that reads a body's envelope fields as JSON fragments and every
    stream's items as lists of JSON fragments. The quick envelope test needs every property of
    the envelope's list items required: a transform cannot tell a JSON null, a wrong type, from
    an absent key."""
    spec: dict = {}
    for stream in source.streams:
        node = spec
        segments = _path_segments(stream.item_path)
        for i, segment in enumerate(segments):
            name = segment.removesuffix("[*]")
            if i == len(segments) - 1:
                node[name] = ["JSON"]
            elif segment.endswith("[*]"):
                node = node.setdefault(name, [{}])[0]
            else:
                node = node.setdefault(name, {})
    for f in source.envelope:
        if not f.items:
            spec[f.name] = "JSON"
            continue
        if not isinstance(spec.get(f.name), list) or not all(item.required for item in f.items):
            raise ValueError(f"{source.name}: the envelope's {f.name} must list the items' path, "
                             "and every property of its items must be required")
        element = spec[f.name][0]
        for item in f.items:
            element.setdefault(item.name, "JSON")
    return spec


def _nested_items_sql(base: str, segments: list[str], depth: int = 0) -> str:
    """The items at `segments` below the struct `base`, flattened into one list in body order.
    A part of the wrong type is NULL after the transform, and holds no items, as for json_extract."""
    head, rest = segments[0], segments[1:]
    ref = f'{base}."{head.removesuffix("[*]")}"'
    if not rest:
        return ref
    if head.endswith("[*]"):
        var = f"x{depth}"
        return f"flatten(list_transform({ref}, lambda {var}: {_nested_items_sql(var, rest, depth + 1)}))"
    return _nested_items_sql(ref, rest, depth + 1)


def _webhook_docs_sql(relation: str, source: Source, allowed: dict[str, tuple[str, ...]],
                      audit: bool = False) -> str:
    """Like _judged_sql over a webhook's envelope, plus one list column per stream (named by its
    label) holding the items of a good body. A body is parsed once, into its envelope fragments
    and its items; the quick test reads the parsed envelope; a body it does not pass gets the
    full checks and, if they pass it, its items by json_extract."""
    spec = _webhook_spec(source)
    quick, texts, values = ["body IS NOT NULL"], [], []
    for i, f in enumerate(source.envelope):
        ref = f'body."{f.name}"'
        if not f.items:
            text = f'"_text_{i}"'
            texts.append(f"{ref} ->> '$' AS {text}")
            values.append(f"{_cast_sql(f, text, ref)} AS \"_value_{i}\"")
            quick.append(_quick_ok_sql(f, ref, text, f'"_value_{i}"', allowed.get(f.name), "_received_dt"))
            continue
        # Every property of the list's items is required (_webhook_spec): NULL is absent, a JSON
        # null or a wrong type, and fails the test; an item that is no object has every one NULL.
        element = spec[f.name][0]
        conditions = ["e IS NOT NULL"]
        for item in f.items:
            item_ref = f'e."{item.name}"'
            conditions.append(f"{item_ref} IS NOT NULL")
            if element[item.name] == "JSON":
                conditions.append(_type_ok_sql(item.json_type, item_ref))
                out_of_range = _range_sql(f"TRY_CAST({item_ref} AS DOUBLE)", item.minimum, item.maximum)
                if out_of_range:
                    conditions.append(f"NOT ({out_of_range})")
        quick.append(f"{ref} IS NOT NULL AND len(list_filter({ref}, "
                     f"lambda e: NOT coalesce({' AND '.join(conditions)}, false))) = 0")
    fragments = f"(json_transform(_json, {_transform_spec(source.envelope)}))"
    lists = []
    for stream in source.streams:
        nested = _nested_items_sql("body", _path_segments(stream.item_path))
        lists.append(f"CASE WHEN reason IS NOT NULL THEN NULL WHEN quick_ok THEN {nested} "
                     f"ELSE json_extract(_json, {sql_literal(stream.item_path)})::JSON[] END AS \"{stream.label}\"")
    return f"""
        WITH first_checked AS (
            SELECT _path, _line_number, _received_dt, text AS _json, {_LINE_REASON} AS first_reason
            FROM {relation}),
        parsed AS (
            SELECT *, CASE WHEN first_reason IS NULL THEN json_transform(_json, {sql_literal(json.dumps(spec))}) END AS body
            FROM first_checked),
        texts AS (SELECT *{"".join(", " + t for t in texts)} FROM parsed),
        valued AS (SELECT *{"".join(", " + v for v in values)} FROM texts),
        quick AS (SELECT *, coalesce({' AND '.join(quick)}, false) AS quick_ok FROM valued),
        judged AS (
            SELECT *, CASE WHEN first_reason IS NOT NULL THEN first_reason
                           WHEN quick_ok THEN NULL
                           ELSE {_reason_sql(source.envelope, fragments, allowed)} END AS reason
                      {f", {_reason_sql(source.envelope, fragments, allowed)} AS full_reason" if audit else ""}
            FROM quick)
        SELECT _path, _line_number, _received_dt, reason{", quick_ok, full_reason" if audit else ""},
               CASE WHEN reason IS NOT NULL THEN _json END AS raw_text,
               {", ".join(lists)}
        FROM judged
    """


# ---------------------------------------------------------------------------------------------
# One load
# ---------------------------------------------------------------------------------------------

_LINE_REASON = """
    CASE WHEN _received_dt IS NOT NULL AND starts_with(text, '{') AND json_valid(text) THEN NULL
         WHEN _received_dt IS NULL THEN 'the file is not in a dt=YYYY-MM-DD folder'
         WHEN text IS NULL OR trim(text) = '' THEN 'empty line'
         WHEN NOT json_valid(text) THEN 'not valid JSON'
         WHEN NOT starts_with(ltrim(text), '{') THEN 'not a JSON object'
    END
"""

# An item a webhook body lists must be an object (json_extract writes it minified).
_ITEM_REASON = """
    CASE WHEN starts_with(text, '{') THEN NULL
         WHEN json_type(text) <> 'OBJECT' THEN 'not a JSON object' END
"""


class Loader:
    """Loads the new files of one source; one instance per load."""

    def __init__(self, con: duckdb.DuckDBPyConnection, landing: str, source: Source,
                 batch_id: int, loaded_at: datetime, schema: dict):
        self.con = con
        self.landing = _glob_root(landing)
        self.source = source
        self.batch_id = batch_id
        self.loaded_at = loaded_at
        self.schema = schema

    def _relative(self, column: str) -> str:
        return f"substr({column}, {len(self.landing) + 2})"

    def _provenance(self) -> str:
        return (f"{self._relative('_path')} AS _file, _line_number, _received_dt, "
                f"{self.batch_id}::BIGINT AS _batch_id, {sql_literal(self.loaded_at.isoformat())}::TIMESTAMP AS _loaded_at")

    def _reject(self, select_sql: str) -> None:
        """Insert rejects given a SELECT of (_path, _line_number, reason, raw_text)."""
        self.con.execute(
            f"""
            INSERT INTO raw.rejected_records
            SELECT {sql_literal(self.source.name)}, {self._relative('_path')}, _line_number, reason, raw_text,
                   {_RECEIVED_DT.format(path="_path")},
                   {self.batch_id}, {sql_literal(self.loaded_at.isoformat())}::TIMESTAMP
            FROM ({select_sql})
            """
        )

    def _stream_props(self, stream: Stream) -> dict:
        if stream.item_path is None:
            return self.schema.get("properties", {})
        name = "status" if stream.label == "statuses" else "message"
        return self.schema["$defs"][name]["properties"]

    def load_chunk(self, paths: list[str], result: LoadResult) -> None:
        con = self.con
        has_rejects = _read_lines(con, paths)
        self._reject("SELECT _path, _line_number, reason, raw_text FROM _line_rejects")

        # Each line: a JSON object, then (for flat sources) the row it holds, checked against the
        # contract and cast; for webhook bodies, the envelope around their items.
        is_flat = self.source.streams[0].item_path is None
        doc_fields = self.source.streams[0].fields if is_flat else self.source.envelope
        allowed = _allowed_values(doc_fields, self.schema.get("properties", {}))
        lines = f"({_lines_sql(has_rejects)})"
        docs = (_judged_sql(lines, "text", doc_fields, allowed, _LINE_REASON) if is_flat
                else _webhook_docs_sql(lines, self.source, allowed))
        con.execute(f"CREATE OR REPLACE TEMP TABLE _landing_docs AS {docs}")
        con.execute("DROP TABLE _landing_scan")
        self._reject("SELECT _path, _line_number, reason, raw_text FROM _landing_docs WHERE reason IS NOT NULL")

        for stream in self.source.streams:
            rows = "_landing_docs" if is_flat else self._explode_items(stream)
            columns = ", ".join(f'"{f.column}"' for f in stream.fields)
            loaded = con.execute(
                f"""
                INSERT INTO raw.{stream.table} ({columns}, _file, _line_number, _received_dt, _batch_id, _loaded_at)
                SELECT {columns}, {self._provenance()}
                FROM {rows} WHERE reason IS NULL
                """
            ).fetchone()[0]
            result.rows_loaded[stream.table] += loaded

        self._write_ledger(paths)
        lines = con.execute("SELECT count(*) FROM _landing_docs").fetchone()[0]
        undecodable = con.execute("SELECT count(*) FROM _line_rejects").fetchone()[0]
        result.lines += lines + undecodable
        result.records_rejected += con.execute(
            "SELECT count(*) FROM raw.rejected_records WHERE source = ? AND _batch_id = ? AND file IN "
            "(SELECT " + self._relative("_path") + " FROM _landing_docs UNION SELECT "
            + self._relative("_path") + " FROM _line_rejects)",
            [self.source.name, self.batch_id]).fetchone()[0]

    def _explode_items(self, stream: Stream) -> str:
        """Webhook bodies: one row per item at `stream.item_path`, in `_landing_rows`; a bad item
        is rejected alone, named by its position (`statuses[2]: missing key field id`)."""
        allowed = _allowed_values(stream.fields, self._stream_props(stream))
        items = f"""(
            SELECT _path, _line_number, _received_dt,
                   unnest("{stream.label}") AS text, generate_subscripts("{stream.label}", 1) - 1 AS item_index
            FROM _landing_docs  -- _webhook_docs_sql listed each good body's items
            WHERE reason IS NULL AND len("{stream.label}") > 0)"""
        self.con.execute(f"CREATE OR REPLACE TEMP TABLE _landing_rows AS "
                         f"{_judged_sql(items, 'text', stream.fields, allowed, _ITEM_REASON, keep=['item_index'])}")
        self._reject(
            f"SELECT _path, _line_number, '{stream.label}[' || item_index || ']: ' || reason AS reason, "
            "raw_text FROM _landing_rows WHERE reason IS NOT NULL")
        return "_landing_rows"

    def _write_ledger(self, paths: list[str]) -> None:
        listed = ", ".join(f"({sql_literal(p)})" for p in paths)
        row_counts = " UNION ALL ".join(
            f"SELECT _file, count(*) AS n FROM raw.{t} WHERE _batch_id = {self.batch_id} GROUP BY _file"
            for t in self.source.tables
        )
        self.con.execute(
            f"""
            INSERT INTO raw.loaded_files
            WITH files(_path) AS (VALUES {listed}),
                 docs AS (SELECT _path, count(*) AS lines FROM _landing_docs GROUP BY _path),
                 undecodable AS (SELECT _path, count(*) AS n FROM _line_rejects GROUP BY _path),
                 rejects AS (SELECT file, count(*) AS n FROM raw.rejected_records
                                  WHERE source = {sql_literal(self.source.name)} AND _batch_id = {self.batch_id}
                                  GROUP BY file),
                 loaded AS (SELECT _file, sum(n) AS n FROM ({row_counts}) GROUP BY _file)
            SELECT {sql_literal(self.source.name)}, {self._relative('files._path')},
                   {_RECEIVED_DT.format(path="files._path")},
                   'loaded',
                   coalesce(docs.lines, 0) + coalesce(undecodable.n, 0),
                   coalesce(loaded.n, 0),
                   coalesce(rejects.n, 0),
                   {self.batch_id}, {sql_literal(self.loaded_at.isoformat())}::TIMESTAMP
            FROM files
            LEFT JOIN docs USING (_path)
            LEFT JOIN undecodable USING (_path)
            LEFT JOIN rejects ON rejects.file = {self._relative('files._path')}
            LEFT JOIN loaded ON loaded._file = {self._relative('files._path')}
            """
        )

    def record_unreadable(self, path: str, error: str, result: LoadResult) -> None:
        message = " ".join(error.split())[:300].replace(self.landing + "/", "")
        relative = path[len(self.landing) + 1:]
        self.con.execute(
            f"""INSERT INTO raw.rejected_records VALUES (?, ?, NULL, ?, NULL, {_RECEIVED_DT.format(path="?")}, ?, ?)""",
            [self.source.name, relative, f"unreadable file: {message}", path, self.batch_id, self.loaded_at],
        )
        self.con.execute(
            f"""INSERT INTO raw.loaded_files
                VALUES (?, ?, {_RECEIVED_DT.format(path="?")}, 'unreadable', 0, 0, 1, ?, ?)""",
            [self.source.name, relative, path, self.batch_id, self.loaded_at],
        )
        result.unreadable_files.append(relative)
        result.records_rejected += 1


def load_source(con: duckdb.DuckDBPyConnection, landing: str, source_name: str) -> LoadResult:
    """Load every landing file of `source_name` that was never loaded."""
    from orchestration.ingestion.contracts import contract

    source = sources()[source_name]
    ensure_raw_tables(con)
    result = LoadResult(source=source_name, rows_loaded={t: 0 for t in source.tables})
    files = discover_new_files(con, landing, source)
    if not files:
        return result
    loader = Loader(con, landing, source, next_batch_id(con), datetime.now(timezone.utc).replace(tzinfo=None),
                    contract(source_name))
    outside = [path for path, _ in files if _escapes_root(path, landing)]
    for path in outside:
        con.execute("BEGIN TRANSACTION")
        loader.record_unreadable(path, "it resolves outside the landing root (a link); not read", result)
        con.execute("COMMIT")
    for chunk in _chunks([f for f in files if f[0] not in outside]):
        _load_atomically(loader, chunk, result)
    result.files = [p[len(loader.landing) + 1:] for p, _ in files]
    return result


def _load_atomically(loader: Loader, paths: list[str], result: LoadResult) -> None:
    con = loader.con
    con.execute("BEGIN TRANSACTION")
    try:
        loader.load_chunk(paths, result)
        con.execute("COMMIT")
        return
    except duckdb.Error as error:
        con.execute("ROLLBACK")
        if len(paths) == 1:
            # The file itself cannot be read (a truncated gzip, say): record it, load the rest.
            con.execute("BEGIN TRANSACTION")
            loader.record_unreadable(paths[0], str(error), result)
            con.execute("COMMIT")
            return
    # One file of the chunk is unreadable: load them one by one to find it.
    for path in paths:
        _load_atomically(loader, [path], result)
