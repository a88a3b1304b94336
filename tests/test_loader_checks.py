"""The loader judges a row with a quick test first and runs its full checks only on the rows the
quick test does not pass (orchestration/ingestion/duckdb_checks.py). The quick test must never
change a verdict: here random documents, valid and mutated in the ways producers break them, are
judged with the loader's own SQL, and every verdict must be the one of the full checks, read
over the same rows through the renderer's public `Judgement` (quick_ok, full_reason). The
generated feeds must also take the quick path, or the loader is slow for nothing. Last, the
contract compiler refuses a schema keyword it does not implement.
"""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path

import duckdb
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from landing_files import send, status, webhook
from orchestration.ingestion import duckdb_checks
from orchestration.ingestion import webhook as flattening
from orchestration.ingestion.contracts import ContractError, compile_source, sources
from orchestration.ingestion.sql_text import sql_literal

RECEIVED = "2024-06-25"

# (source, stream index or None for a webhook's envelope, a valid document)
CASES = {
    "sends": ("sends", 0, send("wamid.1")),
    "clicks": ("clicks", 0, {"click_id": "c1", "message_id": "wamid.1", "clicked_at": "2024-06-25T12:10:00Z",
                             "url": "https://shop.example/cart", "user_agent": "Mozilla/5.0"}),
    "orders": ("orders", 0, {
        "orderId": "1-01", "orderGroup": "1", "sequence": "501", "orderFormId": "f1", "status": "invoiced",
        "creationDate": "2024-06-25T14:03:11.1234567+00:00", "lastChange": "2024-06-25T14:05:00Z", "value": 9980,
        "totals": [{"id": "Items", "value": 9980}],
        "items": [{"id": "1", "productId": "9", "name": "Camiseta", "quantity": 2, "price": 4990, "sellingPrice": 4990}],
        "clientProfileData": {"userProfileId": "u1"}, "storePreferencesData": {"currencyCode": "BRL"}}),
    "campaigns": ("campaigns", 0, {"campaign_id": "cmp_cart_es", "event": "created",
                                   "occurred_at": "2024-06-01T00:00:00Z", "name": "Carrito", "currency": "EUR"}),
    "webhook envelope": ("whatsapp", None, webhook([status("wamid.1", "delivered", 1719316685)])),
    "status": ("whatsapp", 0, {**status("wamid.1", "failed", 1719316685), "conversation": {"id": "c"},
                               "pricing": {"billable": True}, "errors": [{"code": 131049, "title": "Not delivered"}]}),
    "message": ("whatsapp", 1, {"from": "5511999990000", "id": "wamid.in1", "timestamp": "1719316685",
                                "type": "button", "context": {"id": "wamid.1"}, "button": {"text": "Comprar"}}),
}

# What producers send instead of a value: other types, edge numbers, bad and edge instants,
# nulls inside lists, and strings that only look like keywords.
ODD_VALUES = [
    None, "", " ", "x", "null", "wamid.2", 0, -1, 1, 2, 100000, 100001, 1.5, -0.5, 1e30, 10**11, 10**11 + 1,
    2**63, 2**64 - 1, 10**25, True, False, [], {}, [1], ["x"], [None], [{}], [{"id": None}], [[{"id": "1"}]],
    {"a": None}, {"id": "1"}, "2024-06-25T11:58:05Z", "2024-06-26T23:59:59Z", "2024-06-27T00:00:00Z",
    "2024-06-26T23:59:59-03:00", "1999-12-31T23:59:59Z", "2000-01-01T00:00:00Z", "2999-01-01T00:00:00Z",
    "2024-13-01T00:00:00Z", "25/06/2024", "1719316685", "1719475200", "946684799", "0946684800",
    "-1719316685", "1719316685.5", "17193166850000", "sent", "delivered", "read", "failed", "SENT", "created",
    "paused", "whatsapp_business_account", "Whatsapp_business_account",
]


@st.composite
def mutated(draw, document: dict) -> dict:
    """`document` with a few keys removed or set to odd values, at the top or inside its lists."""
    doc = json.loads(json.dumps(document))

    def odd():  # a copy: the mutations below must never reach ODD_VALUES
        return json.loads(json.dumps(draw(st.sampled_from(ODD_VALUES))))

    for _ in range(draw(st.integers(0, 3))):
        key = draw(st.sampled_from(sorted(doc) + ["unknown_key"]))
        value = doc.get(key)
        action = draw(st.sampled_from(["delete", "set", "inside"]))
        if action == "delete":
            doc.pop(key, None)
        elif action == "set" or not isinstance(value, (list, dict)) or not value:
            doc[key] = odd()
        else:
            element = value[0] if isinstance(value, list) else value
            if isinstance(element, dict) and element and draw(st.booleans()):
                inner = draw(st.sampled_from(sorted(element)))
                if draw(st.booleans()):
                    element.pop(inner)
                else:
                    element[inner] = odd()
            elif isinstance(value, list):
                value[0] = odd()
    return doc


