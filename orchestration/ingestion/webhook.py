"""The webhook flattening: a WhatsApp webhook body (the envelope) holds lists of statuses and of
inbound messages, each a stream of rows of its own. A body is parsed once, by one
json_transform, into its envelope fragments and its items; the quick test reads the parsed
envelope; a body it does not pass gets the full checks and, if they pass it, its items by
json_extract. An item is then judged alone, and a bad one is rejected with its position
(`statuses[2]: missing key field id`) while the rest of the body loads.
"""

from __future__ import annotations

import json

from orchestration.ingestion.contracts import Source, Stream
from orchestration.ingestion.duckdb_checks import (
    LINE_REASON, Judgement, cast_sql, full_reason_sql, quick_ok_sql, range_sql, transform_spec,
    type_ok_sql,
)
from orchestration.ingestion.sql_text import sql_literal


def path_segments(item_path: str) -> list[str]:
    """`$.entry[*].changes[*].value.statuses[*]` -> ['entry[*]', 'changes[*]', 'value', 'statuses[*]']"""
    return item_path.removeprefix("$.").split(".")


def transform_shape(source: Source) -> dict:
    """One json_transform spec that reads a body's envelope fields as JSON fragments and every
    stream's items as lists of JSON fragments. The quick envelope test needs every property of
    the envelope's list items required: a transform cannot tell a JSON null, a wrong type, from
    an absent key."""
    spec: dict = {}
    for stream in source.streams:
        node = spec
        segments = path_segments(stream.item_path)
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


def envelope_judgement(relation: str, source: Source) -> Judgement:
    """Judging the bodies of `relation` (`_path`, `_line_number`, `_received_dt`, `text`) against
    the source's envelope; the parsed body is `body`."""
    spec = transform_shape(source)
    quick, texts, values = ["body IS NOT NULL"], [], []
    for i, f in enumerate(source.envelope):
        ref = f'body."{f.name}"'
        if not f.items:
            text = f'"_text_{i}"'
            texts.append(f"{ref} ->> '$' AS {text}")
            values.append(f"{cast_sql(f, text, ref)} AS \"_value_{i}\"")
            quick.append(quick_ok_sql(f, ref, text, f'"_value_{i}"', "_received_dt"))
            continue
        # Every property of the list's items is required (transform_shape): NULL is absent, a JSON
        # null or a wrong type, and fails the test; an item that is no object has every one NULL.
        element = spec[f.name][0]
        conditions = ["e IS NOT NULL"]
        for item in f.items:
            item_ref = f'e."{item.name}"'
            conditions.append(f"{item_ref} IS NOT NULL")
            if element[item.name] == "JSON":
                conditions.append(type_ok_sql(item.json_type, item_ref))
                out_of_range = range_sql(f"TRY_CAST({item_ref} AS DOUBLE)", item.minimum, item.maximum)
                if out_of_range:
                    conditions.append(f"NOT ({out_of_range})")
        quick.append(f"{ref} IS NOT NULL AND len(list_filter({ref}, "
                     f"lambda e: NOT coalesce({' AND '.join(conditions)}, false))) = 0")
    fragments = f"(json_transform(_json, {transform_spec(source.envelope)}))"
    ctes = f"""first_checked AS (
            SELECT _path, _line_number, _received_dt, text AS _json, {LINE_REASON} AS first_reason
            FROM {relation}),
        parsed AS (
            SELECT *, CASE WHEN first_reason IS NULL THEN json_transform(_json, {sql_literal(json.dumps(spec))}) END AS body
            FROM first_checked),
        texts AS (SELECT *{"".join(", " + t for t in texts)} FROM parsed),
        valued AS (SELECT *{"".join(", " + v for v in values)} FROM texts)"""
    return Judgement(ctes, f"coalesce({' AND '.join(quick)}, false)", full_reason_sql(source.envelope, fragments))


def webhook_docs_sql(relation: str, source: Source) -> str:
    """The judged bodies of `relation`, plus one list column per stream (named by its label)
    holding the items of a good body."""
    lists = []
    for stream in source.streams:
        nested = _nested_items_sql("body", path_segments(stream.item_path))
        lists.append(f"CASE WHEN reason IS NOT NULL THEN NULL WHEN quick_ok THEN {nested} "
                     f"ELSE json_extract(_json, {sql_literal(stream.item_path)})::JSON[] END AS \"{stream.label}\"")
    return envelope_judgement(relation, source).sql(", ".join(lists))


def items_sql(docs: str, stream: Stream) -> str:
    """One row per item of `stream` in the good bodies of `docs` (made by webhook_docs_sql), with
    its position in the body (`item_index`); judge them with duckdb_checks.ITEM_REASON first."""
    return f"""(
            SELECT _path, _line_number, _received_dt,
                   unnest("{stream.label}") AS text, generate_subscripts("{stream.label}", 1) - 1 AS item_index
            FROM {docs}  -- webhook_docs_sql listed each good body's items
            WHERE reason IS NULL AND len("{stream.label}") > 0)"""

