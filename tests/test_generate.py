"""`campaigns generate`: the sample landing feeds keep their contracts and have the quirks of
real feeds. Small samples (3 days x 200 reminders) so that the whole file runs in seconds."""

from __future__ import annotations

import gzip
import json
import re
from collections import Counter, defaultdict
from datetime import date, datetime
from pathlib import Path

import jsonschema
import pytest

from orchestration.generate import SOURCES, generate

REPO = Path(__file__).resolve().parent.parent
START = date(2024, 6, 1)
DAYS, PER_DAY, SEED = 3, 200, 7

_RFC3339 = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:\d{2})$")
_FORMATS = jsonschema.FormatChecker()


@_FORMATS.checks("date-time", raises=ValueError)
def _date_time(value: object) -> bool:
    """RFC 3339 (jsonschema checks `date-time` only with an optional package installed)."""
    if not isinstance(value, str):
        return True
    if not _RFC3339.match(value):
        raise ValueError(f"not an RFC 3339 date-time: {value!r}")
    datetime.fromisoformat(value.replace("Z", "+00:00"))
    return True


def _validators() -> dict[str, jsonschema.Validator]:
    out = {}
    for source in SOURCES:
        schema = json.loads((REPO / "models" / f"{source}.schema.json").read_text())
        cls = jsonschema.validators.validator_for(schema)
        out[source] = cls(schema, format_checker=_FORMATS)
    return out


def _read(path: Path) -> list[str]:
    raw = gzip.decompress(path.read_bytes()) if path.name.endswith(".gz") else path.read_bytes()
    text = raw.decode("utf-8")
    assert text.endswith("\n"), path
    return text[:-1].split("\n")


class Landing:
    """The lines of a generated landing folder, parsed where they parse."""

    def __init__(self, root: Path):
        self.root = root
        self.files = sorted(p for p in root.rglob("*") if p.is_file())
        self.lines: dict[str, list[tuple[Path, str]]] = defaultdict(list)
        self._valid: dict[str, list[tuple[Path, dict]]] = {}
        for path in self.files:
            source = path.relative_to(root).parts[0]
            self.lines[source] += [(path, line) for line in _read(path)]

    def docs(self, source: str) -> list[tuple[Path, dict]]:
        out = []
        for path, line in self.lines[source]:
            try:
                out.append((path, json.loads(line)))
            except json.JSONDecodeError:
                pass
        return out

    def valid_docs(self, source: str, validators) -> list[tuple[Path, dict]]:
        if source not in self._valid:
            self._valid[source] = [(p, d) for p, d in self.docs(source) if validators[source].is_valid(d)]
        return self._valid[source]


def _dt(path: Path) -> date:
    return date.fromisoformat(path.parent.name.removeprefix("dt="))


@pytest.fixture(scope="module")
def validators():
    return _validators()


@pytest.fixture(scope="module")
def sample(tmp_path_factory):
    out = tmp_path_factory.mktemp("landing")
    summary = generate(out, START, DAYS, PER_DAY, SEED, progress=False)
    return summary, Landing(out)


def _statuses(landing: Landing, validators) -> list[tuple[Path, dict]]:
    return [(p, s) for p, d in landing.valid_docs("whatsapp", validators)
            for e in d["entry"] for c in e["changes"] for s in c["value"].get("statuses", [])]


def _messages(landing: Landing, validators) -> list[dict]:
    return [m for _, d in landing.valid_docs("whatsapp", validators)
            for e in d["entry"] for c in e["changes"] for m in c["value"].get("messages", [])]


def test_every_line_validates_against_its_schema_except_the_reported_malformed_ones(sample, validators):
    summary, landing = sample
    for source in SOURCES:
        invalid = 0
        for _, line in landing.lines[source]:
            try:
                doc = json.loads(line)
            except json.JSONDecodeError:
                invalid += 1
                continue
            invalid += not validators[source].is_valid(doc)
        assert invalid == summary.malformed[source] >= 1, source
        assert len(landing.lines[source]) == summary.lines[source], source


