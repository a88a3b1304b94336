"""The DuckDB renderer of the compiled checks (orchestration/ingestion/checks.py): casting a
field to its column, the full checks that name a reason, and a quick test of DuckDB's own.

Every row is judged twice over, cheaply first: a quick test that only a row meeting every
check passes (types read from the first characters of JSON fragments, each value cast once),
then, for the few rows it does not pass, the full checks in order, which name the first one
that fails (and pass the rare good row the quick test was unsure of). The quick test never
passes a row the full checks reject: tests/test_loader_checks.py holds the two to that through
`Judgement.quick_ok` and `Judgement.full_reason`.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass

from orchestration.ingestion import checks as c
from orchestration.ingestion.checks import EARLIEST_INSTANT, RECEIVED_SLACK_DAYS
from orchestration.ingestion.contracts import Field
from orchestration.ingestion.sql_text import sql_literal

# What json_type() says of a value of each JSON Schema type.
_JSON_TYPES = {
    "string": ("VARCHAR",),
    "integer": ("BIGINT", "UBIGINT"),
    "number": ("BIGINT", "UBIGINT", "DOUBLE"),
    "boolean": ("BOOLEAN",),
    "object": ("OBJECT",),
    "array": ("ARRAY",),
}

# Checked before the contract: a line must be a JSON object in a dt= folder.
LINE_REASON = """
    CASE WHEN _received_dt IS NOT NULL AND starts_with(text, '{') AND json_valid(text) THEN NULL
         WHEN _received_dt IS NULL THEN 'the file is not in a dt=YYYY-MM-DD folder'
         WHEN text IS NULL OR trim(text) = '' THEN 'empty line'
         WHEN NOT json_valid(text) THEN 'not valid JSON'
         WHEN NOT starts_with(ltrim(text), '{') THEN 'not a JSON object'
    END
"""

# An item a webhook body lists must be an object (json_extract writes it minified).
ITEM_REASON = """
    CASE WHEN starts_with(text, '{') THEN NULL
         WHEN json_type(text) <> 'OBJECT' THEN 'not a JSON object' END
"""


def cast_sql(f: Field, text: str, fragment: str) -> str:
    """The column value of field `f`, from its text (`fragment ->> '$'`) or its JSON fragment."""
    return {
        "text": text,
        "timestamp": f"timezone('UTC', TRY_CAST({text} AS TIMESTAMPTZ))",
        # Only what the contract's pattern allows is read: a longer number is out of range for
        # to_timestamp, which fails the query where TRY_CAST would give NULL.
        "unix_seconds": f"CASE WHEN regexp_full_match({text}, '{f.pattern}') "
                        f"THEN timezone('UTC', to_timestamp({text}::BIGINT)) END",
        "integer": f"TRY_CAST({text} AS BIGINT)",
        "number": f"TRY_CAST({text} AS DOUBLE)",
        "boolean": f"TRY_CAST({text} AS BOOLEAN)",
        "json": f"{fragment}::JSON",
    }[f.kind]


def _value_sql(f: Field, fragment: str) -> str:
    return cast_sql(f, f"({fragment} ->> '$')", fragment)


def range_sql(value: str, minimum: float | None, maximum: float | None) -> str | None:
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


def _types(json_type: str) -> str:
    return ", ".join(sql_literal(t) for t in _JSON_TYPES.get(json_type, ("VARCHAR",)))


def check_sql(check: c.Check, f: Field, fragment: str, received: str) -> tuple[str, str]:
    """(condition, reason) of one check of field `f`: the condition holds when the row fails it.
    `received` is the SQL of the day the row's file was received."""
    name = f.name
    match check:
        case c.Present():
            return f"{fragment} IS NULL", f"'missing key field {name}'"
        case c.HasType(json_type=json_type):
            return (f"{fragment} IS NOT NULL AND json_type({fragment}) NOT IN ({_types(json_type)})",
                    f"'wrong type for {name}: expected {json_type}, got ' || lower(json_type({fragment}))")
        case c.NotEmpty():
            return f"{fragment} ->> '$' = ''", f"'empty key field {name}'"
        case c.InRange(minimum=minimum, maximum=maximum):
            value = _value_sql(f, fragment)
            out_of_range = range_sql(value, minimum, maximum)
            condition = f"{value} IS NULL" + (f" OR {out_of_range}" if out_of_range else "")
            return (f"{fragment} IS NOT NULL AND ({condition})",
                    f"'out of range value for {name}: ' || left({fragment}, 40)")
        case c.Timestamp():
            return (f"{fragment} IS NOT NULL AND {_value_sql(f, fragment)} IS NULL",
                    f"'unparseable timestamp in {name}: ' || left({fragment}, 60)")
        case c.UnixSeconds(pattern=pattern):
            return (f"{fragment} IS NOT NULL AND NOT regexp_full_match({fragment} ->> '$', '{pattern}')",
                    f"'unparseable timestamp in {name} (Unix seconds expected): ' || left({fragment}, 60)")
        case c.NotBefore(earliest=earliest):
            return (f"{_value_sql(f, fragment)} < TIMESTAMP '{earliest}'",
                    f"'timestamp before {earliest[:4]} in {name}: ' || left({fragment}, 60)")
        case c.NotAfterReceived(slack_days=slack):
            return (f"{_value_sql(f, fragment)} >= {received} + INTERVAL {slack} DAY",
                    f"'timestamp in {name} is after its file was received (dt=' || {received} || '): ' "
                    f"|| left({fragment}, 60)")
        case c.ListOfObjects():
            return (f"{fragment} IS NOT NULL AND len(list_filter(json_extract({fragment}, '$[*]'), "
                    "lambda v: json_type(v) <> 'OBJECT')) > 0",
                    f"'wrong type for {name}: expected a list of objects'")
        case c.ItemPresent(item=item):
            values = f"json_extract({fragment}, '$[*].{item}')"
            return (f"{fragment} IS NOT NULL AND len({values}) < len(json_extract({fragment}, '$[*]'))",
                    f"'missing field {name}[].{item}'")
        case c.ItemHasType(item=item, json_type=json_type):
            values = f"json_extract({fragment}, '$[*].{item}')"
            return (f"{fragment} IS NOT NULL AND len(list_filter({values}, lambda v: json_type(v) NOT IN "
                    f"({_types(json_type)}))) > 0",
                    f"'wrong type for {name}[].{item}: expected {json_type}'")
        case c.ItemInRange(item=item, minimum=minimum, maximum=maximum):
            values = f"json_extract({fragment}, '$[*].{item}')"
            out_of_range = range_sql("TRY_CAST(v AS DOUBLE)", minimum, maximum)
            return (f"{fragment} IS NOT NULL AND len(list_filter({values}, lambda v: {out_of_range})) > 0",
                    f"'out of range value for {name}[].{item} ({_bounds_text(minimum, maximum)}): ' || "
                    f"list_filter({values}, lambda v: {out_of_range})[1]")
        case c.OneOf(values=values):
            listed = ", ".join(sql_literal(v) for v in values)
            return (f"{fragment} IS NOT NULL AND ({fragment} ->> '$') NOT IN ({listed})",
                    f"'unknown value for {name}: ' || left({fragment}, 60)")
    raise TypeError(f"no DuckDB rendering of {check!r}")