def _verdicts(con: duckdb.DuckDBPyConnection, source: str, stream: int | None, texts: list[str]) -> list[tuple]:
    """(line, quick_ok, the loader's reason, the full checks' reason) of each text."""
    con.execute("CREATE OR REPLACE TEMP TABLE docs (_path VARCHAR, _line_number BIGINT, _received_dt DATE, text VARCHAR)")
    con.executemany("INSERT INTO docs VALUES (?, ?, ?, ?)",
                    [[f"{source}/dt={RECEIVED}/a.jsonl", n, RECEIVED, text] for n, text in enumerate(texts, 1)])
    found = sources()[source]
    if stream is None:
        judgement = flattening.envelope_judgement("docs", found)
        judged = flattening.webhook_docs_sql("docs", found)
    else:
        fields = found.streams[stream].fields
        first = duckdb_checks.ITEM_REASON if found.streams[stream].item_path else duckdb_checks.LINE_REASON
        judgement = duckdb_checks.judgement("docs", "text", fields, first)
        judged = duckdb_checks.judged_sql("docs", "text", fields, first)
    reasons = dict(con.execute(f"SELECT _line_number, reason FROM ({judged})").fetchall())
    verdicts = con.execute(
        f"SELECT _line_number, {judgement.quick_ok}, "
        f"CASE WHEN first_reason IS NOT NULL THEN first_reason ELSE {judgement.full_reason} END "
        f"FROM ({judgement.parsed_sql()}) ORDER BY _line_number").fetchall()
    return [(line, quick_ok, reasons[line], full_reason) for line, quick_ok, full_reason in verdicts]


def _listed_items(con: duckdb.DuckDBPyConnection, source: str) -> list[tuple]:
    """For each good body of `docs`: its items as the loader lists them, and as json_extract
    finds them at each stream's path."""
    found = sources()[source]
    listed = ", ".join(f'"{s.label}"::VARCHAR[], json_extract(docs.text, {sql_literal(s.item_path)})::VARCHAR[]'
                       for s in found.streams)
    return con.execute(f"SELECT judged._line_number, {listed} FROM ({flattening.webhook_docs_sql('docs', found)}) "
                       "AS judged JOIN docs USING (_line_number) WHERE judged.reason IS NULL").fetchall()


@pytest.fixture(scope="module")
def con():
    connection = duckdb.connect()
    connection.execute("SET TimeZone = 'UTC'")
    yield connection
    connection.close()


@pytest.mark.parametrize("case", sorted(CASES))
def test_the_valid_document_takes_the_quick_path(con, case):
    source, stream, document = CASES[case]
    [(_, quick_ok, reason, full_reason)] = _verdicts(con, source, stream, [json.dumps(document)])
    assert (quick_ok, reason, full_reason) == (True, None, None)


@pytest.mark.parametrize("case", sorted(CASES))
def test_the_quick_test_never_changes_a_verdict(con, case):
    source, stream, document = CASES[case]

    @settings(max_examples=120, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
    @given(st.lists(mutated(document), min_size=1, max_size=25))
    def check(documents):
        texts = [json.dumps(d) for d in documents]
        for line, quick_ok, reason, full_reason in _verdicts(con, source, stream, texts):
            assert reason == full_reason, (texts[line - 1], quick_ok)
            if quick_ok:
                assert full_reason is None, texts[line - 1]
        if stream is None:  # a good body's items are those at the streams' paths
            for line, *lists in _listed_items(con, source):
                assert lists[0::2] == lists[1::2], texts[line - 1]

    check()


def _odd_or(good) -> st.SearchStrategy:
    return st.one_of(st.just(good), st.sampled_from(ODD_VALUES))


# Webhook bodies broken at any depth: entries, changes and values of the wrong type or missing.
_STATUS = CASES["status"][2]
_MESSAGE = CASES["message"][2]
_VALUE = st.fixed_dictionaries({}, optional={"statuses": _odd_or([_STATUS, {**_STATUS, "status": "read"}]),
                                             "messages": _odd_or([_MESSAGE])})
_CHANGE = st.one_of(st.fixed_dictionaries({"field": st.just("messages")},
                                          optional={"value": st.one_of(_VALUE, st.sampled_from(ODD_VALUES))}),
                    st.sampled_from(ODD_VALUES))
_ENTRY = st.one_of(st.fixed_dictionaries({"id": _odd_or("waba1")},
                                         optional={"changes": st.one_of(st.lists(_CHANGE, max_size=3),
                                                                        st.sampled_from(ODD_VALUES))}),
                   st.sampled_from(ODD_VALUES))
_BODY = st.fixed_dictionaries({"object": _odd_or("whatsapp_business_account")},
                              optional={"entry": st.one_of(st.lists(_ENTRY, max_size=3), st.sampled_from(ODD_VALUES))})


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.lists(_BODY, min_size=1, max_size=25))
def test_webhook_bodies_broken_at_any_depth_keep_their_verdicts_and_items(con, bodies):
    texts = [json.dumps(body) for body in bodies]
    for line, quick_ok, reason, full_reason in _verdicts(con, "whatsapp", None, texts):
        assert reason == full_reason, (texts[line - 1], quick_ok)
    for line, *lists in _listed_items(con, "whatsapp"):
        assert lists[0::2] == lists[1::2], texts[line - 1]