@pytest.fixture(scope="module")
def larger(tmp_path_factory):
    """2 days x 4000 reminders: enough lines for rates and every kind of malformed line."""
    out = tmp_path_factory.mktemp("larger")
    generate(out, START, 2, 4000, SEED, progress=False)
    return Landing(out)


def test_malformed_lines_cover_each_defect_of_the_contract(larger, validators):
    reasons = Counter()
    for source, lines in larger.lines.items():
        for _, line in lines:
            try:
                doc = json.loads(line)
            except json.JSONDecodeError:
                reasons["not json"] += 1
                continue
            for error in validators[source].iter_errors(doc):
                reasons[error.validator] += 1
    assert {"not json", "required", "type", "format"} <= set(reasons)


def test_same_seed_gives_byte_identical_files_and_another_seed_differs(sample, tmp_path):
    summary, landing = sample
    again = generate(tmp_path / "again", START, DAYS, PER_DAY, SEED, progress=False)
    other = generate(tmp_path / "other", START, DAYS, PER_DAY, SEED + 1, progress=False)
    assert again.files == summary.files and again.lines == summary.lines
    for name in summary.files:
        assert (tmp_path / "again" / name).read_bytes() == (landing.root / name).read_bytes(), name
    assert any(not (tmp_path / "other" / name).exists()
               or (tmp_path / "other" / name).read_bytes() != (landing.root / name).read_bytes()
               for name in summary.files)
    assert other.lines != summary.lines


def test_both_gzip_and_plain_files_are_written_in_dt_folders(sample):
    summary, landing = sample
    names = [p.name for p in landing.files]
    assert any(n.endswith(".jsonl.gz") for n in names) and any(n.endswith(".jsonl") for n in names)
    for path in landing.files:
        rel = path.relative_to(landing.root)
        assert rel.parts[0] in SOURCES and re.fullmatch(r"dt=\d{4}-\d{2}-\d{2}", rel.parts[1]), rel
    assert sorted(summary.files) == sorted(str(p.relative_to(landing.root)) for p in landing.files)


def test_late_files_hold_events_older_than_their_dt_folder(sample, validators):
    _, landing = sample
    late = [(p, d) for p, d in landing.valid_docs("sends", validators) if p.name.endswith("-late.jsonl.gz")
            or p.name.endswith("-late.jsonl")]
    assert late
    assert all(date.fromisoformat(d["sent_at"][:10]) < _dt(p) for p, d in late)
    # and most sends land in the folder of their own day
    docs = landing.valid_docs("sends", validators)
    same_day = sum(date.fromisoformat(d["sent_at"][:10]) == _dt(p) for p, d in docs)
    assert same_day / len(docs) > 0.9


def test_a_second_upload_lands_in_an_older_dt_folder_beside_its_main_file(sample):
    _, landing = sample
    reuploads = [p for p in landing.files if "-reupload." in p.name]
    assert reuploads
    for path in reuploads:
        assert any(q.parent == path.parent and "-reupload." not in q.name and "-late." not in q.name
                   for q in landing.files)


def test_sends_repeat_some_message_ids(sample, validators):
    _, landing = sample
    counts = Counter(d["message_id"] for _, d in landing.valid_docs("sends", validators))
    assert any(n > 1 for n in counts.values())
    users = Counter(d["user_id"] for _, d in landing.valid_docs("sends", validators))
    assert any(n > 1 for n in users.values())  # a user gets several reminders
    assert all(re.fullmatch(r"[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}", u) for u in users)


