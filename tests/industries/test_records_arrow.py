"""The batch judged at once (`records_arrow`) equals `records.parse` record by record: same
rows, same rejections with the same reasons, same row groups in the batch file."""

from __future__ import annotations

import json
import os
from datetime import UTC, datetime, timedelta
from decimal import Decimal

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from assets.industries.batch_table import row_groups
from assets.industries.records import RawRecord, parse
from assets.industries.records_arrow import judge

NOW = datetime(2025, 6, 1, 12, 30, tzinfo=UTC)
GOOD = {"order_id": "o1", "customer_id": "C1",
        "order_lines": [{"product_id": "P1", "volume": 2, "price": 3.5}],
        "amount": 7.0, "timestamp": "2025-06-01T10:00:00.000000Z"}


def _with(**changes) -> bytes:
    obj = {**GOOD, **changes}
    return json.dumps({k: v for k, v in obj.items() if v is not ...}).encode()


MESSY = [
    _with(), _with(order_id="o2", amount=12), _with(order_lines=...), _with(order_lines=[]),
    _with(order_lines=None), _with(order_lines=[{"product_id": "P", "volume": 1}]),
    _with(order_lines=[{"product_id": "P\u00e9", "volume": 1, "price": 2.0}]),
    _with(order_lines=[{"volume": 1, "product_id": "P", "price": 2.0}]),
    _with(order_lines=[{"product_id": "P", "volume": -0, "price": 1e-05}]),
    b'{"order_id": "o3", "customer_id": "C1", "order_lines": [], "amount": 1, '
    b'"timestamp": "2025-06-01T10:00:00Z", "order_lines": []}',
    b'{"order_id":"o4","customer_id":"C1","amount":1.5,"timestamp":"2025-06-01T10:00:00Z"}',
    b"", b"   ", b"not json", b"[1, 2]", b'{"order_id": "o5"', b"\xff\xfe", b"\xef\xbb\xbf{}",
    _with(order_id=...), _with(order_id=""), _with(order_id=17), _with(order_id="\ud800"),
    _with(customer_id=" C1 "), _with(customer_id="  "), _with(customer_id=["x"]),
    _with(amount=...), _with(amount=None), _with(amount=True), _with(amount="12.50"),
    _with(amount="abc"), _with(amount=float("nan")), _with(amount=1e12), _with(amount=-0.0),
    _with(amount=1.005), _with(amount=999999999999.99), _with(amount=-5.25),
    _with(timestamp=...), _with(timestamp=12), _with(timestamp="yesterday"),
    _with(timestamp="2025-02-30T00:00:00Z"), _with(timestamp="2025-06-01T24:00:00Z"),
    _with(timestamp="2025-06-01T23:59:60Z"), _with(timestamp="2023-12-31T23:59:59Z"),
    _with(timestamp="2025-06-01T13:00:00Z"), _with(timestamp="2025-06-01T12:59:59.999Z"),
    _with(timestamp="2025-06-01T10:00:00+02:00"), _with(timestamp="2025-06-01T10:00:00"),
    _with(timestamp="2025-06-01 10:00:00Z"), _with(timestamp="2025-06-01T10:00:00.5Z"),
    b'{"order_id": "o6", "customer_id": "C1", "amount": 1, "timestamp": '
    b'"2025-06-01T10:00:00Z", "x": "a\\u0000b"}',
    b'{"order_id": "o7", "customer_id": "C1", "amount": 1, "timestamp": '
    b'"2025-06-01T10:00:00Z"}{"order_id": "o8"}',
    b'{"order_id": "o9", "customer_id": "C1", "amount": 1, "timestamp": '
    b'"2025-06-01T10:00:00Z", "meta": {"order_lines": [], "order_id": 3}}',
    b'{"order_id": "o10",\n "customer_id": "C1", "amount": 1, "timestamp": '
    b'"2025-06-01T10:00:00Z"}',
    b"[" * 5000, b'{"a": ' + b"1" * 5000 + b"}", _with(order_id="\t"), _with(extra=[1, {}]),
]


def _old(records: list[RawRecord]) -> list[dict]:
    return [parse(r, NOW) for r in records]


def _new(records: list[RawRecord]) -> list[dict]:
    judged = judge(records, NOW)
    out: dict[int, dict] = {row.pop("idx"): row for row in judged.rows}
    for row in judged.table.to_pylist():
        i = row.pop("idx")
        out[i] = {"source": records[i].source, "line": records[i].line, **row}
    assert sorted(out) == list(range(len(records)))
    return [out[i] for i in range(len(records))]


def _records(values: list[bytes]) -> list[RawRecord]:
    return [RawRecord(v, "kafka:t/0", i) for i, v in enumerate(values)]