def test_generated_feeds_take_the_quick_path(tmp_path: Path, con):
    """Nearly every line the generator writes passes the quick test; the ones that do not are its
    deliberate quirks, which the full checks reject (a good row on the slow path is only slow)."""
    from orchestration.generate import generate

    landing = tmp_path / "landing"
    generate(landing, start=date(2024, 6, 1), days=2, reminders_per_day=300, seed=5)
    for source_name, source in sources().items():
        lines = [line for path in sorted((landing / source_name).glob("dt=*/*.jsonl*"))
                 for line in _read_text_lines(path)]
        verdicts = _verdicts(con, source_name, 0 if source.streams[0].item_path is None else None, lines)
        slow_but_good = [v for v in verdicts if not v[1] and v[3] is None]
        assert len(slow_but_good) <= len(verdicts) * 0.002, (source_name, slow_but_good[:3])


def _read_text_lines(path: Path) -> list[str]:
    import gzip

    data = gzip.decompress(path.read_bytes()) if path.suffix == ".gz" else path.read_bytes()
    return [line for line in data.decode("utf-8", errors="replace").splitlines() if line.strip()]


# The contract compiler: a keyword it does not implement is refused, never ignored.

ORDERS_SCHEMA = {
    "$schema": "https://json-schema.org/draft/2020-12/schema", "$id": "orders.schema.json",
    "title": "orders", "type": "object", "required": ["orderId", "creationDate"],
    "properties": {
        "orderId": {"type": "string", "minLength": 1, "description": "the VTEX order id", "examples": ["1-01"]},
        "creationDate": {"type": "string", "format": "date-time", "$comment": "with an offset"},
        "value": {"type": "integer", "minimum": 0, "default": 0},
        "clientProfileData": {"type": "object", "properties": {"email": {"type": "string"}}},
    },
}


def _compile(tmp_path: Path, schema: dict, name: str = "orders"):
    contracts = tmp_path / "models"
    contracts.mkdir(exist_ok=True)
    (contracts / f"{name}.schema.json").write_text(json.dumps(schema))
    return compile_source(name, contracts)


def _with(path: list[str], keyword: str, value) -> dict:
    schema = json.loads(json.dumps(ORDERS_SCHEMA))
    node = schema
    for key in path:
        node = node[key]
    node[keyword] = value
    return schema


def test_a_keyword_the_compiler_does_not_implement_is_refused_naming_the_file_and_place(tmp_path):
    with pytest.raises(ContractError) as refused:
        _compile(tmp_path, _with(["properties", "orderId"], "maxLength", 40))
    assert str(refused.value) == ("models/orders.schema.json: keyword 'maxLength' at properties.orderId "
                                  "is not implemented by the loader's contract compiler")


@pytest.mark.parametrize(("path", "keyword", "value", "place"), [
    ([], "additionalProperties", False, "the top level"),
    (["properties", "value"], "exclusiveMaximum", 10, "properties.value"),
    (["properties", "orderId"], "minLength", 3, "properties.orderId"),
    (["properties", "orderId"], "pattern", "^[0-9]+-[0-9]+$", "properties.orderId"),
    (["properties", "creationDate"], "format", "date", "properties.creationDate"),
    (["properties", "clientProfileData", "properties", "email"], "format", "email",
     "properties.clientProfileData.properties.email"),
])
def test_every_unimplemented_keyword_or_value_is_refused_at_its_place(tmp_path, path, keyword, value, place):
    with pytest.raises(ContractError, match=f"^models/orders.schema.json: keyword '{keyword}' at {place} "):
        _compile(tmp_path, _with(path, keyword, value))


def test_annotations_are_allowed_and_the_checks_come_out_in_order(tmp_path):
    from orchestration.ingestion import checks

    compiled = _compile(tmp_path, ORDERS_SCHEMA)
    order_id = compiled.streams[0].fields[0]
    assert order_id.checks == (checks.Present("orderId"), checks.HasType("orderId", "string"),
                               checks.NotEmpty("orderId"))
    assert compiled.streams[0].fields[2].checks == (checks.HasType("value", "integer"),
                                                    checks.InRange("value", 0, None))


def test_the_webhook_streams_are_found_where_the_schema_lists_them():
    whatsapp = sources()["whatsapp"]
    assert [(s.table, s.item_path, s.label) for s in whatsapp.streams] == [
        ("whatsapp_statuses", "$.entry[*].changes[*].value.statuses[*]", "statuses"),
        ("whatsapp_messages", "$.entry[*].changes[*].value.messages[*]", "messages"),
    ]
    assert [f.name for f in whatsapp.envelope] == ["object", "entry"]