def test_some_order_form_ids_are_hyphenated_upper_case(sample, validators):
    _, landing = sample
    ids = [d["orderFormId"] for _, d in landing.valid_docs("orders", validators)]
    hyphenated = [i for i in ids if re.fullmatch(r"[0-9A-F]{8}-([0-9A-F]{4}-){3}[0-9A-F]{12}", i)]
    assert hyphenated and len(hyphenated) < len(ids) / 2
    assert all(re.fullmatch(r"[0-9a-f]{32}", i) for i in ids if i not in hyphenated)


def test_split_orders_share_one_order_group(sample, validators):
    _, landing = sample
    groups = defaultdict(set)
    for _, d in landing.valid_docs("orders", validators):
        groups[d["orderGroup"]].add(d["orderId"])
        assert d["orderId"].startswith(d["orderGroup"] + "-") and d["orderGroup"].endswith(d["sequence"])
    split = {g: ids for g, ids in groups.items() if len(ids) > 1}
    assert split
    assert all({i.rsplit("-", 1)[1] for i in ids} >= {"01", "02"} for ids in split.values())


def test_order_updates_resend_an_order_id_with_a_later_last_change(sample, validators):
    _, landing = sample
    versions = defaultdict(set)
    for _, d in landing.valid_docs("orders", validators):
        versions[d["orderId"]].add((d["lastChange"], d["status"]))
    updated = [v for v in versions.values() if len({lc for lc, _ in v}) > 1]
    assert updated
    assert any(len({s for _, s in v}) > 1 for v in updated)


def test_canceled_orders_exist_and_money_is_in_cents(sample, validators):
    _, landing = sample
    docs = [d for _, d in landing.valid_docs("orders", validators)]
    assert any(d["status"] == "canceled" for d in docs)
    for d in docs:
        totals = {t["id"]: t["value"] for t in d["totals"]}
        assert totals["Items"] == sum(i["price"] * i["quantity"] for i in d["items"])
        assert d["value"] == sum(totals.values())
        assert d["storePreferencesData"]["currencyCode"] in {"BRL", "MXN", "COP"}


def test_order_dates_have_0_to_7_fraction_digits_and_an_offset(sample, validators):
    _, landing = sample
    dates = [d["creationDate"] for _, d in landing.valid_docs("orders", validators)]
    assert all(re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d{1,7})?[+-]\d\d:\d\d", x) for x in dates)
    assert any(re.search(r"\.\d{7}\+00:00$", x) for x in dates)
    assert any(re.search(r":\d\d[+-]\d\d:\d\d$", x) for x in dates)  # no fraction at all
    assert any(x.endswith("-03:00") for x in dates)


def test_button_taps_of_both_shapes_name_a_sent_reminder(sample, validators):
    _, landing = sample
    sent = {d["message_id"] for _, d in landing.valid_docs("sends", validators)}
    messages = _messages(landing, validators)
    buttons = [m for m in messages if m["type"] == "button"]
    replies = [m for m in messages if m["type"] == "interactive"]
    assert buttons and replies
    assert all(m["button"]["payload"] and m["button"]["text"] for m in buttons)
    assert all(m["interactive"]["type"] == "button_reply" and m["interactive"]["button_reply"]["id"] for m in replies)
    taps = buttons + replies
    # every tap names a sent reminder (but the one whose send line is the malformed one)
    assert len({m["context"]["id"] for m in taps} - sent) <= 1
    assert any(m["type"] == "text" for m in messages)  # replies that are not clicks


def test_clicks_name_sent_reminders_and_some_users_click_twice(sample, validators):
    _, landing = sample
    sent = {d["message_id"] for _, d in landing.valid_docs("sends", validators)}
    clicks = [d for _, d in landing.valid_docs("clicks", validators)]
    assert clicks and sum(c["message_id"] in sent for c in clicks) >= len(clicks) - 1
    per_reminder = Counter(c["message_id"] for c in {c["click_id"]: c for c in clicks}.values())
    taps = Counter(m["context"]["id"] for m in _messages(landing, validators) if m["type"] != "text")
    assert any(per_reminder[k] + taps[k] > 1 for k in set(per_reminder) | set(taps))


