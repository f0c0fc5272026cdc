"""Over real servers: PostgreSQL source (seeded by the generator) -> MongoDB wire (FerretDB)."""

from __future__ import annotations

import threading
import time
import uuid

import dagster as dg
import polars as pl
import pytest
from polars.testing import assert_frame_equal

from assets.customers import cleaning, insights
from assets.customers.assets import build_assets
from assets.customers.documents import CUSTOMERS_COLLECTION, INSIGHTS_COLLECTION
from assets.customers.source import TABLES, extract_table
from cli.generators.customers import generate
from resources import DocumentStore, SqlSource
from tests.customers.test_pipeline import FAST, load_stats, make_resources

pytestmark = pytest.mark.integration

FAST_LOAD = {"ops": {"customers_docstore_load": {"config": {"server_selection_timeout_ms": 700}}}}


@pytest.fixture
def pg_source(pg_url, tmp_path, monkeypatch) -> SqlSource:
    monkeypatch.setenv("ECOMMERCE_DB_URL", pg_url)
    generate(tmp_path, seed=11, scale=0.2)
    return SqlSource(url=pg_url)


def mongo_store(mongodb_uri: str) -> DocumentStore:
    return DocumentStore(uri=mongodb_uri, database=f"customers_{uuid.uuid4().hex[:10]}")


def aggregate(source: SqlSource) -> dict[str, pl.DataFrame]:
    cleaned = cleaning.clean({t: extract_table(source, t) for t in TABLES})
    agg = insights.customer_aggregates(cleaned)
    return {"customer_aggregates": agg, "rejected": cleaned.rejected,
            **insights.all_insights(cleaned, agg)}


def test_postgres_and_sqlite_sources_give_identical_results(pg_source, tmp_path, monkeypatch):
    monkeypatch.delenv("ECOMMERCE_DB_URL")
    lite_dir = tmp_path / "lite"
    generate(lite_dir, seed=11, scale=0.2)
    lite = SqlSource(url=f"sqlite:///{lite_dir / 'sources' / 'ecommerce.sqlite'}")
    from_pg, from_lite = aggregate(pg_source), aggregate(lite)
    assert from_pg["customer_aggregates"].height > 100
    for name in from_pg:
        assert_frame_equal(from_pg[name], from_lite[name])


