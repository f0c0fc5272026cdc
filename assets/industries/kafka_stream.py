"""Kafka side of the order stream: lag from watermarks, and consuming at stored offsets."""

from __future__ import annotations

import time
from typing import Any

from assets.industries.records import RawRecord
from assets.industries.stream import StreamState


def partitions(consumer: Any, topic: str, timeout: float = 10.0) -> list[int]:
    meta = consumer.list_topics(topic, timeout=timeout)
    info = meta.topics.get(topic)
    if info is None or info.error is not None:
        return []
    return sorted(info.partitions)


def lag(consumer: Any, topic: str, state: StreamState) -> dict[int, tuple[int, int]]:
    """Partitions with messages beyond the stored offsets: partition -> (next, high)."""
    from confluent_kafka import TopicPartition

    stored = state.kafka.get(topic, {})
    out = {}
    for p in partitions(consumer, topic):
        low, high = consumer.get_watermark_offsets(TopicPartition(topic, p), timeout=10)
        start = max(int(stored.get(str(p), low)), low)
        if high > start:
            out[p] = (start, high)
    return out


def consume(
    consumer: Any, topic: str, state: StreamState, max_records: int, idle_seconds: float = 2.0
) -> list[RawRecord]:
    """Assign every partition at its stored offset and read up to the watermarks seen now.

    `state.kafka[topic]` is advanced to the next offset of each partition read. Nothing is
    committed here: the caller commits only after the batch file is durable.
    """
    from confluent_kafka import TopicPartition

    targets = lag(consumer, topic, state)
    if not targets:
        return []
    consumer.assign([TopicPartition(topic, p, start) for p, (start, _) in targets.items()])
    offsets = state.kafka.setdefault(topic, {})
    records: list[RawRecord] = []
    remaining = {p for p in targets}
    sources = {p: f"kafka:{topic}/{p}" for p in targets}
    last_message = time.monotonic()
    while remaining and len(records) < max_records:
        msgs = consumer.consume(num_messages=min(10_000, max_records - len(records)), timeout=0.5)
        if not msgs:
            if time.monotonic() - last_message > idle_seconds:
                break
            continue
        last_message = time.monotonic()
        _take(msgs, targets, sources, records, offsets, remaining)
    consumer.unassign()
    return records


def _take(msgs: list[Any], targets: dict[int, tuple[int, int]], sources: dict[int, str],
          records: list[RawRecord], offsets: dict[str, int], remaining: set[int]) -> None:
    """The messages of one `consume` call inside this batch's ends, as records; the next
    offset of each partition read, once per call (not per message: 100k messages a batch)."""
    from confluent_kafka import KafkaError, KafkaException

    read: dict[int, int] = {}
    for msg in msgs:
        err = msg.error()
        if err is not None:
            if err.code() == KafkaError._PARTITION_EOF:
                continue
            raise KafkaException(err)
        p, off = msg.partition(), msg.offset()
        if off < targets.get(p, (0, -1))[1]:  # beyond this batch's end: the next batch reads it
            records.append(RawRecord(msg.value() or b"", sources[p], off))
            read[p] = off
    for p, off in read.items():
        offsets[str(p)] = off + 1
        if off + 1 >= targets[p][1]:
            remaining.discard(p)


def commit(consumer: Any, topic: str, state: StreamState) -> None:
    """Mirror the durable offsets to Kafka's group offsets (synchronous)."""
    from confluent_kafka import TopicPartition

    tps = [TopicPartition(topic, int(p), off) for p, off in state.kafka.get(topic, {}).items()]
    if tps:
        consumer.commit(offsets=tps, asynchronous=False)
