"""Each resource runs embedded with no environment, and switches to its server by environment."""

from __future__ import annotations

import uuid
from pathlib import Path

import pytest

from resources import build_resources

SERVER_VARS = ["INVOICES_DB_URL", "PURCHASES_DB_URL", "ECOMMERCE_DB_URL",
               "KAFKA_BOOTSTRAP_SERVERS", "ORDERS_TOPIC", "MONGODB_URI", "MONGODB_DATABASE"]


@pytest.fixture
def clean_env(tmp_path, monkeypatch) -> Path:
    for var in SERVER_VARS:
        monkeypatch.delenv(var, raising=False)
    monkeypatch.setenv("PLATFORM_DATA_DIR", str(tmp_path / "root"))
    return tmp_path / "root"


def test_no_environment_means_everything_embedded_under_the_data_root(clean_env):
    res = build_resources()
    assert res["paths"].root == clean_env.resolve()
    assert Path(res["warehouse"].database) == clean_env.resolve() / "warehouse.duckdb"
    assert res["invoices_db"].backend == "duckdb"
    assert res["purchases_db"].url.endswith("/sources/purchases.sqlite")
    assert res["ecommerce_db"].url.endswith("/sources/ecommerce.sqlite")
    assert not res["purchases_db"].is_postgres
    assert not res["kafka"].enabled and res["kafka"].topic == "orders"
    assert res["docstore"].embedded and res["docstore"].database == "commerce"


def test_embedded_stores_work_with_no_server(clean_env):
    res = build_resources()
    with res["invoices_db"].connect() as (conn, dialect):
        assert dialect == "duckdb" and conn.execute("SELECT 42").fetchone() == (42,)
    with res["purchases_db"].connect() as conn:
        conn.execute("CREATE TABLE t (x INTEGER)")
        conn.execute("INSERT INTO t VALUES (?)", (7,))
    assert res["purchases_db"].read_polars("SELECT x FROM t WHERE x = ?", [7])["x"].to_list() == [7]
    with res["docstore"].get_database() as db:
        db.things.replace_one({"_id": 1}, {"_id": 1, "v": "a"}, upsert=True)
    with res["docstore"].get_database() as db:
        assert db.things.find_one({"_id": 1})["v"] == "a"


def test_urls_switch_each_part_to_its_server(clean_env, monkeypatch):
    monkeypatch.setenv("INVOICES_DB_URL", "postgresql://u@127.0.0.1:5/inv")
    monkeypatch.setenv("PURCHASES_DB_URL", "postgresql://u@127.0.0.1:5/purchases")
    monkeypatch.setenv("ECOMMERCE_DB_URL", "postgresql://u@127.0.0.1:5/shop")
    monkeypatch.setenv("KAFKA_BOOTSTRAP_SERVERS", "127.0.0.1:9092")
    monkeypatch.setenv("ORDERS_TOPIC", "orders-eu")
    monkeypatch.setenv("MONGODB_URI", "mongodb://127.0.0.1:27017/")
    monkeypatch.setenv("MONGODB_DATABASE", "shop")
    res = build_resources()
    assert res["invoices_db"].backend == "postgres"
    assert res["purchases_db"].is_postgres and res["purchases_db"].placeholder == "%s"
    assert res["ecommerce_db"].describe() == "postgresql://127.0.0.1:5/shop"
    # every server setting is bound as a reference to its variable, never as its value
    assert res["ecommerce_db"].url.env_var_name == "ECOMMERCE_DB_URL"
    assert res["invoices_db"].url.env_var_name == "INVOICES_DB_URL"
    assert res["docstore"].uri.env_var_name == "MONGODB_URI"
    assert res["kafka"].bootstrap_servers.env_var_name == "KAFKA_BOOTSTRAP_SERVERS"
    assert res["kafka"].enabled and res["kafka"].topic == "orders-eu"
    assert not res["docstore"].embedded and res["docstore"].database == "shop"


@pytest.mark.integration
def test_sql_resources_talk_to_real_postgresql(clean_env, monkeypatch, pg_url):
    monkeypatch.setenv("INVOICES_DB_URL", pg_url)
    monkeypatch.setenv("PURCHASES_DB_URL", pg_url)
    res = build_resources()
    with res["invoices_db"].connect() as (conn, dialect):
        assert dialect == "postgres"
        assert conn.execute("SELECT current_database()").fetchone()[0] == pg_url.rsplit("/")[-1]
    with res["purchases_db"].connect() as conn:
        conn.execute("CREATE TABLE t (x INTEGER)")
        conn.execute("INSERT INTO t VALUES (%s)", (7,))
    frame = res["purchases_db"].read_polars("SELECT x FROM t WHERE x = %s", [7])
    assert frame["x"].to_list() == [7]


@pytest.mark.integration
def test_docstore_talks_to_a_real_mongodb_wire_server(clean_env, monkeypatch, mongodb_uri):
    monkeypatch.setenv("MONGODB_URI", mongodb_uri)
    monkeypatch.setenv("MONGODB_DATABASE", f"res_{uuid.uuid4().hex[:8]}")
    res = build_resources()
    with res["docstore"].get_database() as db:
        db.things.replace_one({"_id": 1}, {"_id": 1, "v": "a"}, upsert=True)
        assert db.client.server_info()["ok"] == 1
    with res["docstore"].get_database() as db:
        assert db.things.find_one({"_id": 1})["v"] == "a"


@pytest.mark.integration
def test_kafka_resource_round_trip_on_a_real_broker(clean_env, monkeypatch, kafka_bootstrap):
    topic = f"res-{uuid.uuid4().hex[:8]}"
    monkeypatch.setenv("KAFKA_BOOTSTRAP_SERVERS", kafka_bootstrap)
    monkeypatch.setenv("ORDERS_TOPIC", topic)
    kafka = build_resources()["kafka"]
    producer = kafka.producer()
    producer.produce(kafka.topic, key=b"o-1", value=b'{"order_id": "o-1"}')
    assert producer.flush(10) == 0
    consumer = kafka.consumer(group_id=f"g-{topic}")
    consumer.subscribe([kafka.topic])
    try:
        message = None
        for _ in range(40):
            message = consumer.poll(0.5)
            if message is not None and not message.error():
                break
        assert message is not None and message.value() == b'{"order_id": "o-1"}'
    finally:
        consumer.close()
