"""Vectorised text: numpy StringDType arrays built column by column, never a loop per value.

Only catalog strings (names, texts) can hold characters that JSON escapes; they are escaped once
with `json.dumps` (`lookup`). Everything else generated here (ids, digits, dates) is plain ASCII
that needs no escaping.
"""

from __future__ import annotations

import base64
import json
from collections.abc import Sequence

import numpy as np
from numpy.dtypes import StringDType

from orchestration.generate.rates import DAY_MS

S = StringDType()
Part = str | np.ndarray

CROCKFORD = np.frombuffer(b"0123456789ABCDEFGHJKMNPQRSTVWXYZ", dtype=np.uint8)
HEX_LOWER = np.frombuffer(b"0123456789abcdef", dtype=np.uint8)
HEX_UPPER = np.frombuffer(b"0123456789ABCDEF", dtype=np.uint8)
_DIGITS = np.frombuffer(b"0123456789", dtype=np.uint8)


def cat(*parts: Part) -> np.ndarray:
    """Concatenate string scalars and equal-length arrays element-wise (a balanced tree of
    additions, so long rows are copied log(parts) times rather than once per part)."""
    merged: list[Part] = []
    for part in parts:
        if isinstance(part, str):
            if merged and isinstance(merged[-1], str):
                merged[-1] += part
            elif part:
                merged.append(part)
        else:
            merged.append(part if part.dtype == S else part.astype(S))
    if not any(isinstance(p, np.ndarray) for p in merged):
        raise ValueError("cat() needs at least one array")
    while len(merged) > 1:
        paired = [np.strings.add(merged[i], merged[i + 1]) if not (isinstance(merged[i], str) and isinstance(merged[i + 1], str))
                  else merged[i] + merged[i + 1]
                  for i in range(0, len(merged) - 1, 2)]
        if len(merged) % 2:
            paired.append(merged[-1])
        merged = paired
    return merged[0]


def when(mask: np.ndarray, yes: Part, no: Part = "") -> np.ndarray:
    """Element-wise choice between two string parts."""
    return np.where(mask, yes, no).astype(S)


def num(values: np.ndarray) -> np.ndarray:
    """Integers as decimal text."""
    return np.asarray(values, dtype=np.int64).astype(S)


def json_string(value: str) -> str:
    """One JSON string literal, quotes included, UTF-8 kept as is."""
    return json.dumps(value, ensure_ascii=False)


def lookup(codes: np.ndarray, values: Sequence[str], quote: bool = True) -> np.ndarray:
    """values[codes], each a JSON string literal (quote=True) or raw text (quote=False)."""
    table = np.array([json_string(v) if quote else v for v in values], dtype=S)
    return table[np.asarray(codes, dtype=np.intp)]


def from_bytes_matrix(matrix: np.ndarray) -> np.ndarray:
    """Rows of an (n, width) uint8 matrix of ASCII codes as strings."""
    matrix = np.ascontiguousarray(matrix, dtype=np.uint8)
    n, width = matrix.shape
    if n == 0:
        return np.array([], dtype=S)
    return matrix.view(f"S{width}").reshape(n).astype(S)


def radix(values: np.ndarray, width: int, alphabet: np.ndarray) -> np.ndarray:
    """(n, width) matrix of the digits of non-negative integers in base len(alphabet), zero-padded
    (the most significant digits are dropped if the number is longer)."""
    values = np.asarray(values, dtype=np.uint64).copy()
    base = np.uint64(len(alphabet))
    out = np.empty((values.shape[0], width), dtype=np.uint8)
    for position in range(width - 1, -1, -1):
        out[:, position] = alphabet[(values % base).astype(np.intp)]
        values //= base
    return out


def digits(values: np.ndarray, width: int) -> np.ndarray:
    return radix(values, width, _DIGITS)


def padded(values: np.ndarray, width: int) -> np.ndarray:
    """Zero-padded decimal text of a fixed width."""
    return from_bytes_matrix(digits(values, width))


def random_hex(rng: np.random.Generator, n: int, nbytes: int = 16) -> np.ndarray:
    """n random lower-case hex strings of 2*nbytes characters."""
    raw = rng.integers(0, 256, size=(n, nbytes), dtype=np.uint8)
    return hex_of(raw)


