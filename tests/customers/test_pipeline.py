"""The assets end to end on the embedded tier: SQLite source -> DuckDB -> montydb."""

from __future__ import annotations

import json
from pathlib import Path

import dagster as dg
import duckdb
import pytest

from assets.customers.assets import ASSETS, build_assets
from assets.customers.documents import CUSTOMERS_COLLECTION, INSIGHTS_COLLECTION, latest_insight
from assets.shared import RETRY
from cli.generators.customers import build_rows, generate
from definitions import domain_defs
from resources import DocumentStore, PlatformPaths, SqlSource, Warehouse
from sensors.customers import FAILURE_LOG, customers_run_failure_sensor

FAST = dg.RetryPolicy(max_retries=3, delay=0.05, backoff=dg.Backoff.EXPONENTIAL,
                      jitter=dg.Jitter.PLUS_MINUS)
NO_RETRY = dg.RetryPolicy(max_retries=0)


def make_resources(tmp_path: Path, source: SqlSource, docstore: DocumentStore | None = None):
    paths = PlatformPaths(
        data_dir=str(tmp_path), landing_settle_seconds=0, landing_sweep_seconds=0
    )
    return {
        "paths": paths,
        "ecommerce_db": source,
        "warehouse": Warehouse(database=str(tmp_path / "warehouse.duckdb")),
        "docstore": docstore or DocumentStore(path=str(tmp_path / "docstore")),
    }


def materialize(resources, retry=FAST, instance=None, raise_on_error=True):
    return dg.materialize(build_assets(retry), resources=resources, instance=instance,
                          raise_on_error=raise_on_error)


def load_stats(result: dg.ExecuteInProcessResult) -> dict:
    mats = result.asset_materializations_for_node("customers_docstore_load")
    return {m.asset_key.path[-1]: {k: v.value for k, v in m.metadata.items()} for m in mats}


def warehouse_rows(tmp_path: Path, sql: str) -> list[tuple]:
    with duckdb.connect(str(tmp_path / "warehouse.duckdb"), read_only=True) as conn:
        return conn.execute(sql).fetchall()


def test_full_run_then_rerun_changes_nothing(tmp_path, dirty_source):
    resources = make_resources(tmp_path, dirty_source)
    first = materialize(resources)
    assert first.success
    assert all(c.passed for c in first.get_asset_check_evaluations())
    stats = load_stats(first)
    assert stats["docstore_customer_aggregates"]["inserted"] == 5
    assert stats["docstore_insights"]["written"] == 4

    assert warehouse_rows(tmp_path, "SELECT customer_id, total_amount_spent, total_orders "
                          "FROM customers.customer_aggregates ORDER BY 1") == [
        (1, pytest.approx(157.75), 3), (2, pytest.approx(50), 2), (4, 0, 0), (5, 0, 0),
        (6, pytest.approx(14.5), 1)]
    counts = dict(warehouse_rows(tmp_path, """
        SELECT 'top_customers', count(*) FROM customers.top_customers UNION ALL
        SELECT 'top_products', count(*) FROM customers.top_products UNION ALL
        SELECT 'category_ratings', count(*) FROM customers.category_ratings UNION ALL
        SELECT 'monthly_sales', count(*) FROM customers.monthly_sales UNION ALL
        SELECT 'rejected_rows', count(*) FROM customers.rejected_rows"""))
    assert counts == {"top_customers": 3, "top_products": 5, "category_ratings": 4,
                      "monthly_sales": 3, "rejected_rows": 16}

    store = resources["docstore"]
    with store.get_database() as db:
        alice = db[CUSTOMERS_COLLECTION].find_one({"_id": 1})
        docs_before = sorted(db[CUSTOMERS_COLLECTION].find({}), key=lambda d: d["_id"])
        insights_before = list(db[INSIGHTS_COLLECTION].find({}))
    assert alice == {"_id": 1, "customer_id": 1, "name": "Alice Smith",
                     "email": "alice@example.com", "country": "United States",
                     "total_amount_spent": 157.75, "total_orders": 3,
                     "average_order_value": 52.58, "total_products_ordered": 9,
                     "average_rating": 4.5}
    assert len(insights_before) == 4

    second = materialize(resources)
    stats = load_stats(second)["docstore_customer_aggregates"]
    assert (stats["inserted"], stats["updated"], stats["deleted"], stats["unchanged"]) == (
        0, 0, 0, 5)
    assert load_stats(second)["docstore_insights"]["written"] == 0
    with store.get_database() as db:
        assert sorted(db[CUSTOMERS_COLLECTION].find({}), key=lambda d: d["_id"]) == docs_before
        assert sorted(db[INSIGHTS_COLLECTION].find({}), key=lambda d: d["_id"]) == sorted(
            insights_before, key=lambda d: d["_id"])
    assert warehouse_rows(tmp_path, "SELECT count(*) FROM customers.rejected_rows") == [(16,)]


def test_source_change_updates_documents_and_adds_latest_insight(tmp_path, dirty_source):
    resources = make_resources(tmp_path, dirty_source)
    materialize(resources)
    with dirty_source.connect() as conn:  # Eve's order grows; customer 4 disappears
        conn.execute("UPDATE orders SET total_amount = 114.50 WHERE order_id = 107")
        conn.execute("DELETE FROM customers WHERE customer_id = 4")
    result = materialize(resources)
    stats = load_stats(result)
    assert stats["docstore_customer_aggregates"]["updated"] == 1
    assert stats["docstore_customer_aggregates"]["deleted"] == 1
    # top_customers and monthly_sales changed; products and ratings did not.
    assert stats["docstore_insights"]["written"] == 2
    with resources["docstore"].get_database() as db:
        assert db[CUSTOMERS_COLLECTION].find_one({"_id": 6})["total_amount_spent"] == 114.5
        assert db[CUSTOMERS_COLLECTION].find_one({"_id": 4}) is None
        latest = latest_insight(db, "top_customers")
        assert latest["rows"][1]["customer_id"] == 6
        assert db[INSIGHTS_COLLECTION].count_documents({"insight": "top_customers"}) == 2
        assert db[INSIGHTS_COLLECTION].count_documents({"insight": "top_products"}) == 1


