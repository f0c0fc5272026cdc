"""Kafka → lake beside the bare consumer, measured in one run (issue 25).

One topic of `n` orders on the tests' loopback broker (1 partition). The platform side is
the `industries/order_batches` asset's own body (called directly: no Dagster run around
it): consume at the offsets stored in the lake, judge the records, write the batch file
(rows and offsets durable together), sync the ledger, commit the group offsets. The bare
side: confluent-kafka reads the same topic from the start, pyarrow parses the values as
one JSON document, one Parquet file. Each run starts from a fresh lake (untimed); the two
sides alternate. README "Ingest beside the engines".

    .venv/bin/python -m bench.industries_ingest [--quick]
"""

from __future__ import annotations

import json
import random
import shutil
import tempfile
import uuid
from datetime import timedelta
from pathlib import Path

import dagster as dg
import pyarrow as pa
import pyarrow.json as pajson
import pyarrow.parquet as pq

from assets.industries.batches import OrderBatchConfig, order_batches
from bench.side_by_side import IngestRow, interleaved, print_rows, rate
from cli.generators.industries import make_order
from resources import KafkaResource, PlatformPaths, SparkResource, Warehouse


def produce(kafka: KafkaResource, n: int) -> None:
    """`n` orders of the generator on the topic (an hour's spread of times)."""
    from bench.industries import END

    rng = random.Random(1)
    producer = kafka.producer(**{"linger.ms": 50})
    for i in range(n):
        order = make_order(rng, f"B{i:09d}", f"C{i % 5000:05d}", END - timedelta(seconds=i % 3600))
        while True:
            try:
                producer.produce(kafka.topic, value=json.dumps(order).encode())
                break
            except BufferError:
                producer.poll(0.1)
    producer.flush(60)


def platform_run(root: Path, kafka: KafkaResource) -> int:
    """The asset's body on a lake under `root`: rows consumed."""
    result = order_batches(
        dg.build_asset_context(), config=OrderBatchConfig(idle_seconds=1.0),
        paths=PlatformPaths(data_dir=str(root)), kafka=kafka,
        warehouse=Warehouse(database=str(root / "warehouse.duckdb")), spark=SparkResource())
    count = result.metadata["dagster/row_count"]
    return int(getattr(count, "value", count))


def bare_run(root: Path, kafka: KafkaResource, n: int) -> int:
    """confluent-kafka from offset 0 to the high watermark → pyarrow JSON → one Parquet."""
    from confluent_kafka import TopicPartition

    consumer = kafka.consumer(f"bench-bare-{uuid.uuid4().hex[:8]}")
    consumer.assign([TopicPartition(kafka.topic, 0, 0)])
    values: list[bytes] = []
    while len(values) < n:
        for msg in consumer.consume(num_messages=10_000, timeout=1.0):
            if msg.error() is None:
                values.append(msg.value())
    consumer.close()
    table = pajson.read_json(pa.BufferReader(b"\n".join(values)))
    pq.write_table(table, root / "orders.parquet")
    return table.num_rows


def ingest_rows(quick: bool = False) -> list[IngestRow]:
    """The Kafka row of the README's ingest table (starts and stops its own broker)."""
    from tests.servers.kafka import start_kafka

    n = 20_000 if quick else 100_000
    broker = start_kafka()
    tmp = Path(tempfile.mkdtemp(prefix="kafka-ingest-bench-"))
    try:
        kafka = KafkaResource(bootstrap_servers=broker.bootstrap,
                              topic=f"bench-{uuid.uuid4().hex[:8]}")
        produce(kafka, n)
        runs: list[Path] = []
        counted: dict[str, int] = {}

        def fresh() -> None:  # a new lake and warehouse file per run (the store caches
            runs.append(tmp / f"run-{len(runs)}")  # which files have their tables)
            runs[-1].mkdir()

        seconds = interleaved({
            "platform": lambda: counted.update(platform=platform_run(runs[-1], kafka)),
            "bare": lambda: counted.update(bare=bare_run(runs[-1], kafka, n))}, 3, setup=fresh)
        assert counted == {"platform": n, "bare": n}, counted
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
        broker.close()
    return [IngestRow(
        f"Kafka → lake, {n // 1000}k orders (1 partition; the asset's body, exactly-once"
        " commit included, no Dagster run)",
        rate(n, seconds["platform"], "orders"),
        f"confluent-kafka → pyarrow JSON → one Parquet: {rate(n, seconds['bare'], 'orders')}",
        seconds["platform"] / seconds["bare"], 2.0)]


def main() -> None:
    print_rows(__doc__, ingest_rows, "20k orders")


if __name__ == "__main__":
    main()