def hex_of(raw: np.ndarray) -> np.ndarray:
    n, nbytes = raw.shape
    if n == 0:
        return np.array([], dtype=S)
    text = np.ascontiguousarray(raw).tobytes().hex().encode("ascii")
    return np.frombuffer(text, dtype=f"S{2 * nbytes}").astype(S)


def uuid4(rng: np.random.Generator, n: int) -> np.ndarray:
    """n random version-4 UUIDs in canonical text form."""
    raw = rng.integers(0, 256, size=(n, 16), dtype=np.uint8)
    raw[:, 6] = (raw[:, 6] & 0x0F) | 0x40
    raw[:, 8] = (raw[:, 8] & 0x3F) | 0x80
    return hyphenate(hex_of(raw))


def hyphenate(hex32: np.ndarray) -> np.ndarray:
    """32 hex digits -> 8-4-4-4-12."""
    if hex32.shape[0] == 0:
        return hex32
    flat = np.frombuffer(hex32.astype("S32").tobytes(), dtype=np.uint8).reshape(-1, 32)
    out = np.full((flat.shape[0], 36), ord("-"), dtype=np.uint8)
    out[:, 0:8] = flat[:, 0:8]
    out[:, 9:13] = flat[:, 8:12]
    out[:, 14:18] = flat[:, 12:16]
    out[:, 19:23] = flat[:, 16:20]
    out[:, 24:36] = flat[:, 20:32]
    return from_bytes_matrix(out)


def base64_records(records: np.ndarray) -> np.ndarray:
    """Standard base64 of each row of an (n, width) uint8 matrix; width must be a multiple of 3,
    so that the encoding of the whole buffer splits into the encodings of its rows."""
    n, width = records.shape
    if width % 3:
        raise ValueError("record width must be a multiple of 3")
    if n == 0:
        return np.array([], dtype=S)
    encoded = base64.b64encode(np.ascontiguousarray(records).tobytes())
    return np.frombuffer(encoded, dtype=f"S{width // 3 * 4}").astype(S)


# ---------------------------------------------------------------------------------------------
# Instants (int64 milliseconds since the Unix epoch, UTC)
# ---------------------------------------------------------------------------------------------

def _civil(ms: np.ndarray) -> tuple[np.ndarray, ...]:
    ms = np.asarray(ms, dtype=np.int64)
    days = ms // DAY_MS
    in_day = ms - days * DAY_MS
    day64 = days.astype("datetime64[D]")
    year = day64.astype("datetime64[Y]").astype(np.int64) + 1970
    month_start = day64.astype("datetime64[M]")
    month = month_start.astype(np.int64) % 12 + 1
    dom = (day64 - month_start.astype("datetime64[D]")).astype(np.int64) + 1
    hour = in_day // 3_600_000
    minute = in_day // 60_000 % 60
    second = in_day // 1000 % 60
    milli = in_day % 1000
    return year, month, dom, hour, minute, second, milli


def _iso_matrix(ms: np.ndarray, with_millis: bool) -> np.ndarray:
    year, month, dom, hour, minute, second, milli = _civil(ms)
    n = year.shape[0]
    width = 23 if with_millis else 19
    out = np.empty((n, width), dtype=np.uint8)
    out[:, 0:4] = digits(year, 4)
    out[:, 4] = ord("-")
    out[:, 5:7] = digits(month, 2)
    out[:, 7] = ord("-")
    out[:, 8:10] = digits(dom, 2)
    out[:, 10] = ord("T")
    out[:, 11:13] = digits(hour, 2)
    out[:, 13] = ord(":")
    out[:, 14:16] = digits(minute, 2)
    out[:, 16] = ord(":")
    out[:, 17:19] = digits(second, 2)
    if with_millis:
        out[:, 19] = ord(".")
        out[:, 20:23] = digits(milli, 3)
    return out


def iso_utc(ms: np.ndarray, millis: bool = True) -> np.ndarray:
    """2024-06-25T11:58:05.514Z (or ...:05Z without millis)."""
    return np.strings.add(from_bytes_matrix(_iso_matrix(ms, millis)), "Z")


def iso_local_seconds(ms: np.ndarray) -> np.ndarray:
    """2024-06-25T11:58:05, no zone: the caller adds fraction and offset."""
    return from_bytes_matrix(_iso_matrix(ms, False))