def test_failure_is_retried_then_recorded_by_the_sensor(tmp_path):
    missing = SqlSource(url="postgresql://nobody@127.0.0.1:9/none?connect_timeout=1")
    resources = make_resources(tmp_path, missing)
    instance = dg.DagsterInstance.ephemeral()
    result = materialize(resources, instance=instance, raise_on_error=False)
    assert not result.success
    retries = [e for e in result.all_events if e.event_type_value == "STEP_UP_FOR_RETRY"]
    assert len(retries) == 3  # RetryPolicy(max_retries=3) on the extract step

    failure_event = next(e for e in result.all_events if e.event_type_value == "PIPELINE_FAILURE")
    run = instance.get_run_by_id(result.run_id)
    paths = resources["paths"]
    context = dg.build_run_status_sensor_context(
        sensor_name="customers_run_failure_sensor", dagster_event=failure_event,
        dagster_instance=instance, dagster_run=run, resources={"paths": paths},
    ).for_run_failure()
    customers_run_failure_sensor(context)
    customers_run_failure_sensor(context)  # the same run is recorded once
    lines = (tmp_path / FAILURE_LOG).read_text().splitlines()
    assert len(lines) == 1
    record = json.loads(lines[0])
    assert record["run_id"] == result.run_id
    assert record["failed_steps"][0]["step"] == "customers__ecommerce_extract"
    assert "127.0.0.1" in record["failed_steps"][0]["error"]


def test_definitions_schedule_sensor_and_retry_policies(tmp_path, monkeypatch):
    from resources import build_resources

    monkeypatch.setenv("PLATFORM_DATA_DIR", str(tmp_path))
    defs = domain_defs("customers", build_resources())
    schedule = defs.resolve_schedule_def("customers_every_3_hours")
    assert schedule.cron_schedule == "0 */3 * * *"
    assert schedule.default_status == dg.DefaultScheduleStatus.RUNNING
    sensor = defs.resolve_sensor_def("customers_run_failure_sensor")
    assert sensor.default_status == dg.DefaultSensorStatus.RUNNING
    job = defs.resolve_job_def("customers_insights_job")
    assert set(job.graph.node_names()) == {
        "customers__ecommerce_extract", "customers_warehouse_tables", "customers_docstore_load"}
    policies = {a.op.name: a.op.retry_policy for a in ASSETS}
    for node in ("customers__ecommerce_extract", "customers_docstore_load"):
        assert policies[node] == RETRY
        assert RETRY.backoff == dg.Backoff.EXPONENTIAL and RETRY.jitter == dg.Jitter.PLUS_MINUS
    assert policies["customers_warehouse_tables"] is None  # pure compute + DuckDB: no retry
    keys = {k.to_user_string() for k in defs.resolve_all_asset_keys()}
    assert {"customers/customer_aggregates", "customers/top_customers", "customers/top_products",
            "customers/category_ratings", "customers/monthly_sales"} <= keys


def test_generator_is_deterministic_and_dirty(tmp_path):
    assert build_rows(7, 0.2) == build_rows(7, 0.2)
    counts = generate(tmp_path, seed=7, scale=0.2)
    source = SqlSource(url=f"sqlite:///{tmp_path / 'sources' / 'ecommerce.sqlite'}")
    with source.connect() as conn:
        emails = [r[0] for r in conn.execute("SELECT email FROM customers WHERE email IS NOT NULL")]
        statuses = {r[0] for r in conn.execute("SELECT status FROM orders")}
        assert conn.execute("SELECT count(*) FROM orders").fetchone()[0] == counts["orders"]
    normalised = [e.strip().lower() for e in emails]
    assert len(set(emails)) == len(emails) and len(set(normalised)) < len(normalised)
    assert {"Canceled", "CANCELLED", "COMPLETE"} & statuses and None in statuses
    with pytest.raises(Exception, match="(?i)unique"):
        with source.connect() as conn:
            conn.execute("INSERT INTO customers VALUES (999999, 'x', ?, 'x')", (emails[0],))
    with pytest.raises(Exception, match="(?i)check"):
        with source.connect() as conn:
            conn.execute("INSERT INTO reviews VALUES (999999, 1, 1, 6, '2024-01-01')")


def test_demo_run(tmp_path, monkeypatch):
    from cli.demos import customers as demo
    from resources import build_resources

    monkeypatch.setenv("PLATFORM_DATA_DIR", str(tmp_path))
    monkeypatch.delenv("ECOMMERCE_DB_URL", raising=False)
    monkeypatch.delenv("MONGODB_URI", raising=False)
    generate(tmp_path, seed=42, scale=0.1)
    defs = domain_defs("customers", build_resources())
    text = demo.run(defs, dg.DagsterInstance.ephemeral())
    assert "customer documents" in text and "top 5 customers" in text
    assert text.count("\n  ") == 5


def test_cli_writes_the_sqlite_source(tmp_path, monkeypatch, capsys):
    from cli.generators.customers import main

    monkeypatch.delenv("ECOMMERCE_DB_URL", raising=False)
    main(["--scale", "0.05", "--seed", "3", "--data-dir", str(tmp_path)])
    assert "orders=" in capsys.readouterr().out
    assert (tmp_path / "sources" / "ecommerce.sqlite").stat().st_size > 0
