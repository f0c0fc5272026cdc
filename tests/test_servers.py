"""The real servers of the test fixtures work over real connections."""

from __future__ import annotations

import pytest

pytestmark = pytest.mark.integration


def test_postgres_round_trip(pg_url: str) -> None:
    import psycopg

    with psycopg.connect(pg_url) as conn:
        conn.execute("create table t (id int primary key, name text)")
        conn.execute("insert into t values (%s, %s), (%s, %s)", (1, "a", 2, "b"))
        rows = conn.execute("select id, name from t order by id").fetchall()
        version = conn.execute("show server_version").fetchone()[0]
    assert rows == [(1, "a"), (2, "b")]
    assert int(version.split(".")[0]) >= 13


def test_pg_url_is_a_fresh_database_each_time(pg_server, pg_url: str) -> None:
    import psycopg

    other = pg_server.create_database()
    assert other != pg_url
    with psycopg.connect(pg_url) as conn:
        tables = conn.execute(
            "select count(*) from information_schema.tables where table_schema = 'public'"
        ).fetchone()[0]
    assert tables == 0
    assert pg_server.host == "127.0.0.1" and pg_server.port > 0


def test_mongo_insert_find(mongodb_uri: str) -> None:
    import pymongo

    with pymongo.MongoClient(mongodb_uri, serverSelectionTimeoutMS=5000) as client:
        coll = client["test_servers_mongo"]["docs"]
        coll.drop()
        coll.insert_many([{"_id": i, "n": i * i} for i in range(5)])
        coll.create_index("n")
        found = list(coll.find({"n": {"$gte": 4}}, sort=[("_id", 1)]))
        assert [d["_id"] for d in found] == [2, 3, 4]
        coll.update_one({"_id": 2}, {"$set": {"n": 0}}, upsert=True)
        assert coll.count_documents({"n": 0}) == 2


def test_mongo_stop_and_restart_keeps_port_and_data(mongo_server) -> None:
    import pymongo
    from pymongo.errors import PyMongoError

    uri = mongo_server.uri
    with pymongo.MongoClient(uri, serverSelectionTimeoutMS=5000) as client:
        client["test_servers_restart"]["docs"].insert_one({"_id": "kept"})
    with mongo_server.stopped():
        assert not mongo_server.running
        with pymongo.MongoClient(uri, serverSelectionTimeoutMS=500) as client:
            with pytest.raises(PyMongoError):
                client.admin.command("ping")
    assert mongo_server.uri == uri
    with pymongo.MongoClient(uri, serverSelectionTimeoutMS=5000) as client:
        assert client["test_servers_restart"]["docs"].find_one({"_id": "kept"}) is not None


def test_kafka_produce_consume_round_trip(kafka_bootstrap: str) -> None:
    import uuid

    from confluent_kafka import Consumer, Producer

    topic = f"test-servers-{uuid.uuid4().hex[:8]}"
    producer = Producer({"bootstrap.servers": kafka_bootstrap})
    for i in range(3):
        producer.produce(topic, key=str(i), value=f"order-{i}".encode())
    assert producer.flush(30) == 0

    consumer = Consumer(
        {
            "bootstrap.servers": kafka_bootstrap,
            "group.id": f"g-{topic}",
            "auto.offset.reset": "earliest",
            "enable.auto.commit": False,
        }
    )
    consumer.subscribe([topic])
    got: list[bytes] = []
    try:
        for _ in range(60):
            msg = consumer.poll(1.0)
            if msg is None:
                if len(got) == 3:
                    break
                continue
            assert msg.error() is None, msg.error()
            got.append(msg.value())
            if len(got) == 3:
                break
        consumer.commit(asynchronous=False)
    finally:
        consumer.close()
    assert got == [b"order-0", b"order-1", b"order-2"]


def test_trino_answers_on_loopback_and_keeps_catalogs_across_a_restart(
    trino_server, tmp_path
) -> None:
    from pyiceberg.catalog.sql import SqlCatalog

    from tests.servers.trino import iceberg_catalog_properties

    assert trino_server.host == "127.0.0.1" and trino_server.port > 0
    assert trino_server.execute("SELECT 1") == [[1]]
    assert trino_server.execute("SELECT node_version, coordinator FROM system.runtime.nodes") == [
        [trino_server.version, True]]
    uri = f"sqlite:///{tmp_path / 'catalog.sqlite'}"
    SqlCatalog("commerce", uri=uri, warehouse=tmp_path.as_uri())  # Trino creates no catalog tables
    props = iceberg_catalog_properties(uri, str(tmp_path))
    trino_server.create_catalog("restart_probe", props)
    try:
        with trino_server.stopped():
            pass
        assert "restart_probe" in trino_server.catalogs()  # the file catalog store
        assert trino_server.execute("SHOW SCHEMAS FROM restart_probe") == [
            ["information_schema"], ["system"]]
    finally:
        trino_server.drop_catalog("restart_probe")
    assert "restart_probe" not in trino_server.catalogs()


def _unavailable() -> None:
    from tests.servers import ServerUnavailable

    raise ServerUnavailable("no such tool here")


@pytest.mark.parametrize(
    "ci, outcome", [("", pytest.skip.Exception), ("true", pytest.fail.Exception)]
)
def test_missing_tooling_skips_locally_and_fails_under_ci(
    ci: str, outcome: type[BaseException], monkeypatch: pytest.MonkeyPatch
) -> None:
    from tests.conftest import _start_or_skip

    monkeypatch.setenv("CI", ci)
    with pytest.raises(outcome, match="no such tool here"):
        _start_or_skip(_unavailable)
