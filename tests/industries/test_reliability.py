"""Issue 15, industries: a poison order is a rejected row and the stream goes on (file stream
and real Kafka); a replaced order file is read again from its start; a BOM is accepted."""

from __future__ import annotations

import os
import uuid
from datetime import UTC, datetime, timedelta

import dagster as dg
import pytest

from assets.industries.batches import order_batches
from assets.industries.common import DOMAIN
from assets.industries.stream import load_state
from cli.runner import drain_sensor
from resources import KafkaResource
from sensors.industries import order_stream_sensor
from tests.industries.conftest import (
    build_hours,
    committed_offset,
    ingest,
    order_line,
    query,
    write_lines,
)

H1 = datetime.now(UTC).replace(minute=0, second=0, microsecond=0) - timedelta(hours=3)
TS = H1.isoformat().replace("+00:00", "Z")


def _poison(order_id: str, **fields: str) -> str:
    """An order line with raw JSON text for some fields (NaN, escapes, huge numbers)."""
    values = {"order_id": f'"{order_id}"', "customer_id": '"C1"', "amount": "1",
              "timestamp": f'"{TS}"', **fields}
    return "{" + ", ".join(f'"{k}": {v}' for k, v in values.items()) + "}"


# (raw line, field its reason must name)
POISON = [
    (_poison("p1", amount="NaN"), "amount"),
    (_poison("p2", amount="1e25"), "amount"),
    (_poison("p3", amount="-Infinity"), "amount"),
    (_poison("p4", customer_id='"\\ud800"'), "customer_id"),
    (_poison("\\udc80"), "order_id"),
    (_poison("p6", customer_id='"   "'), "customer_id"),
    ('{"order_id": "p7", "x": ' + "[" * 100_000, "record"),
]


def _orders(res: dict) -> list[tuple]:
    build_hours(res, H1, H1)
    return query(res, "SELECT order_id, amount FROM industries.orders ORDER BY 1")


def _reasons(res: dict) -> list[str]:
    return [r[0] for r in query(
        res, "SELECT reason FROM industries.rejected_orders ORDER BY line_number")]


def test_poison_orders_in_a_file_are_rejected_and_the_stream_goes_on(res, tmp_path):
    path = tmp_path / "landing/orders/live.jsonl"
    write_lines(path, [order_line("a", "C1", 10, H1), *(p for p, _ in POISON),
                       _poison("b", amount="999999999999.99")])  # the largest amount kept
    assert ingest(res).success
    rejected = query(res, "SELECT source_file, line_number, reason, raw "
                          "FROM industries.rejected_orders ORDER BY line_number")
    assert [r[:2] for r in rejected] == [("live.jsonl", n) for n in range(2, 2 + len(POISON))]
    for (_, field), (_, _, reason, raw) in zip(POISON, rejected, strict=True):
        assert reason.startswith(f"{field}: ") and raw
    assert load_state(res["paths"].lake_location(DOMAIN)).files["live.jsonl"][1] == len(POISON) + 2
    # The next good order after the poison is ingested by the next batch.
    write_lines(path, [_poison("c", amount="-5")])  # a refund
    assert ingest(res).success
    assert [(o, str(a)) for o, a in _orders(res)] == [
        ("a", "10.00"), ("b", "999999999999.99"), ("c", "-5.00")]


