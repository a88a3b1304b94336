"""The contract compiler: the JSON Schemas in `models/` become the landing sources, their raw
tables and the checks every row must pass, so that producers, the generator, the loader and the
tests share one contract.

A top-level property becomes a column (camelCase to snake_case, or its `x-column`): strings are
text, `format: date-time` strings and Unix-seconds strings (`^[0-9]{1,12}$`) UTC instants,
integers, numbers and booleans themselves, objects and arrays JSON text. A schema whose array
items `$ref` an object of `$defs` is a webhook body: each such list is a stream of rows of its
own, and the body's own properties are its envelope.

The output is engine-neutral: each field holds its constraints and, in order, the typed checks
(orchestration/ingestion/checks.py) that name the first reason a row fails. A renderer turns
them into one engine's SQL (DuckDB: orchestration/ingestion/duckdb_checks.py). A keyword the
compiler does not implement is refused (`ContractError`), never ignored: otherwise a schema
could promise a check that no load makes.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from functools import cache
from pathlib import Path

from orchestration.ingestion import checks
from orchestration.settings import CONTRACTS_DIR

PROVENANCE_COLUMNS = (
    ("_file", "VARCHAR"),  # path below the landing root: <source>/dt=YYYY-MM-DD/<name>
    ("_line_number", "BIGINT"),  # 1-based physical line in the (decompressed) file
    ("_received_dt", "DATE"),  # the dt= folder: the UTC day the file was received
    ("_batch_id", "BIGINT"),  # one per load; increasing
    ("_loaded_at", "TIMESTAMP"),
)

# The landing sources, in load order, and the raw table each loads into (a webhook source's
# streams into `<table>_<list name>`).
RAW_TABLES = {"sends": "sends", "whatsapp": "whatsapp", "clicks": "clicks", "orders": "orders",
              "campaigns": "campaign_events"}

# Keywords that check nothing, allowed anywhere.
ANNOTATIONS = frozenset({"title", "description", "$schema", "$id", "$comment", "examples", "default"})
JSON_TYPES = ("string", "integer", "number", "boolean", "object", "array")
# The one pattern the loader reads: Unix seconds as a string of digits.
UNIX_SECONDS_PATTERN = "^[0-9]{1,12}$"

# What each place of a schema may hold. Below the checked levels (inside a value kept whole as
# a JSON column, or on the way to a webhook's lists) the schema describes what the staging
# models read; the loader checks only that the value is an object or an array, so only
# keywords that describe a shape are accepted there.
_DOCUMENT_KEYWORDS = frozenset({"type", "required", "properties"})
_FIELD_KEYWORDS = frozenset({"type", "x-column", "$ref", "format", "pattern", "enum", "const", "minimum",
                             "maximum", "minLength", "items", "properties"})
_ITEM_FIELD_KEYWORDS = frozenset({"type", "minimum", "maximum", "items", "properties"})
_DESCRIBED_KEYWORDS = frozenset({"type", "required", "properties", "items", "$ref"})


NOT_IMPLEMENTED = "is not implemented by the loader's contract compiler"


class ContractError(ValueError):
    """A schema the loader cannot honour: the message names the file, the place and the keyword."""


@dataclass(frozen=True)
class ItemField:
    """A property of the objects an array field lists (an order's items)."""

    name: str
    json_type: str
    required: bool
    minimum: float | None = None
    maximum: float | None = None


@dataclass(frozen=True)
class Field:
    name: str  # the JSON property
    column: str
    json_type: str  # string | integer | number | boolean | object | array
    kind: str  # text | timestamp | unix_seconds | integer | number | boolean | json
    required: bool
    minimum: float | None = None
    maximum: float | None = None
    items: tuple[ItemField, ...] = ()  # for arrays of objects
    allowed: tuple[str, ...] = ()  # enum or const: the only values it may hold
    pattern: str | None = None  # unix_seconds: the digits its text must match (unanchored)

    @property
    def checks(self) -> tuple[checks.Check, ...]:
        """The full checks of this field, in the order they are tried."""
        return checks.field_checks(self)

    @property
    def sql_type(self) -> str:
        """Its raw column's DuckDB type (another engine maps `kind` to its own types)."""
        return {
            "text": "VARCHAR", "timestamp": "TIMESTAMP", "unix_seconds": "TIMESTAMP",
            "integer": "BIGINT", "number": "DOUBLE", "boolean": "BOOLEAN", "json": "JSON",
        }[self.kind]


@dataclass(frozen=True)
class Stream:
    """One raw table: the documents of a source, or the items a path inside them lists."""

    table: str
    fields: tuple[Field, ...]
    item_path: str | None = None  # JSONPath of the items inside one line (webhook bodies)
    label: str | None = None  # how a rejected item is named: statuses[3]


@dataclass(frozen=True)
class Source:
    name: str  # the landing folder
    streams: tuple[Stream, ...]
    envelope: tuple[Field, ...] = ()  # what a line must hold when its items are the rows

    @property
    def tables(self) -> tuple[str, ...]:
        return tuple(s.table for s in self.streams)


def snake_case(name: str) -> str:
    return re.sub(r"(?<=[a-z0-9])([A-Z])", r"_\1", name).lower()


class _Compiler:
    """Compiles one schema file; `refuse` names the file and the place of a keyword it cannot honour."""

    def __init__(self, file: str, root: dict):
        self.file = file
        self.root = root
        self.streams: list[tuple[str, str, str]] = []  # (item path, list name, $defs name)

    def refuse(self, where: str, keyword: str, why: str = NOT_IMPLEMENTED) -> None:
        raise ContractError(f"{self.file}: keyword '{keyword}' at {where or 'the top level'} {why}")

    def allow(self, schema: dict, where: str, allowed: frozenset[str]) -> None:
        if not isinstance(schema, dict):
            raise ContractError(f"{self.file}: {where} is not a schema object")
        for keyword in schema:
            if keyword not in allowed and keyword not in ANNOTATIONS:
                self.refuse(where, keyword)

    def definition(self, ref: str, where: str) -> tuple[str, dict]:
        name = ref.rsplit("/", 1)[-1]
        if not ref.startswith("#/$defs/") or name not in self.root.get("$defs", {}):
            self.refuse(where, "$ref", f"points to {ref!r}, which is not in this file's $defs")
        return name, self.root["$defs"][name]

    def document(self, schema: dict, where: str, extra: frozenset[str] = frozenset()) -> tuple[Field, ...]:
        self.allow(schema, where, _DOCUMENT_KEYWORDS | extra)
        if schema.get("type", "object") != "object":
            self.refuse(where, "type", "must be 'object' for a document")
        required = set(schema.get("required", ()))
        prefix = f"{where}." if where else ""
        return tuple(self.field(name, prop, name in required, f"{prefix}properties.{name}")
                     for name, prop in schema.get("properties", {}).items())

    def field(self, name: str, prop: dict, required: bool, where: str) -> Field:
        self.allow(prop, where, _FIELD_KEYWORDS)
        if "$ref" in prop:
            _, target = self.definition(prop["$ref"], where)
            self.allow(target, where, _FIELD_KEYWORDS - {"$ref", "x-column"})
            prop = {**target, **{k: v for k, v in prop.items() if k != "$ref"}}
        json_type = prop.get("type", "string")  # a const or an enum alone: a string
        if json_type not in JSON_TYPES:
            self.refuse(where, "type", f"must be one of {', '.join(JSON_TYPES)}")
        kind = {"string": "text", "integer": "integer", "number": "number", "boolean": "boolean",
                "object": "json", "array": "json"}[json_type]
        pattern = None
        if "format" in prop:
            if prop["format"] != "date-time":
                self.refuse(where, "format", f"is implemented only as 'date-time' (not {prop['format']!r})")
            kind = "timestamp"
        if "pattern" in prop:
            if prop["pattern"] != UNIX_SECONDS_PATTERN or json_type != "string":
                self.refuse(where, "pattern", f"is implemented only as {UNIX_SECONDS_PATTERN} on a string "
                                              "(Unix seconds)")
            kind, pattern = "unix_seconds", UNIX_SECONDS_PATTERN.strip("^$")
        for bound in ("minimum", "maximum"):
            if bound in prop and json_type not in ("integer", "number"):
                self.refuse(where, bound, "is implemented only on an integer or a number")
        # A required string is never empty (a loader rule): minLength 1 says no more than that.
        if "minLength" in prop and (prop["minLength"] > 1 or (prop["minLength"] == 1 and not required)
                                    or json_type != "string"):
            self.refuse(where, "minLength", "is implemented only as 1 on a required string")
        allowed = self.allowed_values(prop, where)
        items: tuple[ItemField, ...] = ()
        if json_type == "array" and "items" in prop:
            items = self.item_fields(prop["items"], f"{where}.items", f"$.{name}[*]")
        elif json_type == "object" and "properties" in prop:
            self.described(prop, where, f"$.{name}")
        elif "items" in prop or "properties" in prop:
            self.refuse(where, "items" if "items" in prop else "properties", f"does not fit type {json_type!r}")
        return Field(name, prop.get("x-column") or snake_case(name), json_type, kind, required,
                     prop.get("minimum"), prop.get("maximum"), items, allowed, pattern)

    def allowed_values(self, prop: dict, where: str) -> tuple[str, ...]:
        for keyword in ("enum", "const"):
            if keyword in prop:
                values = prop[keyword] if keyword == "enum" else [prop[keyword]]
                if not values or not all(isinstance(v, str) for v in values):
                    self.refuse(where, keyword, "is implemented only with string values")
                return tuple(values)
        return ()

    def item_fields(self, schema: dict, where: str, path: str) -> tuple[ItemField, ...]:
        """The properties of an array's objects, checked one level deep."""
        self.allow(schema, where, _DOCUMENT_KEYWORDS)
        if schema.get("type", "object") != "object":
            self.refuse(where, "type", "is implemented only as 'object' for a list's items")
        required = set(schema.get("required", ()))
        fields = []
        for name, prop in schema.get("properties", {}).items():
            here = f"{where}.properties.{name}"
            self.allow(prop, here, _ITEM_FIELD_KEYWORDS)
            json_type = prop.get("type", "string")
            if json_type not in JSON_TYPES:
                self.refuse(here, "type", f"must be one of {', '.join(JSON_TYPES)}")
            for bound in ("minimum", "maximum"):
                if bound in prop and json_type not in ("integer", "number"):
                    self.refuse(here, bound, "is implemented only on an integer or a number")
            if "items" in prop or "properties" in prop:
                self.described(prop, here, f"{path}.{name}")
            fields.append(ItemField(name, json_type, name in required, prop.get("minimum"), prop.get("maximum")))
        return tuple(fields)

    def described(self, schema: dict, where: str, path: str) -> None:
        """A part kept whole inside a JSON value: its shape is described, and a list whose items
        `$ref` an object of `$defs` is a stream of rows of its own (a webhook's statuses)."""
        self.allow(schema, where, _DESCRIBED_KEYWORDS)
        if "$ref" in schema:
            self.refuse(where, "$ref", "is implemented only as the items of a list (a stream of rows)")
        if schema.get("type", "object") not in JSON_TYPES:
            self.refuse(where, "type", f"must be one of {', '.join(JSON_TYPES)}")
        for name, prop in schema.get("properties", {}).items():
            self.described(prop, f"{where}.properties.{name}", f"{path}.{name}")
        items = schema.get("items")
        if isinstance(items, dict) and "$ref" in items:
            self.allow(items, f"{where}.items", frozenset({"$ref"}))
            definition, _ = self.definition(items["$ref"], f"{where}.items")
            self.streams.append((f"{path}[*]", path.rsplit(".", 1)[-1], definition))
        elif items is not None:
            self.described(items, f"{where}.items", f"{path}[*]")


def contract(source: str, contracts_dir: Path = CONTRACTS_DIR) -> dict:
    """The JSON Schema of a source, as written in `<contracts_dir>/<source>.schema.json`."""
    return _read(Path(contracts_dir) / f"{source}.schema.json")


@cache
def _read(path: Path) -> dict:
    try:
        return json.loads(path.read_text())
    except (OSError, json.JSONDecodeError) as error:
        raise ContractError(f"{path.parent.name}/{path.name}: cannot be read as JSON ({error})") from None


@cache
def compile_source(name: str, contracts_dir: Path = CONTRACTS_DIR) -> Source:
    """The source `name` compiled from its schema; a keyword the loader does not implement is a
    ContractError."""
    contracts_dir = Path(contracts_dir)
    schema = contract(name, contracts_dir)
    compiler = _Compiler(f"{contracts_dir.name}/{name}.schema.json", schema)
    fields = compiler.document(schema, "", frozenset({"$defs"}))
    table = RAW_TABLES.get(name, name)
    if not compiler.streams:
        return Source(name, (Stream(table, fields),))
    streams = tuple(
        Stream(f"{table}_{label}", compiler.document(schema["$defs"][definition], f"$defs.{definition}"),
               item_path, label)
        for item_path, label, definition in compiler.streams
    )
    return Source(name, streams, envelope=fields)


@cache
def sources(contracts_dir: Path = CONTRACTS_DIR) -> dict[str, Source]:
    """Every landing source, in load order."""
    return {name: compile_source(name, Path(contracts_dir)) for name in RAW_TABLES}


REJECTED_RECORDS_COLUMNS = (
    ("source", "VARCHAR NOT NULL"),
    ("file", "VARCHAR NOT NULL"),
    ("line_number", "BIGINT"),
    ("reason", "VARCHAR NOT NULL"),
    ("raw_text", "VARCHAR"),
    ("_received_dt", "DATE"),
    ("_batch_id", "BIGINT"),
    ("_loaded_at", "TIMESTAMP"),
)

LOADED_FILES_COLUMNS = (
    ("source", "VARCHAR NOT NULL"),
    ("file", "VARCHAR NOT NULL"),
    ("received_dt", "DATE"),
    ("status", "VARCHAR NOT NULL"),  # loaded | unreadable
    ("lines", "BIGINT NOT NULL"),
    ("rows_loaded", "BIGINT NOT NULL"),
    ("records_rejected", "BIGINT NOT NULL"),  # rows of raw.rejected_records from this file
    ("batch_id", "BIGINT NOT NULL"),
    ("loaded_at", "TIMESTAMP NOT NULL"),
)


def raw_table_columns() -> dict[str, tuple[tuple[str, str], ...]]:
    """Every table of the raw layer with its columns and their DuckDB types: each stream's table
    (the contract's fields, then the provenance), the rejects and the ledger of loaded files.
    Both engines create their raw layer from this (the spark engine maps the types)."""
    tables: dict[str, tuple[tuple[str, str], ...]] = {}
    for source in sources().values():
        for stream in source.streams:
            tables[stream.table] = (*((f.column, f.sql_type) for f in stream.fields), *PROVENANCE_COLUMNS)
    tables["rejected_records"] = REJECTED_RECORDS_COLUMNS
    tables["loaded_files"] = LOADED_FILES_COLUMNS
    return tables


def raw_ddl() -> list[str]:
    """CREATE statements (DuckDB) for every raw table, the rejects and the ledger of loaded files."""
    statements = ["CREATE SCHEMA IF NOT EXISTS raw"]
    for table, columns in raw_table_columns().items():
        body = ",\n    ".join(f'"{column}" {sql_type}' for column, sql_type in columns)
        key = ",\n    PRIMARY KEY (source, file)" if table == "loaded_files" else ""
        statements.append(f"CREATE TABLE IF NOT EXISTS raw.{table} (\n    {body}{key}\n)")
    return statements