def full_reason_sql(fields: Sequence[Field], struct: str) -> str:
    """The full checks: the reason of the first check a row fails, NULL when it fails none.
    `struct` is the SQL of the parsed document (a struct of JSON fragments named as the fields)."""
    whens = []
    for f in fields:
        for check in f.checks:
            condition, reason = check_sql(check, f, struct_ref(struct, f), "_received_dt")
            whens.append(f"WHEN {condition} THEN {reason}")
    return "CASE " + " ".join(whens) + " END" if whens else "NULL"


def type_ok_sql(json_type: str, fragment: str) -> str:
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
    """The quick form of the list checks: every element an object, no JSON null anywhere in the
    list (a null property is a wrong type that a transform cannot tell from an absent one), and
    every listed property present if required, of its type and within its bounds."""
    spec = sql_literal(json.dumps([{item.name: "JSON" for item in f.items}]))
    conditions = ["i IS NOT NULL"]
    for item in f.items:
        ref = f'i."{item.name}"'
        item_checks = [type_ok_sql(item.json_type, ref)]
        out_of_range = range_sql(f"TRY_CAST({ref} AS DOUBLE)", item.minimum, item.maximum)
        if out_of_range:
            item_checks.append(f"NOT ({out_of_range})")
        checked = " AND ".join(item_checks)
        conditions.append(f"{ref} IS NOT NULL AND {checked}" if item.required else f"({ref} IS NULL OR ({checked}))")
    found = [f"NOT contains({fragment}, 'null')",
             f"len(list_filter(json_transform({fragment}, {spec}), "
             f"lambda i: NOT coalesce({' AND '.join(conditions)}, false))) = 0"]
    if not any(item.required for item in f.items):
        # A transform makes any element a struct; a required property absent shows one that was
        # no object. Without one, the elements' first characters are read.
        found.append(f"len(list_filter(json_transform({fragment}, '[\"JSON\"]'), "
                     "lambda e: NOT coalesce(starts_with(e, '{'), false))) = 0")
    return " AND ".join(found)


