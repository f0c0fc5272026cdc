"""Helpers for the industries tests: resources on tmp_path, order lines, running assets."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import dagster as dg
import duckdb
import pytest

from assets.industries.batches import order_batches
from assets.industries.common import DOMAIN, HOUR_FMT, KAFKA_GROUP_ID
from assets.industries.customers import customers
from assets.industries.orders import rebuild_orders, rebuild_rollup
from assets.industries.schema import SCHEMA
from assets.industries.scores import industry_change_scores
from resources import KafkaResource, PlatformPaths, SparkResource, Warehouse

T0 = datetime(2025, 3, 1, tzinfo=UTC)


@pytest.fixture
def res(tmp_path: Path) -> dict:
    return {
        "paths": PlatformPaths(
            data_dir=str(tmp_path), landing_settle_seconds=0, landing_sweep_seconds=0
        ),
        "warehouse": Warehouse(database=str(tmp_path / "warehouse.duckdb")),
        "kafka": KafkaResource(bootstrap_servers=None),
        "spark": SparkResource(),  # embedded; tests/industries/test_spark_engine.py: Spark
    }


@pytest.fixture
def instance() -> Iterator[dg.DagsterInstance]:
    with dg.instance_for_test() as inst:
        yield inst


def order_line(order_id: str, customer: str, amount: float, ts: datetime) -> str:
    return json.dumps(
        {
            "order_id": order_id,
            "customer_id": customer,
            "order_lines": [{"product_id": "P1", "volume": 1, "price": amount}],
            "amount": amount,
            "timestamp": ts.isoformat().replace("+00:00", "Z"),
        }
    )


def write_lines(path: Path, lines: list[str], mode: str = "a") -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, mode) as fh:
        fh.write("".join(line + "\n" for line in lines))


def write_customers(path: Path, header: str, rows: list[tuple[str, str, str]]) -> None:
    import csv

    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "w", newline="") as fh:
        writer = csv.writer(fh)
        writer.writerow(["customer_id", "company_name", header])
        writer.writerows(rows)


def ingest(res: dict, **config) -> dg.ExecuteInProcessResult:
    """One micro-batch run of the stream asset."""
    return dg.materialize(
        [order_batches], resources=res,
        run_config={"ops": {"industries__order_batches": {"config": config}}} if config else None,
    )


def build_hours(res: dict, first: datetime, last: datetime) -> None:
    """Rebuild orders + rollup for [first, last] hours by direct invocation (no event log)."""
    end = last + timedelta(hours=1)
    with res["warehouse"].get_connection(SCHEMA) as conn:
        rebuild_orders(conn, res["paths"].lake_location(DOMAIN), first, end)
        rebuild_rollup(conn, first, end)


def load_customers(res: dict, instance: dg.DagsterInstance | None = None, **kw):
    return dg.materialize([customers], resources=res, instance=instance, **kw)


def score(res: dict, as_of: datetime | None = None, instance=None) -> dg.ExecuteInProcessResult:
    config = {"as_of": as_of.isoformat()} if as_of else {}
    return dg.materialize(
        [industry_change_scores], resources=res, instance=instance,
        run_config={"ops": {"industry_change_scores": {"config": config}}},
    )


def query(res: dict, sql: str, params: list | None = None) -> list[tuple]:
    conn = duckdb.connect(res["warehouse"].database, read_only=True)
    try:
        conn.execute("SET TimeZone = 'UTC'")
        return conn.execute(sql, params or []).fetchall()
    finally:
        conn.close()


def key(ts: datetime) -> str:
    return ts.strftime(HOUR_FMT)


def committed_offset(kafka: KafkaResource) -> int | None:
    """The platform's committed offset of partition 0 (None: nothing committed)."""
    from confluent_kafka import TopicPartition

    consumer = kafka.consumer(KAFKA_GROUP_ID)
    try:
        (tp,) = consumer.committed([TopicPartition(kafka.topic, 0)], timeout=10)
        return tp.offset if tp.offset >= 0 else None
    finally:
        consumer.close()
