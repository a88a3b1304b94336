"""The checks a compiled contract asks of each row, engine-neutral: what to test and which reason
names a failure, never how an engine writes it. A field's checks are tried in order and the
first that fails is the row's reason, so every engine rejects a row for the same reason.

A renderer (orchestration/ingestion/duckdb_checks.py for DuckDB) turns each check into a
condition and a reason text in its dialect, and may add a quicker test of its own that passes
only rows meeting every check.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol

# No event of this business predates 2000; an instant after the day its file was received (plus
# a day of clock skew and time zones) cannot have been observed yet: both are producer bugs.
EARLIEST_INSTANT = "2000-01-01"
RECEIVED_SLACK_DAYS = 2


@dataclass(frozen=True)
class Check:
    field: str  # the property a reason names


@dataclass(frozen=True)
class Present(Check):
    """A required field is there and not JSON null: `missing key field <field>`."""


@dataclass(frozen=True)
class HasType(Check):
    """The value is of the JSON type (an integer is a number too):
    `wrong type for <field>: expected <json_type>, got <its type>`."""

    json_type: str


@dataclass(frozen=True)
class NotEmpty(Check):
    """A required string is not '': `empty key field <field>`."""


@dataclass(frozen=True)
class InRange(Check):
    """A number that reads as the column's type and lies within the bounds (either may be None):
    `out of range value for <field>: <the first 40 characters>`."""

    minimum: float | None
    maximum: float | None


@dataclass(frozen=True)
class Timestamp(Check):
    """An ISO 8601 instant: `unparseable timestamp in <field>: <the first 60 characters>`."""


@dataclass(frozen=True)
class UnixSeconds(Check):
    """Digits matching `pattern` whole: `unparseable timestamp in <field> (Unix seconds expected): ...`."""

    pattern: str


@dataclass(frozen=True)
class NotBefore(Check):
    """The instant is not before `earliest`: `timestamp before <its year> in <field>: ...`."""

    earliest: str


@dataclass(frozen=True)
class NotAfterReceived(Check):
    """The instant is before the day its file was received plus `slack_days`:
    `timestamp in <field> is after its file was received (dt=<day>): ...`."""

    slack_days: int


@dataclass(frozen=True)
class ListOfObjects(Check):
    """Every element of the list is an object: `wrong type for <field>: expected a list of objects`."""


@dataclass(frozen=True)
class ItemPresent(Check):
    """Every object of the list holds `item`, not JSON null: `missing field <field>[].<item>`."""

    item: str


@dataclass(frozen=True)
class ItemHasType(Check):
    """Every object's `item` (where present) is of the JSON type:
    `wrong type for <field>[].<item>: expected <json_type>`."""

    item: str
    json_type: str


@dataclass(frozen=True)
class ItemInRange(Check):
    """Every object's `item` lies within the bounds:
    `out of range value for <field>[].<item> (expected ...): <the first value out of range>`."""

    item: str
    minimum: float | None
    maximum: float | None


@dataclass(frozen=True)
class OneOf(Check):
    """The text is one of `values` (an enum or a const): `unknown value for <field>: ...`."""

    values: tuple[str, ...]


class CheckedItem(Protocol):
    """An item property of a list of objects, as the compiler describes it (contracts.ItemField)."""

    name: str
    json_type: str
    required: bool
    minimum: float | None
    maximum: float | None


class CheckedField(Protocol):
    """A field as the compiler describes it (contracts.Field): what its checks derive from."""

    name: str
    json_type: str
    kind: str
    required: bool
    minimum: float | None
    maximum: float | None
    items: Sequence[CheckedItem]
    allowed: Sequence[str]
    pattern: str | None


def field_checks(f: CheckedField) -> tuple[Check, ...]:
    """The checks of field `f` in the order they are tried."""
    found: list[Check] = []
    if f.required:
        found.append(Present(f.name))
    found.append(HasType(f.name, f.json_type))
    if f.required and f.json_type == "string":
        found.append(NotEmpty(f.name))
    if f.kind in ("integer", "number"):
        found.append(InRange(f.name, f.minimum, f.maximum))
    if f.kind == "timestamp":
        found.append(Timestamp(f.name))
    if f.kind == "unix_seconds":
        found.append(UnixSeconds(f.name, f.pattern))
    if f.kind in ("timestamp", "unix_seconds"):
        found += [NotBefore(f.name, EARLIEST_INSTANT), NotAfterReceived(f.name, RECEIVED_SLACK_DAYS)]
    if f.items:
        found.append(ListOfObjects(f.name))
        for item in f.items:
            if item.required:
                found.append(ItemPresent(f.name, item.name))
            found.append(ItemHasType(f.name, item.name, item.json_type))
            if item.minimum is not None or item.maximum is not None:
                found.append(ItemInRange(f.name, item.name, item.minimum, item.maximum))
    if f.allowed:
        found.append(OneOf(f.name, f.allowed))
    return tuple(found)