def quick_ok_sql(f: Field, fragment: str, text: str, value: str, received: str) -> str:
    """True only when field `f` passes every one of its checks; `text` and `value` are its text
    and column value, computed once."""
    found = [type_ok_sql(f.json_type, fragment)]
    if f.required and f.json_type == "string":
        found.append(f"{text} <> ''")
    if f.kind in ("integer", "number"):
        found.append(f"{value} IS NOT NULL")
        out_of_range = range_sql(value, f.minimum, f.maximum)
        if out_of_range:
            found.append(f"NOT ({out_of_range})")
    if f.kind in ("timestamp", "unix_seconds"):
        # a Unix-seconds value is NULL unless its text matches the contract's pattern
        found += [f"{value} IS NOT NULL", f"{value} >= TIMESTAMP '{EARLIEST_INSTANT}'",
                  f"{value} < {received} + INTERVAL {RECEIVED_SLACK_DAYS} DAY"]
    if f.items:
        found.append(_items_ok_sql(f, fragment))
    if f.allowed:
        found.append(f"{text} IN ({', '.join(sql_literal(a) for a in f.allowed)})")
    checked = " AND ".join(found)
    return f"({fragment} IS NOT NULL AND {checked})" if f.required else f"({fragment} IS NULL OR ({checked}))"


@dataclass(frozen=True)
class Judgement:
    """How rows are judged: `ctes` end in `valued`, the rows (`_path`, `_line_number`,
    `_received_dt`, `_json`, the kept columns, `first_reason`, the parsed document and each
    field's text and value); `quick_ok` and `full_reason` are SQL over `valued`'s columns."""

    ctes: str
    quick_ok: str
    full_reason: str
    kept: str = ""

    def parsed_sql(self) -> str:
        """A SELECT of `valued`: both verdicts can be read over it."""
        return f"WITH {self.ctes} SELECT * FROM valued"

    def sql(self, columns: str) -> str:
        """The judged rows: a `reason` (NULL for a good row), for a bad row its text, and `columns`."""
        return f"""
        WITH {self.ctes},
        quick AS (SELECT *, {self.quick_ok} AS quick_ok FROM valued),
        judged AS (
            SELECT *, CASE WHEN first_reason IS NOT NULL THEN first_reason
                           WHEN quick_ok THEN NULL
                           ELSE {self.full_reason} END AS reason
            FROM quick)
        SELECT _path, _line_number, _received_dt{self.kept}, reason,
               CASE WHEN reason IS NOT NULL THEN _json END AS raw_text,
               {columns}
        FROM judged
    """


def judgement(relation: str, json_text: str, fields: Sequence[Field], first_reason: str = "NULL",
              keep: Sequence[str] = ()) -> Judgement:
    """Judging `relation`'s rows (which hold `_path`, `_line_number`, `_received_dt` and the JSON
    text `json_text`) against `fields`; each field's value is named as its raw column.
    `first_reason` is checked before the contract (a line that is no JSON object); `keep` names
    more columns to pass through."""
    texts, values, quick = [], [], []
    for i, f in enumerate(fields):
        fragment, text = struct_ref("doc", f), f'"_text_{i}"'
        if f.kind != "json":  # a JSON column is its fragment: no text to read
            texts.append(f"{fragment} ->> '$' AS {text}")
        values.append(f'{cast_sql(f, text, fragment)} AS "{f.column}"')
        quick.append(quick_ok_sql(f, fragment, text, f'"{f.column}"', "_received_dt"))
    kept = "".join(f", {column}" for column in keep)
    ctes = f"""first_checked AS (
            SELECT _path, _line_number, _received_dt, {json_text} AS _json{kept}, {first_reason} AS first_reason
            FROM {relation}),
        parsed AS (
            SELECT *, CASE WHEN first_reason IS NULL THEN json_transform(_json, {transform_spec(fields)}) END AS doc
            FROM first_checked),
        texts AS (SELECT *{"".join(", " + t for t in texts)} FROM parsed),
        valued AS (SELECT *, {', '.join(values)} FROM texts)"""
    return Judgement(ctes, f"coalesce({' AND '.join(quick)}, false)", full_reason_sql(fields, "doc"), kept)


def judged_sql(relation: str, json_text: str, fields: Sequence[Field], first_reason: str = "NULL",
               keep: Sequence[str] = ()) -> str:
    """A SELECT of `relation`'s rows with `reason` (NULL for a good row) and, for a good row, one
    column per field named as its raw column; a rejected row keeps its text (`raw_text`)."""
    return judgement(relation, json_text, fields, first_reason, keep).sql(
        ", ".join(f'"{f.column}"' for f in fields))


def transform_spec(fields: Sequence[Field]) -> str:
    return sql_literal(json.dumps({f.name: "JSON" for f in fields}))


def struct_ref(struct: str, f: Field) -> str:
    return f'{struct}."{f.name}"'
