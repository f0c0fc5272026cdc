"""Benchmarks for industry change scores; prints a Markdown table.

    .venv/bin/python -m bench.industries [--bootstrap HOST:PORT | --start-broker]
        [--stream-orders 100000] [--days 30] [--orders-per-day 100000] [--customers 5000]

1. Stream consume-to-lake throughput (orders/s): Kafka when a broker is given
   (`--bootstrap`, KAFKA_BOOTSTRAP_SERVERS, or `--start-broker` = the test fixture's
   loopback broker), otherwise the file stream (landing/orders/*.jsonl); the table says which.
2. Scoring time with `--days` x `--orders-per-day` orders already rolled up per customer-hour.
3. The cost of one late order: rows and time to re-read its hour, versus the history size.
"""

from __future__ import annotations

import argparse
import os
import tempfile
import time
import uuid
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path

import dagster as dg
import pyarrow as pa

from assets.industries.batches import order_batches
from assets.industries.common import DOMAIN, INDUSTRIES, SCHEMA
from assets.industries.file_stream import ORDERS_LANDING
from assets.industries.orders import rebuild_orders, rebuild_rollup
from assets.industries.schema import SCHEMA as TABLES
from assets.industries.scoring import compute_scores
from assets.industries.stream import BATCH_SCHEMA, load_state, write_tables
from cli.generators.industries import make_order
from resources import KafkaResource, PlatformPaths, SparkResource, Warehouse

END = datetime(2025, 6, 1, tzinfo=UTC)


def _resources(root: Path, kafka: KafkaResource) -> dict:
    return {"paths": PlatformPaths(data_dir=str(root)),
            "warehouse": Warehouse(database=str(root / "warehouse.duckdb")), "kafka": kafka,
            "spark": SparkResource()}


def bench_stream(root: Path, n: int, bootstrap: str | None) -> tuple[str, float, float]:
    import json
    import random

    rng = random.Random(1)
    values = [json.dumps(make_order(rng, f"B{i:09d}", f"C{i % 5000:05d}",
                                    END - timedelta(seconds=i % 86400))) for i in range(n)]
    if bootstrap:
        kafka = KafkaResource(bootstrap_servers=bootstrap, topic=f"bench-{uuid.uuid4().hex[:8]}")
        producer = kafka.producer(**{"linger.ms": 50})
        for v in values:
            while True:
                try:
                    producer.produce(kafka.topic, value=v.encode())
                    break
                except BufferError:
                    producer.poll(0.1)
        producer.flush(60)
        mode = f"Kafka ({bootstrap}, 1 partition)"
    else:
        kafka = KafkaResource(bootstrap_servers=None)
        landing = PlatformPaths(data_dir=str(root)).landing_location(ORDERS_LANDING)
        landing.write_bytes("bench.jsonl", ("\n".join(values) + "\n").encode())
        mode = "file stream (landing/orders/*.jsonl; no broker given)"
    res = _resources(root, kafka)
    start = time.perf_counter()
    result = dg.materialize(
        [order_batches], resources=res, instance=dg.DagsterInstance.ephemeral(),
        run_config={"ops": {"industries__order_batches": {"config": {"idle_seconds": 1.0}}}},
    )
    elapsed = time.perf_counter() - start
    assert result.success
    landed = sum(1 for _ in [load_state(res["paths"].lake_location(DOMAIN))])  # state readable
    assert landed
    return mode, n / elapsed, elapsed


def build_history(root: Path, days: int, per_day: int, customers: int) -> tuple[Warehouse, int]:
    """Synthetic orders -> lake batch files (one per day, row group per hour) -> rollup."""
    wh = Warehouse(database=str(root / "warehouse.duckdb"))
    lake = PlatformPaths(data_dir=str(root)).lake_location(DOMAIN)
    start = END - timedelta(days=days)
    with wh.get_connection(TABLES) as conn:
        conn.execute(
            f"INSERT INTO {SCHEMA}.customers SELECT printf('C%05d', i), 'Co', '', "
            "list_distinct([$ind[1 + i % 10], $ind[1 + (i * 7) % 10]]), 'bench', i "
            "FROM range($n) t(i)", {"ind": list(INDUSTRIES), "n": customers})
        conn.execute(f"INSERT INTO {SCHEMA}.customer_industries SELECT DISTINCT customer_id, "
                     f"unnest(industries) FROM {SCHEMA}.customers")
        for day in range(days):
            t0 = start + timedelta(days=day)
            table = conn.execute(
                "SELECT printf('O%010d', $d * $per + i) AS order_id, "
                "printf('C%05d', hash(i * 31 + $d) % $c) AS customer_id, "
                "(1 + (hash(i) % 50000) / 100)::DECIMAL(18,2) AS amount, "
                "$t0 + to_microseconds((i * 86400000000 // $per)::BIGINT) AS order_ts, "
                "strftime($t0 + to_microseconds((i * 86400000000 // $per)::BIGINT), "
                "'%Y-%m-%d-%H:00') AS hour, '[]' AS order_lines, 'bench' AS source, "
                "i AS line, ($d + 1)::BIGINT AS batch_seq, NULL::VARCHAR AS raw, "
                "NULL::VARCHAR AS reject_reason FROM range($per) t(i) ORDER BY order_ts",
                {"d": day, "per": per_day, "c": customers, "t0": t0},
            ).to_arrow_table().cast(BATCH_SCHEMA)
            per_hour = per_day // 24
            groups = [table.slice(h * per_hour, per_hour if h < 23 else None) for h in range(24)]
            write_tables(lake, day + 1, BATCH_SCHEMA, groups)
        t = time.perf_counter()
        rebuild_orders(conn, lake, start, END)
        rebuild_rollup(conn, start, END)
        print(f"# history built: orders + rollup of {days} days in {time.perf_counter() - t:.1f}s")
        rollup_rows = conn.execute(f"SELECT count(*) FROM {SCHEMA}.customer_hourly").fetchone()[0]
    return wh, rollup_rows


