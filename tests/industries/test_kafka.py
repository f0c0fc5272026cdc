"""Against the real Kafka broker: sensor → run consumes; a crash before commit loses nothing."""

from __future__ import annotations

import json
import uuid
from datetime import UTC, datetime, timedelta

import dagster as dg
import pytest

from assets.industries.batches import order_batches
from assets.industries.common import DOMAIN
from assets.industries.stream import batch_files, load_state
from cli.runner import drain_sensor, tick_sensor
from resources import KafkaResource
from sensors.industries import order_stream_sensor
from tests.industries.conftest import build_hours, committed_offset, order_line, query

pytestmark = pytest.mark.integration

BASE = datetime.now(UTC).replace(minute=0, second=0, microsecond=0) - timedelta(hours=3)


def _produce(kafka: KafkaResource, ids: list[int]) -> None:
    producer = kafka.producer()
    for i in ids:
        value = order_line(f"k{i}", f"C{i % 4}", 1.0 + i, BASE + timedelta(minutes=i % 120))
        producer.produce(kafka.topic, key=f"k{i}".encode(), value=value.encode())
    producer.flush(30)


def test_sensor_consumes_and_crash_before_commit_counts_once(kafka_bootstrap, res, instance):
    kafka = KafkaResource(bootstrap_servers=kafka_bootstrap, topic=f"orders-{uuid.uuid4().hex}")
    res = {**res, "kafka": kafka}
    defs = dg.Definitions(assets=[order_batches], sensors=[order_stream_sensor], resources=res)
    lake = res["paths"].lake_location(DOMAIN)

    _produce(kafka, list(range(40)) + [3, 7, 11])  # at-least-once: three redeliveries
    runs, cursor = drain_sensor(defs, "industries_order_stream_sensor", instance)
    assert runs == 1
    assert load_state(lake).kafka[kafka.topic] == {"0": 43}
    assert committed_offset(kafka) == 43  # committed after the batch was durable

    # The next batch "crashes" after its file is durable and before the commit.
    _produce(kafka, list(range(40, 60)))
    reqs, _ = tick_sensor(defs, "industries_order_stream_sensor", instance, cursor)
    assert len(reqs) == 1
    crashed = dg.materialize(
        [order_batches], resources=res, instance=instance, raise_on_error=False,
        run_config={"ops": {"industries__order_batches": {"config": {"crash_after_write": True}}}},
    )
    assert not crashed.success
    assert committed_offset(kafka) == 43  # Kafka never heard of batch 2 ...
    assert load_state(lake).kafka[kafka.topic] == {"0": 63}  # ... but the lake holds it

    # Restart: more orders, plus a redelivery of one already stored. The sensor sees lag
    # from the stored offsets, the run resumes there and commits.
    _produce(kafka, list(range(60, 70)) + [45])
    runs, _ = drain_sensor(defs, "industries_order_stream_sensor", instance)
    assert runs == 1
    assert committed_offset(kafka) == 74
    files = [lake.path(rel) for _, rel in batch_files(lake)]
    assert len(files) == 3
    delivered = query(res, "SELECT count(*) FROM read_parquet(?)", [files])[0][0]
    assert delivered == 74  # every message landed exactly once in the lake

    build_hours(res, BASE, BASE + timedelta(hours=2))
    got = query(res, "SELECT count(*), count(DISTINCT order_id), sum(amount) "
                     "FROM industries.orders")[0]
    assert got[0] == got[1] == 70
    assert float(got[2]) == sum(1.0 + i for i in range(70))
    assert query(res, "SELECT sum(order_count) FROM industries.customer_hourly")[0][0] == 70


def test_sensor_skips_without_lag(kafka_bootstrap, res, instance):
    kafka = KafkaResource(bootstrap_servers=kafka_bootstrap, topic=f"orders-{uuid.uuid4().hex}")
    res = {**res, "kafka": kafka}
    _produce(kafka, [1])
    defs = dg.Definitions(assets=[order_batches], sensors=[order_stream_sensor], resources=res)
    assert drain_sensor(defs, "industries_order_stream_sensor", instance)[0] == 1
    reqs, _ = tick_sensor(defs, "industries_order_stream_sensor", instance, None)
    assert reqs == []
    assert json.loads(load_state(res["paths"].lake_location(DOMAIN)).to_json())["kafka"] == {
        kafka.topic: {"0": 1}}