@pytest.mark.integration
def test_poison_orders_on_kafka_are_rejected_and_offsets_advance(
    kafka_bootstrap, res, instance
):
    kafka = KafkaResource(bootstrap_servers=kafka_bootstrap, topic=f"orders-{uuid.uuid4().hex}")
    res = {**res, "kafka": kafka}
    defs = dg.Definitions(assets=[order_batches], sensors=[order_stream_sensor], resources=res)
    values = [order_line("k1", "C1", 10, H1), *(p for p, _ in POISON),
              order_line("k2", "C1", 5, H1)]
    _produce(kafka, values)
    assert drain_sensor(defs, "industries_order_stream_sensor", instance)[0] == 1
    lake = res["paths"].lake_location(DOMAIN)
    assert load_state(lake).kafka[kafka.topic] == {"0": len(values)}
    assert committed_offset(kafka) == len(values)
    reasons = _reasons(res)
    assert [r.split(":")[0] for r in reasons] == [field for _, field in POISON]
    _produce(kafka, [order_line("k3", "C2", 1, H1)])
    assert drain_sensor(defs, "industries_order_stream_sensor", instance)[0] == 1
    assert load_state(lake).kafka[kafka.topic] == {"0": len(values) + 1}
    assert _orders(res) == [("k1", 10), ("k2", 5), ("k3", 1)]


def _produce(kafka: KafkaResource, values: list[str]) -> None:
    producer = kafka.producer()
    for value in values:  # bytes as a producer would send them (the escapes stay escapes)
        producer.produce(kafka.topic, value=value.encode())
    producer.flush(30)


def _rewrite_in_place(path, lines: list[str]) -> None:
    """Rewrite a file's bytes in place (same inode), its mtime a second later."""
    before = path.stat()
    with open(path, "r+") as fh:
        fh.truncate(0)
        fh.write("".join(line + "\n" for line in lines))
    later = before.st_mtime_ns + 1_000_000_000
    os.utime(path, ns=(later, later))
    assert path.stat().st_ino == before.st_ino


def test_file_replaced_in_place_is_read_from_its_start(res, tmp_path):
    path = tmp_path / "landing/orders/day.jsonl"
    write_lines(path, [order_line(f"a{i}", "C1", 1, H1) for i in range(3)])
    assert ingest(res).success
    # Replaced by a longer file: two orders already ingested, and four new ones.
    _rewrite_in_place(path, [order_line("a0", "C1", 1, H1), order_line("a2", "C1", 1, H1)]
                      + [order_line(f"new{i}", "C1", 2, H1) for i in range(4)])
    assert ingest(res).success
    assert _reasons(res) == []  # never read from the middle of a line
    got = _orders(res)
    assert [o for o, _ in got] == ["a0", "a1", "a2", "new0", "new1", "new2", "new3"]
    assert load_state(res["paths"].lake_location(DOMAIN)).files["day.jsonl"][:2] == [
        path.stat().st_size, 6]


def test_same_size_replacement_is_seen_by_the_sensor_and_read(res, tmp_path, instance):
    path = tmp_path / "landing/orders/day.jsonl"
    write_lines(path, [order_line(f"x{i}", "C1", 1, H1) for i in range(3)])
    defs = dg.Definitions(assets=[order_batches], sensors=[order_stream_sensor], resources=res)
    runs, cursor = drain_sensor(defs, "industries_order_stream_sensor", instance)
    assert runs == 1
    size = path.stat().st_size
    _rewrite_in_place(path, [order_line(f"y{i}", "C2", 1, H1) for i in range(3)])
    assert path.stat().st_size == size
    assert drain_sensor(defs, "industries_order_stream_sensor", instance, cursor)[0] == 1
    assert [o for o, _ in _orders(res)] == ["x0", "x1", "x2", "y0", "y1", "y2"]
    # Nothing changed since: the sensor asks for nothing more.
    assert drain_sensor(defs, "industries_order_stream_sensor", instance)[0] == 0


def test_utf8_bom_before_the_first_order_is_accepted(res, tmp_path):
    path = tmp_path / "landing/orders/excel.jsonl"
    path.parent.mkdir(parents=True)
    path.write_bytes(b"\xef\xbb\xbf" + (order_line("a", "C1", 3, H1) + "\n").encode())
    write_lines(path, [order_line("b", "C1", 4, H1)])
    assert ingest(res).success
    assert _reasons(res) == []
    assert _orders(res) == [("a", 3), ("b", 4)]
