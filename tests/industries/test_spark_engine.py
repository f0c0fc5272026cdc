"""Industries on the Spark cluster give the embedded engine's exact scores and history: the
same Kafka topic (malformed records, duplicates, an order_id reused under another hour,
late orders, unknown customers and industries) consumed by each engine into its own lake,
the same customer batches, the same sensor runs, then a late order and a redelivery."""

from __future__ import annotations

import random
import uuid
from datetime import timedelta
from pathlib import Path
from typing import Any

import dagster as dg
import duckdb
import pytest
from deltalake import DeltaTable

from assets.industries.common import DOMAIN
from assets.industries.spark_engine import ORDERS_TABLE
from cli.contract import digest_lines
from cli.generators import industries as generator
from cli.runner import drain_sensor
from definitions import domain_defs
from resources import KafkaResource, PlatformPaths, SparkResource, Warehouse
from tests.industries.conftest import order_line

pytestmark = pytest.mark.integration

SENSORS = ("industries_customers_sensor", "industries_order_stream_sensor",
           "industries_order_hours_sensor")
END = generator.END
ORDER = "SELECT order_id, customer_id, amount, order_ts FROM {} ORDER BY ALL"


def produce(kafka: KafkaResource, lines: list[str]) -> None:
    producer = kafka.producer()
    for line in lines:
        producer.produce(kafka.topic, value=line.encode())
    producer.flush(30)


def history() -> list[str]:
    """Order lines of 8 days (the generator's: duplicates, late and malformed lines, an
    unknown customer) plus a non-object, a bad amount and an order_id reused later."""
    rng = random.Random(3)
    customers = generator.make_customers(rng, 40)
    files, _ = generator.order_history(rng, customers, days=8, per_day=150, end=END)
    lines = [ln for name in sorted(files) for ln in files[name]]
    lines += ['[1, 2]', '{"order_id": "NA", "customer_id": "C00001", "amount": "abc", '
              '"timestamp": "2025-05-30T10:00:00Z"}',
              order_line("O00000003", "C00002", 99.0, END - timedelta(hours=30))]  # id reused
    poison = [('"amount": 1.5', '"amount": NaN'), ('"amount": 1.5', '"amount": 1e25'),
              ('"customer_id": "C00001"', '"customer_id": "   "')]
    base = order_line("P-0", "C00001", 1.5, END - timedelta(hours=2))
    lines += [base.replace("P-0", f"P-{i}").replace(*swap) for i, swap in enumerate(poison)]
    return lines


def engine_resources(root: Path, kafka: KafkaResource, spark: SparkResource,
                     store: dict[str, str] | None = None) -> dict[str, Any]:
    """`store`: the lake on that bucket (`lake_url` and the `aws_*` settings)."""
    return {"paths": PlatformPaths(data_dir=str(root), landing_settle_seconds=0,
                                   landing_sweep_seconds=0, **(store or {})),
            "warehouse": Warehouse(database=str(root / "warehouse.duckdb")),
            "kafka": kafka, "spark": spark}


def run(resources: dict[str, Any], instance: dg.DagsterInstance) -> None:
    defs = domain_defs("industries", resources)
    for name in SENSORS:
        drain_sensor(defs, name, instance)


@pytest.mark.parametrize("lake_on", ["disk", "store"])
def test_spark_scores_equal_the_embedded_scores(
    tmp_path: Path, kafka_bootstrap: str, lake_on: str, request: pytest.FixtureRequest
) -> None:
    """`store`: the Spark side's lake on a bucket (Delta tables, stream checkpoint and batch
    files through `s3a://`), nothing of it on this disk."""
    store, options = None, None
    if lake_on == "store":
        spark = request.getfixturevalue("spark_on_store")
        server = request.getfixturevalue("s3_server")
        store = {"lake_url": f"s3://{server.bucket()}/lake",
                 **{k.lower(): v for k, v in server.env().items()}}
        options = server.settings().storage_options()
    else:
        spark = request.getfixturevalue("spark")
    kafka = KafkaResource(bootstrap_servers=kafka_bootstrap, topic=f"orders-{uuid.uuid4().hex}")
    lines = history()
    produce(kafka, lines)
    roots = {"embedded": tmp_path / "embedded", "spark": tmp_path / "spark"}
    engines = {"embedded": SparkResource(), "spark": spark}
    for root in roots.values():  # the generator's customer batches, in each landing
        generator.generate(root, scale=0.15, days=1, end=END)
        for path in (root / "landing" / "orders").glob("*"):
            path.unlink()  # the orders come from Kafka only
    instances = {name: dg.DagsterInstance.ephemeral() for name in roots}
    for name, root in roots.items():
        run(engine_resources(root, kafka, engines[name], store if name == "spark" else None),
            instances[name])

    # a late order (its own hour, a day back) and a redelivery arrive; both engines go on
    produce(kafka, [order_line("LATE-1", "C00003", 12.5, END - timedelta(hours=26)), lines[5]])
    for name, root in roots.items():
        run(engine_resources(root, kafka, engines[name], store if name == "spark" else None),
            instances[name])

    def scored(root: Path) -> list[str]:
        return [ln for ln in digest_lines(str(root / "warehouse.duckdb"))
                if ln.split("\t")[0] in ("industries.industry_change_scores",
                                         "industries.industry_change_history")]

    assert scored(roots["embedded"]) == scored(roots["spark"])
    assert scored(roots["embedded"])[1].split("\t")[1] == "10"  # scores: ten industries
    with duckdb.connect(str(roots["embedded"] / "warehouse.duckdb"), read_only=True) as conn:
        conn.execute("SET TimeZone = 'UTC'")
        embedded_orders = conn.execute(ORDER.format("industries.orders")).fetchall()
        history_runs = conn.execute("SELECT count(DISTINCT run_id) FROM "
                                    "industries.industry_change_history").fetchone()[0]
    delta = (f"{store['lake_url']}/{DOMAIN}/{ORDERS_TABLE}" if store
             else str(roots["spark"] / "lake" / DOMAIN / ORDERS_TABLE))  # read by delta-rs
    if store:
        assert not (roots["spark"] / "lake").exists()
    rows = DeltaTable(delta, storage_options=options).to_pyarrow_table(
        columns=["order_id", "customer_id", "amount", "order_ts"])
    spark_orders = sorted(
        (r["order_id"], r["customer_id"], r["amount"], r["order_ts"]) for r in rows.to_pylist())
    assert [o[:3] for o in spark_orders] == [o[:3] for o in embedded_orders]
    assert [o[3].timestamp() for o in spark_orders] == [o[3].timestamp() for o in embedded_orders]
    assert any(o[0] == "LATE-1" for o in spark_orders) and history_runs >= 2

    def rejected(root: Path) -> list[tuple]:
        with duckdb.connect(str(root / "warehouse.duckdb"), read_only=True) as conn:
            return conn.execute("SELECT line_number, split_part(reason, ':', 1) FROM "
                                "industries.rejected_orders ORDER BY line_number").fetchall()

    assert rejected(roots["spark"]) == rejected(roots["embedded"])  # same records, same field
