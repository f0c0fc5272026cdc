"""Run INSIDE a platform container by tests/deploy/run.py: `python - COMMAND JSON < probes.py`
(`compose exec -T user-code ...`). Each command uses the container's own environment
(PURCHASES_DB_URL, ECOMMERCE_DB_URL, KAFKA_BOOTSTRAP_SERVERS, MONGODB_URI, PLATFORM_DATA_DIR),
so no secret passes through the test, and prints one JSON document on stdout.
Values are bound as parameters, never formatted into SQL.
"""

from __future__ import annotations

import json
import os
import sys
import time


def warehouse(arg: dict) -> object:
    """Rows of a query on the DuckDB warehouse, opened read-only; a run holding the write
    lock is waited for (up to `wait` seconds)."""
    import duckdb

    path = os.path.join(os.environ["PLATFORM_DATA_DIR"], "warehouse.duckdb")
    if not os.path.exists(path):
        return {"missing": path}
    deadline = time.monotonic() + arg.get("wait", 120)
    while True:
        try:
            conn = duckdb.connect(path, read_only=True)
            break
        except duckdb.IOException:
            if time.monotonic() > deadline:
                raise
            time.sleep(1)
    try:
        conn.execute("SET TimeZone = 'UTC'")
        return conn.execute(arg["sql"], arg.get("params") or []).fetchall()
    except duckdb.CatalogException as exc:  # the table is not created yet
        return {"missing": str(exc)}
    finally:
        conn.close()


def load_purchases(arg: dict) -> object:
    """(Re)create `orders` + `order_items` in the purchases database with these rows."""
    from cli.generators.ctr import load_purchases as load

    load(os.environ["PURCHASES_DB_URL"], arg["orders"], arg["items"])
    return {"orders": len(arg["orders"]), "items": len(arg["items"])}


def produce(arg: dict) -> object:
    """Produce each record (a JSON value, keyed by order_id) to ORDERS_TOPIC."""
    from resources import KafkaResource

    kafka = KafkaResource(bootstrap_servers=os.environ["KAFKA_BOOTSTRAP_SERVERS"],
                          topic=os.environ.get("ORDERS_TOPIC") or "orders")
    producer = kafka.producer()
    for rec in arg["records"]:
        producer.produce(kafka.topic, key=rec["order_id"].encode(),
                         value=json.dumps(rec).encode())
    left = producer.flush(30)
    if left:
        raise SystemExit(f"{left} records not delivered")
    return {"produced": len(arg["records"]), "topic": kafka.topic}


def topic_orders(arg: dict) -> object:
    """Every record on ORDERS_TOPIC, from the first offset to the end, whose customer is one
    of `customers` (whoever produced it: the test or the order-generator)."""
    from confluent_kafka import TopicPartition

    from resources import KafkaResource

    kafka = KafkaResource(bootstrap_servers=os.environ["KAFKA_BOOTSTRAP_SERVERS"],
                          topic=os.environ.get("ORDERS_TOPIC") or "orders")
    consumer = kafka.consumer(f"deploy-test-read-{os.getpid()}-{time.time_ns()}")
    try:
        parts = consumer.list_topics(kafka.topic, timeout=30).topics[kafka.topic].partitions
        ends = {p: consumer.get_watermark_offsets(TopicPartition(kafka.topic, p), timeout=30)[1]
                for p in parts}
        consumer.assign([TopicPartition(kafka.topic, p, 0) for p in parts])
        wanted, found, done = set(arg["customers"]), [], {p for p, end in ends.items() if not end}
        while len(done) < len(ends):
            for msg in consumer.consume(1000, timeout=5):
                if msg.error():
                    continue
                rec = json.loads(msg.value())
                if rec.get("customer_id") in wanted:
                    found.append(rec)
                if msg.offset() + 1 >= ends[msg.partition()]:
                    done.add(msg.partition())
        return found
    finally:
        consumer.close()


def seed_customers(arg: dict) -> object:
    """The e-commerce source: the seeder's dirty sample at `scale`, plus the test's own
    customer with its orders, items and reviews (on an existing product)."""
    from pathlib import Path

    from cli.generators.customers import generate
    from resources.sql_source import SqlSource

    counts = generate(Path(os.environ["PLATFORM_DATA_DIR"]), seed=7, scale=arg["scale"])
    src = SqlSource(url=os.environ["ECOMMERCE_DB_URL"])
    ph = src.placeholder
    with src.connect() as conn:
        cur = conn.cursor()
        cur.execute("SELECT min(product_id) FROM products")
        product = cur.fetchone()[0]
        known = arg["known"]
        cur.execute(f"INSERT INTO customers VALUES ({ph}, {ph}, {ph}, {ph})", known["customer"])
        cur.executemany(f"INSERT INTO orders VALUES ({ph}, {ph}, {ph}, {ph}, {ph})",
                        known["orders"])
        cur.executemany(f"INSERT INTO order_items VALUES ({ph}, {ph}, {ph}, {ph}, {ph})",
                        [[i, o, product, q, p] for i, o, q, p in known["items"]])
        cur.executemany(f"INSERT INTO reviews VALUES ({ph}, {ph}, {ph}, {ph}, {ph})",
                        [[r, product, c, rating, d] for r, c, rating, d in known["reviews"]])
    return counts


def documents(arg: dict) -> object:
    """Counts of the two collections, one customer document, the insights' names."""
    from pymongo import MongoClient

    client = MongoClient(os.environ["MONGODB_URI"], serverSelectionTimeoutMS=10000)
    try:
        db = client[os.environ.get("MONGODB_DATABASE") or "commerce"]
        return {
            "customer_aggregates": db.customer_aggregates.count_documents({}),
            "insights": db.insights.count_documents({}),
            "insight_names": sorted(db.insights.distinct("insight")),
            "known": db.customer_aggregates.find_one({"_id": arg["customer_id"]}),
        }
    finally:
        client.close()


if __name__ == "__main__":
    command, argument = sys.argv[1], json.loads(sys.argv[2] if len(sys.argv) > 2 else "{}")
    result = {"warehouse": warehouse, "load_purchases": load_purchases, "produce": produce,
              "topic_orders": topic_orders, "seed_customers": seed_customers,
              "documents": documents}[command](argument)
    print(json.dumps(result, default=str))
