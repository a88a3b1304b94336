"""The landing sources and the raw tables they load into, derived from the JSON Schemas in
`models/` so that producers, the generator, the loader and the tests share one contract.

A top-level property becomes a column (camelCase to snake_case, or its `x-column`): strings are
VARCHAR, `format: date-time` strings and Unix-seconds strings are UTC TIMESTAMPs, integers
BIGINT, numbers DOUBLE, booleans BOOLEAN, objects and arrays JSON text.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from functools import cache

from orchestration.settings import CONTRACTS_DIR

PROVENANCE_COLUMNS = (
    ("_file", "VARCHAR"),  # path below the landing root: <source>/dt=YYYY-MM-DD/<name>
    ("_line_number", "BIGINT"),  # 1-based physical line in the (decompressed) file
    ("_received_dt", "DATE"),  # the dt= folder: the UTC day the file was received
    ("_batch_id", "BIGINT"),  # one per load; increasing
    ("_loaded_at", "TIMESTAMP"),
)


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

    @property
    def sql_type(self) -> str:
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


def _fields(schema: dict, root: dict) -> tuple[Field, ...]:
    required = set(schema.get("required", ()))
    fields = []
    for name, prop in schema.get("properties", {}).items():
        if "$ref" in prop:
            target = root["$defs"][prop["$ref"].rsplit("/", 1)[-1]]
            prop = {**target, **{k: v for k, v in prop.items() if k != "$ref"}}
            kind = "unix_seconds" if prop.get("pattern", "").startswith("^[0-9]") else "text"
        elif prop.get("format") == "date-time":
            kind = "timestamp"
        else:
            kind = {"string": "text", "integer": "integer", "number": "number", "boolean": "boolean",
                    "object": "json", "array": "json"}.get(prop.get("type"), "text")
        json_type = prop.get("type") or ("string" if "const" in prop or "enum" in prop else "string")
        column = prop.get("x-column") or snake_case(name)
        item_schema = prop.get("items", {}) if prop.get("type") == "array" else {}
        items = tuple(
            ItemField(item_name, item_prop.get("type", "string"), item_name in item_schema.get("required", ()),
                      item_prop.get("minimum"), item_prop.get("maximum"))
            for item_name, item_prop in item_schema.get("properties", {}).items()
        )
        fields.append(Field(name, column, json_type, kind, name in required,
                            prop.get("minimum"), prop.get("maximum"), items))
    return tuple(fields)


@cache
def contract(source: str) -> dict:
    return json.loads((CONTRACTS_DIR / f"{source}.schema.json").read_text())


@cache
def sources() -> dict[str, Source]:
    def flat(name: str, table: str) -> Source:
        schema = contract(name)
        return Source(name, (Stream(table, _fields(schema, schema)),))

    webhook = contract("whatsapp")
    return {
        "sends": flat("sends", "sends"),
        "whatsapp": Source(
            "whatsapp",
            (
                Stream("whatsapp_statuses", _fields(webhook["$defs"]["status"], webhook),
                       "$.entry[*].changes[*].value.statuses[*]", "statuses"),
                Stream("whatsapp_messages", _fields(webhook["$defs"]["message"], webhook),
                       "$.entry[*].changes[*].value.messages[*]", "messages"),
            ),
            envelope=_fields(webhook, webhook),
        ),
        "clicks": flat("clicks", "clicks"),
        "orders": flat("orders", "orders"),
        "campaigns": flat("campaigns", "campaign_events"),
    }


def raw_ddl() -> list[str]:
    """CREATE statements for every raw table, the rejects and the ledger of loaded files."""
    provenance = ",\n    ".join(f"{c} {t}" for c, t in PROVENANCE_COLUMNS)
    statements = ["CREATE SCHEMA IF NOT EXISTS raw"]
    for source in sources().values():
        for stream in source.streams:
            columns = ",\n    ".join(f'"{f.column}" {f.sql_type}' for f in stream.fields)
            statements.append(f"CREATE TABLE IF NOT EXISTS raw.{stream.table} (\n    {columns},\n    {provenance}\n)")
    statements.append(
        """CREATE TABLE IF NOT EXISTS raw.rejected_records (
    source VARCHAR NOT NULL,
    file VARCHAR NOT NULL,
    line_number BIGINT,
    reason VARCHAR NOT NULL,
    raw_text VARCHAR,
    _received_dt DATE,
    _batch_id BIGINT,
    _loaded_at TIMESTAMP
)""")
    statements.append(
        """CREATE TABLE IF NOT EXISTS raw.loaded_files (
    source VARCHAR NOT NULL,
    file VARCHAR NOT NULL,
    received_dt DATE,
    status VARCHAR NOT NULL,          -- loaded | unreadable
    lines BIGINT NOT NULL,
    rows_loaded BIGINT NOT NULL,
    records_rejected BIGINT NOT NULL,  -- rows of raw.rejected_records from this file
    batch_id BIGINT NOT NULL,
    loaded_at TIMESTAMP NOT NULL,
    PRIMARY KEY (source, file)
)""")
    return statements