def unix_seconds(ms: np.ndarray) -> np.ndarray:
    return num(np.asarray(ms, dtype=np.int64) // 1000)


def offset_text(minutes: int) -> str:
    sign = "+" if minutes >= 0 else "-"
    return f"{sign}{abs(minutes) // 60:02d}:{abs(minutes) % 60:02d}"


def vtex_date(ms: np.ndarray, ticks: np.ndarray, fraction_digits: np.ndarray,
              offset_minutes: np.ndarray, offsets: Sequence[int]) -> np.ndarray:
    """VTEX dates: local wall time at the given offset, 0 to 7 fractional digits (truncated),
    then the offset: 2024-06-25T14:03:11.1234567+00:00 or 2024-06-25T11:03:11-03:00.
    `ticks` are the 100 ns units below the millisecond (0-9999); `offset_minutes` indexes
    `offsets`."""
    ms = np.asarray(ms, dtype=np.int64)
    shift = np.asarray(offsets, dtype=np.int64)[offset_minutes] * 60_000
    local = ms + shift
    seven = (local % 1000) * 10_000 + ticks
    fraction = np.strings.slice(padded(seven, 7), 0, fraction_digits)
    dot = when(fraction_digits > 0, ".")
    return cat(iso_local_seconds(local), dot, fraction,
               lookup(offset_minutes, [offset_text(o) for o in offsets], quote=False))


def scramble32(unique: np.ndarray) -> np.ndarray:
    """A bijection of 32-bit integers that looks random: distinct in, distinct out."""
    x = np.asarray(unique, dtype=np.uint64) & np.uint64(0xFFFFFFFF)
    return (x * np.uint64(0x9E3779B1) + np.uint64(0x7F4A7C15)) & np.uint64(0xFFFFFFFF)


def ulid(ms: np.ndarray, unique: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """26-character ULIDs (Crockford base32): 48-bit time, then 80 bits of which the first 32
    are `unique` (distinct per row), so ids never collide."""
    n = np.asarray(ms).shape[0]
    out = np.empty((n, 26), dtype=np.uint8)
    out[:, 0:10] = radix(np.asarray(ms, dtype=np.uint64), 10, CROCKFORD)
    high = (scramble32(unique) << np.uint64(8)) | rng.integers(0, 256, n, dtype=np.uint64)
    out[:, 10:18] = radix(high, 8, CROCKFORD)
    out[:, 18:26] = radix(rng.integers(0, 1 << 40, n, dtype=np.uint64), 8, CROCKFORD)
    return from_bytes_matrix(out)


def assemble(heads: np.ndarray, elements: np.ndarray, element_line: np.ndarray,
             tails: np.ndarray) -> np.ndarray:
    """Pieces of lines with a nested list: line i is heads[i], then its elements in order, then
    tails[i]. `element_line` (non-decreasing) names each element's line; separators belong to
    the elements."""
    n_lines = heads.shape[0]
    counts = np.bincount(element_line, minlength=n_lines)
    before = np.cumsum(counts) - counts
    head_pos = 2 * np.arange(n_lines) + before
    out = np.empty(2 * n_lines + elements.shape[0], dtype=S)
    out[head_pos] = heads
    out[head_pos + 1 + counts] = tails
    if elements.shape[0]:
        rank = np.arange(elements.shape[0]) - before[element_line]
        out[head_pos[element_line] + 1 + rank] = elements
    return out


def ranges(starts: np.ndarray, lengths: np.ndarray) -> np.ndarray:
    """Concatenation of arange(s, s + l) for each (s, l)."""
    starts = np.asarray(starts, dtype=np.int64)
    lengths = np.asarray(lengths, dtype=np.int64)
    total = int(lengths.sum())
    if total == 0:
        return np.zeros(0, dtype=np.int64)
    ends = np.cumsum(lengths)
    return np.repeat(starts - (ends - lengths), lengths) + np.arange(total)


def rank_within(groups: np.ndarray) -> np.ndarray:
    """0-based position of each row within its run of equal values (groups sorted)."""
    n = groups.shape[0]
    if n == 0:
        return np.zeros(0, dtype=np.int64)
    new = np.ones(n, dtype=bool)
    new[1:] = groups[1:] != groups[:-1]
    starts = np.flatnonzero(new)
    return np.arange(n) - np.repeat(starts, np.diff(np.append(starts, n)))
