"""The order generator: history into landing/orders/, and live orders to Kafka.

    python -m cli.orders_stream --days 31                 # history files only
    KAFKA_BOOTSTRAP_SERVERS=127.0.0.1:9092 python -m cli.orders_stream --days 0 \\
        --rate 200 --seconds 60 --duplicate-share 0.02 --late-share 0.01

History is written as one JSON Lines file per arrival day (with the duplicates and late
orders of the shares given) ending at `--end` (default: the start of the current hour), plus
the customer batches the orders refer to. With KAFKA_BOOTSTRAP_SERVERS set, orders are then
streamed live to ORDERS_TOPIC at `--rate` orders/s for `--seconds` (0 = until interrupted):
a `--duplicate-share` of them is sent twice (at-least-once producer) and a `--late-share`
carries a timestamp 1-10 hours in the past.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

from cli.generators.industries import generate, make_order
from resources import KafkaResource, PlatformPaths
from resources.env import DEFAULT_DATA_DIR


def stream(kafka: KafkaResource, customers: list[str], rate: float, seconds: float,
           duplicate_share: float, late_share: float, seed: int) -> dict[str, int]:
    """Produce live orders at `rate`/s; returns counts sent."""
    rng = random.Random(seed)
    producer = kafka.producer()
    counts = {"orders": 0, "duplicates": 0, "late": 0}
    start = time.monotonic()
    prefix = f"L{int(time.time())}-"
    try:
        while not seconds or time.monotonic() - start < seconds:
            ts = datetime.now(UTC)
            if rng.random() < late_share:
                ts -= timedelta(hours=rng.uniform(1, 10))
                counts["late"] += 1
            counts["orders"] += 1
            rec = make_order(rng, f"{prefix}{counts['orders']:09d}", rng.choice(customers), ts)
            value = json.dumps(rec).encode()
            producer.produce(kafka.topic, key=rec["order_id"].encode(), value=value)
            if rng.random() < duplicate_share:
                producer.produce(kafka.topic, key=rec["order_id"].encode(), value=value)
                counts["duplicates"] += 1
            producer.poll(0)
            behind = counts["orders"] / rate - (time.monotonic() - start)
            if behind > 0:
                time.sleep(behind)
    except KeyboardInterrupt:
        pass
    finally:
        producer.flush(30)
    return counts


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--days", type=int, default=31, help="days of history files (0: none)")
    parser.add_argument("--end", help="history end, ISO UTC (default: start of this hour)")
    parser.add_argument("--scale", type=float, default=1.0, help="history size factor")
    parser.add_argument("--rate", type=float, default=100.0, help="live orders per second")
    parser.add_argument("--seconds", type=float, default=60.0, help="live duration (0: forever)")
    parser.add_argument("--duplicate-share", type=float, default=0.02)
    parser.add_argument("--late-share", type=float, default=0.01)
    parser.add_argument("--seed", type=int, default=42)
    args = parser.parse_args(argv)

    paths = PlatformPaths(
        data_dir=os.path.abspath(os.environ.get("PLATFORM_DATA_DIR") or DEFAULT_DATA_DIR))
    end = (datetime.fromisoformat(args.end).replace(tzinfo=UTC) if args.end
           else datetime.now(UTC).replace(minute=0, second=0, microsecond=0))
    if args.days > 0:
        counts = generate(paths.root, seed=args.seed, scale=args.scale, end=end, days=args.days)
        print(f"history: {counts} -> {paths.landing('orders')}")
    kafka = KafkaResource(bootstrap_servers=os.environ.get("KAFKA_BOOTSTRAP_SERVERS") or None,
                          topic=os.environ.get("ORDERS_TOPIC") or "orders")
    if not kafka.enabled:
        print("KAFKA_BOOTSTRAP_SERVERS not set: history files only (they are the stream)")
        return
    customers = sorted({
        line.split(",", 1)[0]
        for f in Path(paths.landing("customers")).glob("*.csv")
        for line in f.read_text().splitlines()[1:] if line
    }) or [f"C{i:05d}" for i in range(1, 301)]
    print(f"streaming to {kafka.bootstrap_servers} topic {kafka.topic} at {args.rate}/s ...")
    sent = stream(kafka, customers, args.rate, args.seconds, args.duplicate_share,
                  args.late_share, args.seed)
    print(f"live: {sent}")


if __name__ == "__main__":
    main()