def test_statuses_are_duplicated_out_of_order_and_sometimes_read_without_delivered(sample, validators):
    _, landing = sample
    statuses = _statuses(landing, validators)
    seen = Counter((s["id"], s["status"]) for _, s in statuses)
    assert any(n > 1 for n in seen.values())  # the same status delivered twice
    kinds = defaultdict(set)
    for _, s in statuses:
        kinds[s["id"]].add(s["status"])
    assert any("read" in k and "delivered" not in k for k in kinds.values())
    position = {}
    for i, (path, s) in enumerate(statuses):  # in file order
        position.setdefault((path, s["id"], s["status"]), i)
    assert any((path, m, "delivered") in position and position[(path, m, "delivered")] > i
               for (path, m, status), i in position.items() if status == "read")
    bodies = [d for _, d in landing.valid_docs("whatsapp", validators) if "statuses" in d["entry"][0]["changes"][0]["value"]]
    assert any(sum(len(c["value"]["statuses"]) for e in d["entry"] for c in e["changes"]) > 1 for d in bodies)
    failed = [s for _, s in statuses if s["status"] == "failed"]
    assert failed and all(isinstance(s["errors"][0]["code"], int) for s in failed)
    assert all(re.fullmatch(r"\d{10}", s["timestamp"]) for _, s in statuses)


def test_campaign_events_are_created_edited_paused_and_resumed(sample, validators):
    _, landing = sample
    events = [d for _, d in landing.valid_docs("campaigns", validators)]
    by_kind = defaultdict(set)
    for e in events:
        by_kind[e["event"]].add(e["campaign_id"])
    assert len(by_kind["created"]) == 4 and by_kind["edited"] and by_kind["paused"] and by_kind["resumed"]
    currencies = {e["campaign_id"]: e["currency"] for e in events if e["event"] == "created"}
    assert {"BRL", "MXN"} <= set(currencies.values())
    sends = [d for _, d in landing.valid_docs("sends", validators)]
    assert {d["campaign_id"] for d in sends} <= set(currencies)


def test_rates_are_realistic(larger, validators):
    landing = larger
    reminders = {d["message_id"] for _, d in landing.valid_docs("sends", validators)}
    statuses = _statuses(landing, validators)
    kinds = defaultdict(set)
    for _, s in statuses:
        kinds[s["id"]].add(s["status"])
    failed = sum("failed" in k for k in kinds.values()) / len(reminders)
    delivered = {m for m, k in kinds.items() if k & {"delivered", "read"}}
    read = sum("read" in kinds[m] for m in delivered) / len(delivered)
    clicked = {d["message_id"] for _, d in landing.valid_docs("clicks", validators)}
    clicked |= {m["context"]["id"] for m in _messages(landing, validators) if m["type"] != "text"}
    clicked_rate = len(clicked & delivered) / len(delivered)
    orders = [d for _, d in landing.valid_docs("orders", validators)]
    canceled = len({d["orderId"] for d in orders if d["status"] == "canceled"}) / len({d["orderId"] for d in orders})
    assert 0.03 <= failed <= 0.05
    assert 0.2 <= read <= 0.4
    assert 0.05 <= clicked_rate <= 0.1
    assert 0.01 <= canceled <= 0.06


@pytest.mark.parametrize("kwargs, message", [
    ({"days": 0}, "days"), ({"reminders_per_day": 0}, "reminders_per_day"), ({"seed": -1}, "seed"),
])
def test_bad_arguments_raise_one_line_value_errors(tmp_path, kwargs, message):
    args = {"out": tmp_path, "start": START, "days": 1, "reminders_per_day": 1, "seed": 0, "progress": False} | kwargs
    with pytest.raises(ValueError, match=message) as error:
        generate(**args)
    assert "\n" not in str(error.value)
    assert not any(tmp_path.iterdir())
