"""Industries with LANDING_URL and LAKE_URL on a bucket of a real S3-compatible store: the
same order files and customer batches give the same scores as in the local folders; the
lake's batch files are in the bucket and nothing is written under the local `lake/`; the
API answers from the bucket; the same content landed again changes nothing; the store down
for a tick skips every sensor, the next ticks catch up."""

from __future__ import annotations

import csv
import io
from datetime import timedelta
from pathlib import Path

import dagster as dg
import duckdb
import pytest
from fastapi.testclient import TestClient

from api.main import create_app
from assets.industries.common import DOMAIN
from cli.runner import drain_sensor, tick_sensor
from definitions import domain_defs
from resources import build_resources
from resources.lib.storage import Location
from tests.industries.conftest import T0, order_line

pytestmark = pytest.mark.integration
SENSORS = ("industries_customers_sensor", "industries_order_stream_sensor",
           "industries_order_hours_sensor")
ORDERS = "orders_2025-03-01.jsonl"
CUSTOMERS = "customers_20250301T000000.csv"
SCORES = ("SELECT industry, last_24h, baseline, change_abs, change_pct, rank, as_of, complete"
          " FROM industries.industry_change_scores ORDER BY rank")
FIRST = [order_line(f"o{h}", f"C{1 + h % 3}", 10.0 + h, T0 + timedelta(hours=h))
         for h in range(0, 72, 5)] + ["{broken"]
# appended later: a big order in the last hour and a redelivery of an order already stored
MORE = [order_line("late-1", "C2", 500.0, T0 + timedelta(hours=70, minutes=30)),
        order_line("o5", "C3", 15.0, T0 + timedelta(hours=5))]


def _orders(lines: list[str]) -> bytes:
    return "".join(line + "\n" for line in lines).encode()


def _customers() -> bytes:
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(["customer_id", "company_name", "specialized_industries"])
    writer.writerows([("C1", "One", "Food"), ("C2", "Two", "cosmetics; Cleaning"),
                      ("C3", "Three", "Polymer;Rockets")])
    return out.getvalue().encode()


def _platform(root: Path, monkeypatch, bucket: str | None) -> tuple[dg.Definitions, dict]:
    monkeypatch.setenv("PLATFORM_DATA_DIR", str(root))
    for name in ("KAFKA_BOOTSTRAP_SERVERS", "SPARK_REMOTE"):
        monkeypatch.delenv(name, raising=False)
    for name, where in (("LANDING_URL", "landing"), ("LAKE_URL", "lake")):
        if bucket:
            monkeypatch.setenv(name, f"s3://{bucket}/{where}")
        else:
            monkeypatch.delenv(name, raising=False)
    resources = build_resources()
    return domain_defs("industries", resources), resources


def _run(defs: dg.Definitions, instance: dg.DagsterInstance,
         cursors: dict[str, str | None]) -> int:
    """Every sensor drained in turn (their cursors kept in `cursors`); the runs made."""
    runs = 0
    for name in SENSORS:
        made, cursors[name] = drain_sensor(defs, name, instance, cursors.get(name))
        runs += made
    return runs


def _query(resources: dict, sql: str) -> list[tuple]:
    conn = duckdb.connect(str(resources["paths"].warehouse), read_only=True)
    try:
        conn.execute("SET TimeZone = 'UTC'")
        return conn.execute(sql).fetchall()
    finally:
        conn.close()


def _api(data_dir: Path) -> dict:
    with TestClient(create_app(str(data_dir))) as client:
        answer = client.get("/industries/scores")
        assert answer.status_code == 200, answer.text
        return answer.json()


def _local_answers(root: Path, monkeypatch) -> tuple[list, dict, list]:
    """Scores and the API's answer after the first files, scores after the appended ones."""
    defs, resources = _platform(root, monkeypatch, None)
    landing = resources["paths"].landing_location
    landing("orders").write_bytes(ORDERS, _orders(FIRST))
    landing("customers").write_bytes(CUSTOMERS, _customers())
    cursors: dict[str, str | None] = {}
    with dg.instance_for_test() as instance:
        assert _run(defs, instance, cursors) == 3
        first, api = _query(resources, SCORES), _api(root)
        landing("orders").write_bytes(ORDERS, _orders(FIRST + MORE))
        _run(defs, instance, cursors)
    return first, api, _query(resources, SCORES)


def test_the_same_files_in_a_bucket_give_the_same_scores(s3_bucket, s3_server, tmp_path,
                                                          monkeypatch) -> None:
    first, api, final = _local_answers(tmp_path / "local", monkeypatch)
    assert len(first) == 10 and first != final

    root = tmp_path / "bucket"
    defs, resources = _platform(root, monkeypatch, s3_bucket)
    orders = Location(f"s3://{s3_bucket}/landing/orders", s3_server.settings())
    customers = Location(f"s3://{s3_bucket}/landing/customers", s3_server.settings())
    lake = Location(f"s3://{s3_bucket}/lake/{DOMAIN}", s3_server.settings())
    orders.write_bytes(ORDERS, _orders(FIRST))
    customers.write_bytes(CUSTOMERS, _customers())
    cursors: dict[str, str | None] = {}
    with dg.instance_for_test() as instance:
        assert _run(defs, instance, cursors) == 3
        assert _query(resources, SCORES) == first
        assert _api(root) == api  # read from the bucket's published files
        assert [e.rel for e in lake.list() if e.rel.startswith("orders/batches/")] == [
            "orders/batches/batch-00000001.parquet"]

        # The same content landed again: nothing changes (at most a batch that only
        # records the new object's signature, holding no order).
        orders.write_bytes(ORDERS, _orders(FIRST))
        customers.write_bytes(CUSTOMERS, _customers())
        assert drain_sensor(defs, SENSORS[0], instance, cursors[SENSORS[0]])[0] == 0
        _run(defs, instance, cursors)
        assert _query(resources, SCORES) == first
        assert _query(resources, "SELECT count(*) FROM industries.orders") == [(15,)]

        orders.write_bytes(ORDERS, _orders(FIRST + MORE))
        with s3_server.stopped():  # every sensor skips, its cursor kept
            for name in SENSORS:
                requests, kept = tick_sensor(defs, name, instance, cursors[name])
                assert requests == [] and kept == cursors[name], name
        _run(defs, instance, cursors)  # caught up
        assert _query(resources, SCORES) == final
        logs = [str(e) for r in instance.get_runs() for e in instance.all_logs(r.run_id)]
        assert logs and not any(s3_server.secret_key in line for line in logs)
    assert _query(resources, "SELECT count(*) FROM industries.orders") == [(16,)]
    assert not (root / "lake").exists() and not (root / "landing").exists()
    assert (root / "warehouse.duckdb").exists()  # the warehouse stays on this disk