def _good(i: int) -> bytes:
    lines = [{"product_id": f"P{i % 7}", "volume": i % 5, "price": round(i * 1.37 % 90, 2)}]
    return _with(order_id=f"g{i}", customer_id=f"C{i % 3}", order_lines=lines[: i % 2 + 1],
                 amount=round(i * 2.31 % 500, 2),
                 timestamp=f"2025-06-01T{i % 13:02d}:{i % 60:02d}:00.{i % 1000:03d}Z")


def test_messy_batch_judged_as_record_by_record() -> None:
    values = [v for i, bad in enumerate(MESSY * 2)
              for v in [bad, *(_good(i * 100 + j) for j in range(100))]]
    records = _records(values)  # long enough to be read in chunks, bisected where refused
    assert _new(records) == _old(records)
    judged = judge(records, NOW)
    assert judged.table.num_rows > len(records) // 2  # most taken in bulk
    assert len(judged.rows) >= len(MESSY) * 2


def test_row_groups_are_the_ones_the_rows_made() -> None:
    values = [_with(order_id=f"o{i}", timestamp=f"2025-06-01T{h:02d}:{m:02d}:00Z")
              for i, (h, m) in enumerate([(10, 5), (9, 0), (10, 5), (11, 0), (9, 59)])]
    records = _records([*values, b"bad", _with(amount="x")])
    groups, hours, rejected = row_groups(judge(records, NOW), records, 7)
    old = _old(records)
    good = sorted((r for r in old if not r.get("reject_reason")), key=lambda r: r["order_ts"])
    assert [t.column("order_id").to_pylist() for t in groups] == [
        ["o1", "o4"], ["o0", "o2"], ["o3"], [None, None]]
    assert [r["order_id"] for r in good] == ["o1", "o4", "o0", "o2", "o3"]
    assert hours == ["2025-06-01-09:00", "2025-06-01-10:00", "2025-06-01-11:00"]
    assert rejected == 2
    assert groups[-1].column("reject_reason").to_pylist() == [
        r["reject_reason"] for r in old if r.get("reject_reason")]
    assert {t.column("batch_seq").to_pylist()[0] for t in groups} == {7}
    assert groups[0].column("amount").to_pylist() == [Decimal("7.00")] * 2


_times = st.one_of(
    st.datetimes(datetime(2023, 12, 31), datetime(2025, 6, 1, 14)).map(
        lambda d: d.replace(microsecond=0).isoformat() + "Z"),
    st.datetimes(datetime(2023, 12, 31), datetime(2025, 6, 1, 14)).map(
        lambda d: d.isoformat() + "Z"),
    st.sampled_from(["2025-06-01T10:00:00.123Z", "2025-06-01T10:00:00+00:00",
                     "2025-02-29T10:00:00Z", "2024-02-29T10:00:00.000000Z"]),
    st.text(max_size=30),
)
_amounts = st.one_of(
    st.integers(-10**13, 10**13), st.floats(allow_nan=True, allow_infinity=True),
    st.decimals(places=2, min_value=-10**12, max_value=10**12).map(float),
    st.decimals(places=2, min_value=-10**6, max_value=10**6).map(str),
    st.none(), st.booleans(),
)
_ids = st.one_of(st.text(max_size=8), st.integers(), st.none(), st.sampled_from(["A1", " B "]))
_prices = st.one_of(st.floats(-1e6, 1e6), st.integers(-10**6, 10**6),
                    st.decimals(places=2, min_value=-10**5, max_value=10**5).map(float))
_line = st.fixed_dictionaries({"product_id": st.one_of(st.text(max_size=6), st.just("P1")),
                               "volume": st.integers(-5, 10**20), "price": _prices})
_order = st.fixed_dictionaries(
    {}, optional={"order_id": _ids, "customer_id": _ids, "amount": _amounts,
                  "timestamp": _times, "order_lines": st.one_of(st.lists(_line, max_size=3),
                                                                st.none(), st.integers())})


def _encode(obj: dict, compact: bool) -> bytes:
    return json.dumps(obj, separators=(",", ":") if compact else None).encode()


@settings(max_examples=int(os.environ.get("HYPOTHESIS_EXAMPLES", "150")), deadline=None,
          suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(st.tuples(_order, st.booleans(), st.sampled_from([b"", b"\n", b"x"])),
                min_size=1, max_size=40))
def test_any_batch_judged_as_record_by_record(batch) -> None:
    values = []
    for i, (obj, compact, tail) in enumerate(batch):
        text = _encode(obj, compact)
        values += [text if tail == b"" else text + tail, _good(i), _good(i + 1000)]
    records = _records(values)
    assert _new(records) == _old(records)


def test_an_empty_batch() -> None:
    assert _new([]) == []
    assert row_groups(judge([], NOW), [], 1) == ([], [], 0)


def test_now_bounds_the_hours() -> None:
    later = NOW + timedelta(hours=1)
    records = _records([_with(timestamp="2025-06-01T13:10:00Z")])
    assert judge(records, NOW).rows[0]["reject_reason"].endswith("is in the future")
    assert judge(records, later).table.num_rows == 1