def ingest_rows(quick: bool = False) -> list:
    """The Kafka row of the README's ingest table: bench/industries_ingest.py."""
    from bench.industries_ingest import ingest_rows as measured

    return measured(quick)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--bootstrap", default=os.environ.get("KAFKA_BOOTSTRAP_SERVERS"))
    parser.add_argument("--start-broker", action="store_true",
                        help="start the tests' loopback Kafka broker for the stream benchmark")
    parser.add_argument("--stream-orders", type=int, default=100_000, help="0: skip")
    parser.add_argument("--days", type=int, default=30)
    parser.add_argument("--orders-per-day", type=int, default=100_000)
    parser.add_argument("--customers", type=int, default=5_000)
    args = parser.parse_args()

    rows: list[tuple[str, str, str]] = []
    broker = None
    if args.start_broker and not args.bootstrap:
        from tests.servers.kafka import start_kafka

        broker = start_kafka()
        args.bootstrap = broker.bootstrap
    try:
        with tempfile.TemporaryDirectory() as tmp:
            if args.stream_orders:
                mode, rate, secs = bench_stream(Path(tmp), args.stream_orders, args.bootstrap)
                rows.append((f"consume-to-lake, {mode}", f"{rate:,.0f} orders/s",
                             f"{args.stream_orders:,} orders in {secs:.2f}s"))
    finally:
        if broker is not None:
            broker.close()

    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        wh, rollup_rows = build_history(root, args.days, args.orders_per_day, args.customers)
        total = args.days * args.orders_per_day
        with wh.get_connection(TABLES) as conn:
            timings = []
            for _ in range(3):
                t = time.perf_counter()
                compute_scores(conn, END)
                timings.append(time.perf_counter() - t)
        rows.append((f"scoring (rollup of {total:,} orders = {rollup_rows:,} customer-hours)",
                     f"{min(timings) * 1000:.0f} ms", "best of 3; target < 1 s"))

        # One late order, 20 days old: land it as a batch, re-read its hour only.
        late_ts = END - timedelta(days=20, minutes=-17)
        lake = PlatformPaths(data_dir=str(root)).lake_location(DOMAIN)
        late = pa.Table.from_pylist([{
            "order_id": "LATE-1", "customer_id": "C00001", "amount": Decimal("12.50"),
            "order_ts": late_ts,
            "hour": late_ts.strftime("%Y-%m-%d-%H:00"), "order_lines": "[]", "source": "late",
            "line": 1, "batch_seq": args.days + 1, "raw": None, "reject_reason": None,
        }], schema=BATCH_SCHEMA)
        write_tables(lake, args.days + 1, BATCH_SCHEMA, [late])
        hour = late_ts.replace(minute=0, second=0, microsecond=0)
        with wh.get_connection(TABLES) as conn:
            t = time.perf_counter()
            stats = rebuild_orders(conn, lake, hour, hour + timedelta(hours=1))
            t_orders = time.perf_counter() - t
            t = time.perf_counter()
            rebuild_rollup(conn, hour, hour + timedelta(hours=1))
            t_rollup = time.perf_counter() - t
        rows.append(("late order: re-read its hour (orders partition)",
                     f"{stats['rows_read']:,} rows read of {total + 1:,}",
                     f"{t_orders * 1000:.0f} ms orders + {t_rollup * 1000:.0f} ms rollup"))

    print("| benchmark | result | detail |\n|---|---|---|")
    for r in rows:
        print(f"| {r[0]} | {r[1]} | {r[2]} |")


if __name__ == "__main__":
    main()