def test_full_run_then_rerun_over_servers(pg_source, mongodb_uri, tmp_path):
    store = mongo_store(mongodb_uri)
    resources = make_resources(tmp_path, pg_source, store)
    first = dg.materialize(build_assets(FAST), resources=resources, run_config=FAST_LOAD)
    assert first.success
    expected = first.asset_materializations_for_node("customers_warehouse_tables")
    n_customers = next(m for m in expected if m.asset_key.path[-1] == "customer_aggregates"
                       ).metadata["dagster/row_count"].value
    stats = load_stats(first)
    assert stats["docstore_customer_aggregates"]["inserted"] == n_customers > 100
    assert stats["docstore_insights"]["written"] == 4
    with store.get_database() as db:
        assert db[CUSTOMERS_COLLECTION].count_documents({}) == n_customers
        docs_before = sorted(db[CUSTOMERS_COLLECTION].find({}), key=lambda d: d["_id"])
        names = {d["insight"] for d in db[INSIGHTS_COLLECTION].find({}, {"insight": 1})}
        index_names = set(db[INSIGHTS_COLLECTION].index_information())
        customer_indexes = set(db[CUSTOMERS_COLLECTION].index_information())
        top = next(db[INSIGHTS_COLLECTION].find({"insight": "top_customers"})
                   .sort("generated_at", -1).limit(1))
    assert "insight_latest" in index_names
    assert {"email", "country", "total_amount_spent_desc"} <= customer_indexes
    assert names == {"top_customers", "top_products", "category_ratings", "monthly_sales"}
    assert len(top["rows"]) == 5 and top["rows"][0]["rank"] == 1
    assert isinstance(top["rows"][0]["total_amount_spent"], float)

    second = dg.materialize(build_assets(FAST), resources=resources, run_config=FAST_LOAD)
    stats = load_stats(second)
    assert stats["docstore_customer_aggregates"]["unchanged"] == n_customers
    assert stats["docstore_customer_aggregates"]["inserted"] == 0
    assert stats["docstore_customer_aggregates"]["updated"] == 0
    assert stats["docstore_insights"]["written"] == 0
    with store.get_database() as db:
        assert sorted(db[CUSTOMERS_COLLECTION].find({}), key=lambda d: d["_id"]) == docs_before
        assert db[INSIGHTS_COLLECTION].count_documents({}) == 4

    # A change in PostgreSQL reaches MongoDB as an upsert of that one customer.
    stored = {d["_id"]: d for d in docs_before}
    with pg_source.connect() as conn:
        row = next(r for r in conn.execute(
            "SELECT order_id, customer_id FROM orders WHERE total_amount IS NOT NULL "
            "AND lower(trim(status)) = 'completed' ORDER BY order_id") if r[1] in stored)
        conn.execute("UPDATE orders SET total_amount = total_amount + 1000 WHERE order_id = %s",
                     (row[0],))
    third = dg.materialize(build_assets(FAST), resources=resources, run_config=FAST_LOAD)
    stats = load_stats(third)["docstore_customer_aggregates"]
    assert (stats["inserted"], stats["updated"], stats["deleted"]) == (0, 1, 0)
    with store.get_database() as db:
        after = db[CUSTOMERS_COLLECTION].find_one({"_id": row[1]})
    assert after["total_amount_spent"] == pytest.approx(stored[row[1]]["total_amount_spent"] + 1000)


def test_load_fails_while_mongo_is_down_and_succeeds_on_retry(
    pg_source, mongo_server, tmp_path
):
    store = mongo_store(mongo_server.uri)
    resources = make_resources(tmp_path, pg_source, store)
    policy = dg.RetryPolicy(max_retries=3, delay=0.5, backoff=dg.Backoff.EXPONENTIAL,
                            jitter=dg.Jitter.PLUS_MINUS)
    # The server's parent-death signal is tied to the thread that starts it: the helper
    # thread starts it and stays alive until the main thread has restarted it itself.
    done = threading.Event()

    up = threading.Event()

    instance = dg.DagsterInstance.ephemeral()

    def first_attempt_failed() -> bool:
        return bool(instance.get_event_records(dg.EventRecordsFilter(
            event_type=dg.DagsterEventType.STEP_UP_FOR_RETRY), limit=1))

    def bring_back() -> None:
        # back once the load's first attempt has failed (not after a fixed time: on a busy
        # machine the steps before the load can take longer than the server stays down)
        deadline = time.monotonic() + 120
        while not first_attempt_failed() and time.monotonic() < deadline:
            time.sleep(0.1)
        time.sleep(0.5)
        mongo_server.start()
        up.set()
        done.wait(timeout=120)  # the server dies with the thread that started it

    mongo_server.stop()
    helper = threading.Thread(target=bring_back, daemon=True)
    started = time.monotonic()
    helper.start()
    try:
        result = dg.materialize(build_assets(policy), resources=resources,
                                run_config=FAST_LOAD, instance=instance)
    finally:
        up.wait(timeout=150)  # never stop the server while the thread is still starting it
        mongo_server.stop()
        done.set()
        helper.join()
        mongo_server.start()
    assert result.success
    retries = [e for e in result.all_events if e.event_type_value == "STEP_UP_FOR_RETRY"]
    assert retries and all(e.step_key == "customers_docstore_load" for e in retries)
    assert time.monotonic() - started >= 0.5
    with store.get_database() as db:
        assert db[CUSTOMERS_COLLECTION].count_documents({}) == (
            load_stats(result)["docstore_customer_aggregates"]["inserted"])
        assert db[INSIGHTS_COLLECTION].count_documents({}) == 4
