"""A whole batch of order records judged at once: pyarrow.json and Arrow compute, with
exactly `records.parse`'s verdicts (docs/industries.md, "Judging a batch at once").

The vectorized path only *accepts*: a record it can prove `parse` would store as it would
store it (UTF-8, one JSON object on one line without escapes or control characters, ids as
non-empty strings, an amount of whole cents below the cap, a UTC ISO time of the accepted
hours, order lines absent or in `json.dumps`'s own form). Every other record (every
rejection among them) goes through `parse` itself, so reasons stay exactly today's.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.json as pj

from assets.industries.records import RawRecord, parse
from assets.industries.records_columns import (
    cents,
    flags,
    ids_ok,
    order_lines,
    times,
)

FIELDS = pa.schema([("order_id", pa.string()), ("customer_id", pa.string()),
                    ("amount", pa.float64()), ("timestamp", pa.string()),
                    ("order_lines", pa.list_(pa.struct([
                        ("product_id", pa.string()), ("volume", pa.int64()),
                        ("price", pa.float64())])))])
EMPTY = np.array([], np.int64)
CHUNK = 1 << 14  # records read by one pyarrow.json call (a refused one costs this much)
LEAF = 64  # a failing chunk this small is judged record by record
# NUL, CR, escapes, a second line, or a field of another type than FIELDS (pyarrow would
# refuse the whole chunk): such records go to `parse`.
ODD = (r'[\x00\r\\]|\n.|"(?:order_id|customer_id|timestamp)": [^"]|"amount": [^-0-9]'
       r'|"order_lines": [^\[]')


@dataclass
class Judged:
    """Accepted rows as a table (`idx` = position in the batch) and the rows `parse` made
    for the others (each with its `idx`)."""

    table: pa.Table
    rows: list[dict[str, Any]]


def judge(records: list[RawRecord], now: datetime) -> Judged:
    """Every record of the batch accepted in bulk where provably identical, else parsed."""
    values = lines_array([r.value.rstrip(b"\r\n") for r in records])  # file lines: their \n
    plain = _plain(records, values)
    tables: list[pa.Table] = []
    rest = np.flatnonzero(~plain).tolist()
    candidates = np.flatnonzero(plain)
    for start in range(0, len(candidates), CHUNK):
        _bisect(values, candidates[start:start + CHUNK], now, tables, rest)
    table = pa.concat_tables(tables) if tables else _accept(values, EMPTY, None, now)[0]
    rows = []
    for i in sorted(rest):
        row = parse(records[i], now)
        row["idx"] = i
        rows.append(row)
    return Judged(table, rows)


def lines_array(values: list[bytes]) -> pa.Array:
    """The values as one binary array over one buffer, each value with its `\\n` (so any
    run of them is JSON Lines text as it stands)."""
    data = b"\n".join(values) + b"\n"
    offsets = np.zeros(len(values) + 1, dtype=np.int64)
    np.cumsum(np.fromiter(map(len, values), np.int64, len(values)) + 1, out=offsets[1:])
    return pa.Array.from_buffers(pa.large_binary(), len(values),
                                 [None, pa.py_buffer(offsets), pa.py_buffer(data)])


def _plain(records: list[RawRecord], values: pa.Array) -> np.ndarray:
    """Records the bulk path may read: UTF-8, one `{...}` line, no escapes, no NUL or CR."""
    ok = pc.and_(pc.starts_with(values, "{"), pc.ends_with(values, "}\n"))
    ok = pc.and_(ok, pc.invert(pc.match_substring_regex(values, ODD)))
    mask = flags(ok)
    if any(r.too_long for r in records):
        mask &= np.array([not r.too_long for r in records], dtype=bool)
    try:
        values.buffers()[2].to_pybytes().decode("utf-8")
    except UnicodeDecodeError:
        for i, r in enumerate(records):
            try:
                r.value.decode("utf-8")
            except UnicodeDecodeError:
                mask[i] = False
    return mask


def _bisect(values: pa.Array, idx: np.ndarray, now: datetime, tables: list[pa.Table],
            rest: list[int]) -> None:
    """Read `idx` in bulk; a chunk pyarrow refuses is halved until it is LEAF small."""
    if not len(idx):
        return
    try:
        table = _read(values, idx)
    except pa.ArrowInvalid:
        table = None
    if table is None and len(idx) > LEAF:
        half = len(idx) // 2
        _bisect(values, idx[:half], now, tables, rest)
        _bisect(values, idx[half:], now, tables, rest)
        return
    if table is None:
        rest.extend(idx.tolist())
        return
    accepted, refused = _accept(values, idx, table, now)
    tables.append(accepted)
    rest.extend(refused)


def _read(values: pa.Array, idx: np.ndarray) -> pa.Table | None:
    """The top-level fields of records `idx`, one row each (None when the count differs)."""
    chunk = values if len(idx) == len(values) else values.take(pa.array(idx))
    offsets = np.frombuffer(chunk.buffers()[1], np.int64, len(chunk) + 1, chunk.offset * 8)
    data = chunk.buffers()[2][int(offsets[0]):int(offsets[-1])]
    table = pj.read_json(pa.BufferReader(data), parse_options=pj.ParseOptions(
        explicit_schema=FIELDS, unexpected_field_behavior="ignore"))
    return table if table.num_rows == len(idx) else None


def _accept(values: pa.Array, idx: np.ndarray, table: pa.Table | None,
            now: datetime) -> tuple[pa.Table, list[int]]:
    """(rows of the records that pass every rule, indexes of the others)."""
    raw = values if len(idx) == len(values) else values.take(pa.array(idx, pa.int64()))
    raw = raw.view(pa.large_string())  # plain records: UTF-8 checked
    if table is None:
        table = FIELDS.empty_table()
    amount, amount_ok = cents(table.column("amount"))
    ts, hour, ts_ok = times(table.column("timestamp"), now)
    lines, lines_ok = order_lines(raw, table.column("order_lines"))
    ok = pc.and_(pc.and_(ids_ok(table), amount_ok), pc.and_(ts_ok, lines_ok))
    keep = flags(ok)
    out = pa.table({
        "order_id": table.column("order_id"), "customer_id": table.column("customer_id"),
        "amount": amount, "order_ts": ts, "hour": hour, "order_lines": lines,
        "idx": pa.array(idx, pa.int64()),
    }).filter(pa.array(keep))
    return out, idx[~keep].tolist()
