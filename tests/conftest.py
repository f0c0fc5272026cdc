"""Session fixtures for the real servers (see docs/servers.md).

- `pg_server` (session) / `pg_url` (function: a fresh empty database on that server)
- `mongo_server` (function view of one session server, with .stop()/.start()) / `mongodb_uri`
- `kafka_server` (session) / `kafka_bootstrap` ("127.0.0.1:PORT")
- change data capture: `pg_logical_server` (session, wal_level=logical) / `pg_logical_url`,
  `mariadb_server` (session, binlog on) / `mariadb_url`, `kafka_connect` (session: Kafka
  Connect + Debezium), `cdc_source(backend)` (a seeded database whose connector's snapshot is
  in Kafka), `retail_db_password` (the `retail` account's, on both databases)
- `spark_cluster` (session: standalone master + worker + Spark Connect) / `spark` (a
  `SparkResource` bound to it) / `spark_on_store` (bound to it and to `s3_server`: s3a)
- `trino_server` (session: one Trino, catalogs made with CREATE CATALOG) / `trino` (for one
  test: `trino.catalog(sql_catalog)` reads that PyIceberg SqlCatalog; dropped after the test)
- `small_disk`: a 64 MB tmpfs to fill (a full data root)
- `after_demo` (session): (DAGSTER_HOME, data root) after `python -m cli.demo --scale 0.2`
  on fresh temporary ones; shared by tests/test_demo_then_platform.py and tests/browser/

All listen on free loopback ports and stop at the end of the session. Without the tooling a
fixture skips with the reason; with CI=true the same problem fails the test instead.

Every test also gets `LANDING_SETTLE_SECONDS=0` and `LANDING_SWEEP_SECONDS=0` (the test
wrote its files whole and wants every change seen at once; tests of those rules set their
own) and the platform's known-notice filters (`assets`).
"""

from __future__ import annotations

import contextlib
import itertools
import os
import shutil
import subprocess
import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import TypeVar

import pytest

from assets import KNOWN_NOTICES
from tests.servers import Server, ServerUnavailable, in_ci

S = TypeVar("S", bound=Server)
ROOT = Path(__file__).resolve().parents[1]


def pytest_configure(config: pytest.Config) -> None:
    """The same notices the platform silences, as pytest filters (pytest resets the
    warning filters around every test)."""
    for message, category, module in KNOWN_NOTICES:
        config.addinivalue_line("filterwarnings", f"ignore:{message}:{category}:{module}")


@pytest.fixture(autouse=True)
def _settled_at_once(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("LANDING_SETTLE_SECONDS", "0")
    monkeypatch.setenv("LANDING_SWEEP_SECONDS", "0")


def _start_or_skip(factory: Callable[[], S]) -> S:
    try:
        return factory()
    except ServerUnavailable as exc:
        if in_ci():
            pytest.fail(f"CI=true and a test server could not start: {exc}", pytrace=False)
        pytest.skip(f"test server unavailable: {exc}")


# --- PostgreSQL -------------------------------------------------------------------------


@pytest.fixture(scope="session")
def pg_server() -> Iterator[object]:
    """One throwaway PostgreSQL cluster for the session: `.host`, `.port`, `.admin_url`,
    `.url(dbname)`, `.create_database()`."""
    from tests.servers.postgres import start_postgres

    server = _start_or_skip(start_postgres)
    yield server
    server.close()


@pytest.fixture
def pg_url(pg_server) -> Iterator[str]:
    """URL of a fresh, empty database: postgresql://postgres@127.0.0.1:PORT/test_..."""
    url = pg_server.create_database()
    yield url
    try:
        pg_server.drop_database(url)
    except Exception:  # noqa: BLE001 - the cluster is thrown away at session end anyway
        pass


# --- MongoDB wire protocol (FerretDB) -----------------------------------------------------


@pytest.fixture(scope="session")
def _mongo_session_server() -> Iterator[object]:
    from tests.servers.mongo import start_mongo

    server = _start_or_skip(start_mongo)
    yield server
    server.close()


@pytest.fixture
def mongo_server(_mongo_session_server) -> Iterator[object]:
    """The session's MongoDB-wire server: `.uri`, `.stop()`, `.start()`, `.running`, and
    `with mongo_server.stopped(): ...`. It is running again after every test that uses it."""
    yield _mongo_session_server
    _mongo_session_server.start()


@pytest.fixture(scope="session")
def mongodb_uri(_mongo_session_server) -> str:
    """mongodb://127.0.0.1:PORT/ of a FerretDB server; use a unique database name per test."""
    return _mongo_session_server.uri


# --- Apache Kafka ---------------------------------------------------------------------------


@pytest.fixture(scope="session")
def kafka_server() -> Iterator[object]:
    """One KRaft broker for the session: `.bootstrap`, `.host`, `.port`, `.version`."""
    from tests.servers.kafka import start_kafka

    server = _start_or_skip(start_kafka)
    yield server
    server.close()


@pytest.fixture(scope="session")
def kafka_bootstrap(kafka_server) -> str:
    """"127.0.0.1:PORT" of the session's Kafka broker (topics auto-created, 1 partition)."""
    return kafka_server.bootstrap


# --- Change data capture: PostgreSQL (logical), MariaDB, Kafka Connect + Debezium ---------


@pytest.fixture(scope="session")
def retail_db_password() -> str:
    """The password of the `retail` account on `pg_logical_server` and `mariadb_server`;
    the Kafka Connect worker has it as RETAIL_DB_PASSWORD (the `env` config provider)."""
    import secrets

    return secrets.token_urlsafe(16)


@pytest.fixture(scope="session")
def pg_logical_server(retail_db_password: str) -> Iterator[object]:
    """A PostgreSQL cluster with `wal_level=logical` (replication slots, WAL senders) and a
    `retail` role (LOGIN REPLICATION, scram password): like `pg_server` otherwise."""
    from tests.servers.postgres import start_postgres

    def start() -> object:
        server = start_postgres(logical=True)
        server.add_password_role("retail", retail_db_password)
        return server

    server = _start_or_skip(start)
    yield server
    server.close()


@pytest.fixture
def pg_logical_url(pg_logical_server) -> Iterator[str]:
    """postgresql://retail:PASSWORD@127.0.0.1:PORT/retail_...: a fresh empty database that
    `retail` owns; dropped after the test (its replication slots first)."""
    url = pg_logical_server.create_database(prefix="retail", owner="retail")
    yield url
    with contextlib.suppress(Exception):
        pg_logical_server.drop_database(url)


@pytest.fixture(scope="session")
def mariadb_server(retail_db_password: str) -> Iterator[object]:
    """One MariaDB server for the session with the binlog on (ROW, FULL image), reporting
    version 8.0.0-<real> for Debezium's MySQL connector: `.url(db)`, `.admin_url`,
    `.create_database()`, `.drop_database(url)`, `.stop()`/`.start()`."""
    from tests.servers.mariadb import start_mariadb

    server = _start_or_skip(lambda: start_mariadb(retail_password=retail_db_password))
    yield server
    server.close()


@pytest.fixture
def mariadb_url(mariadb_server) -> Iterator[str]:
    """mysql://retail:PASSWORD@127.0.0.1:PORT/test_...: a fresh empty database (utf8mb4)
    that `retail` has every privilege on; dropped after the test."""
    url = mariadb_server.create_database()
    yield url
    with contextlib.suppress(Exception):
        mariadb_server.drop_database(url)


@pytest.fixture(scope="session")
def kafka_connect(kafka_server, retail_db_password: str) -> Iterator[object]:
    """One Kafka Connect worker (standalone, Debezium PostgreSQL + MySQL connectors) on the
    session's broker: `.url` (REST), `.request()`, `.status(name)`, `.config(name)`,
    `.delete(name)`, `.wait_running(name)`, `.stop()`/`.start()` (offsets kept in a file;
    connectors must be registered again after a start: standalone keeps configs in memory)."""
    from tests.servers.kafka_connect import PASSWORD_ENV, start_kafka_connect

    server = _start_or_skip(lambda: start_kafka_connect(
        kafka_server.bootstrap, env={PASSWORD_ENV: retail_db_password}))
    yield server
    server.close()


CDC_BACKENDS = ("postgresql", "mariadb")
_CDC_COUNTER = itertools.count(1)


@pytest.fixture
def cdc_source(request: pytest.FixtureRequest, kafka_connect, kafka_server) -> Iterator[object]:
    """A factory: `cdc_source(backend, extracts=<real set>, generated=None, topic_prefix=None)`
    -> `CdcSource` (unpacks as `(db_url, topics)`). `backend` is "postgresql" or "mariadb";
    it makes a fresh database on that server, seeds it (the real extracts, another folder, or
    `generated` synthetic invoices), registers a connector of its own (`python -m cli.cdc`'s
    config; a topic prefix of its own unless given) and returns once the snapshot is in Kafka
    (each topic's end offset >= the rows seeded). Connectors and databases are removed after
    the test."""
    from cli import cdc, retail_db
    from resources.retail_db import RetailDb
    from tests.late_payments.conftest import REAL_EXTRACTS
    from tests.servers.kafka_connect import CdcSource, wait_for_offsets

    made: list[tuple[object, str, str]] = []

    def make(
        backend: str = "postgresql",
        extracts: Path | None = None,
        generated: int | None = None,
        topic_prefix: str | None = None,
        timeout: float = 120,
    ) -> CdcSource:
        assert backend in CDC_BACKENDS, backend
        server = request.getfixturevalue(
            "pg_logical_server" if backend == "postgresql" else "mariadb_server")
        url = (server.create_database(prefix="retail", owner="retail")
               if backend == "postgresql" else server.create_database())
        n = next(_CDC_COUNTER)
        name = f"retail-{backend}-{os.getpid()}-{n}"  # also its PostgreSQL slot (63 chars)
        made.append((server, url, name))
        if generated is None and extracts is None:
            if not REAL_EXTRACTS.is_dir():
                if in_ci():
                    pytest.fail(f"{REAL_EXTRACTS} is missing under CI")
                pytest.skip(f"real extracts not found at {REAL_EXTRACTS}")
            extracts = REAL_EXTRACTS
        loaded = retail_db.seed(RetailDb(url=url), extracts=extracts, generated=generated)
        prefix = topic_prefix or f"cdc{os.getpid()}_{n}"
        config = cdc.connector_config(url, kafka_server.bootstrap, name=name,
                                      topic_prefix=prefix)
        cdc.register(kafka_connect.url, config, name)
        kafka_connect.wait_running(name)
        topics = cdc.topics(url, prefix)
        wait_for_offsets(kafka_server.bootstrap,
                         {topics[t]: loaded.counts[t] for t in topics}, timeout=timeout)
        return CdcSource(backend, url, topics, name, prefix, loaded.counts, config)

    yield make
    for server, url, name in reversed(made):
        with contextlib.suppress(Exception):
            kafka_connect.delete(name)
        with contextlib.suppress(Exception):
            server.drop_database(url)


# --- An S3-compatible object store (SeaweedFS) --------------------------------------------


@pytest.fixture(scope="session")
def _s3_session_server() -> Iterator[object]:
    from tests.servers.s3 import start_s3

    server = _start_or_skip(start_s3)
    yield server
    server.close()


@pytest.fixture
def s3_server(_s3_session_server) -> Iterator[object]:
    """The session's object store: `.endpoint_url`, `.env()` (the `AWS_*` variables),
    `.settings()`, `.bucket()`, `.requests()`, `with s3_server.stopped(): ...`. Running
    again after every test that uses it."""
    yield _s3_session_server
    _s3_session_server.start()


@pytest.fixture
def s3_bucket(s3_server, monkeypatch: pytest.MonkeyPatch) -> str:
    """A fresh, empty bucket, with the store's `AWS_*` variables set for the test."""
    for name, value in s3_server.env().items():
        monkeypatch.setenv(name, value)
    return s3_server.bucket()


# --- Apache Spark (standalone + Spark Connect) ------------------------------------------------


@pytest.fixture(scope="session")
def spark_cluster() -> Iterator[object]:
    """One Spark cluster for the session: `.remote` ("sc://127.0.0.1:PORT")."""
    from tests.servers.spark import start_spark

    server = _start_or_skip(start_spark)
    yield server
    server.close()


@pytest.fixture(scope="session")
def spark(spark_cluster) -> Iterator[object]:
    """A `SparkResource` on the session's cluster."""
    from resources.spark import SparkResource

    resource = SparkResource(remote=spark_cluster.remote)
    yield resource
    resource.close()


@pytest.fixture
def spark_on_store(spark_cluster, s3_server) -> Iterator[object]:
    """A `SparkResource` on the session's cluster whose sessions reach the object store
    (`s3a://`, the store's `AWS_*` settings)."""
    from resources.spark import SparkResource

    resource = SparkResource(remote=spark_cluster.remote, **{
        name.lower(): value for name, value in s3_server.env().items()})
    yield resource
    resource.close()


# --- Trino (reads the commerce Iceberg catalog) ---------------------------------------------


@pytest.fixture(scope="session")
def trino_server() -> Iterator[object]:
    """One Trino server for the session, no catalog yet: `.url`, `.execute(sql)` (JSON
    rows), `.create_catalog(name, props)`, `.drop_catalog(name)`, `.connect(catalog)`."""
    from tests.servers.trino import start_trino

    server = _start_or_skip(start_trino)
    yield server
    server.close()


@pytest.fixture
def trino(trino_server) -> Iterator[object]:
    """The session's Trino for one test: `trino.catalog(sql_catalog)` makes a Trino catalog
    (named like the PyIceberg catalog: `commerce`) on that SqlCatalog's database, warehouse
    and S3 settings, with `.query(sql, params)`; the test's catalogs are dropped after it."""
    from tests.servers.trino import TestCatalogs

    catalogs = TestCatalogs(trino_server)
    yield catalogs
    catalogs.close()


# --- A small disk to fill -------------------------------------------------------------------


@pytest.fixture
def small_disk(tmp_path: Path) -> Iterator[object]:
    """A 64 MB tmpfs under tmp_path (`tests/servers/disk.py`): `.path`, `.fill(leave)`,
    `.free()`. Needs root to mount; skips without (fails with CI=true)."""
    from tests.servers.disk import SmallDisk

    disk = _start_or_skip(lambda: SmallDisk(tmp_path / "disk", 64))
    yield disk
    disk.unmount()


# --- The demo's instance ------------------------------------------------------------------


@pytest.fixture(scope="session")
def after_demo(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """(DAGSTER_HOME, data root) after `python -m cli.demo` on them, at a small scale.

    Once per session (the demo takes minutes): tests that use it may add to the instance
    (sensor ticks) but must not change what the demo materialized."""
    tmp = tmp_path_factory.mktemp("demo")
    home, data = tmp / "home", tmp / "data"
    home.mkdir()
    shutil.copy(ROOT / "dagster.yaml", home / "dagster.yaml")
    env = {k: v for k, v in os.environ.items() if not k.endswith(("_DB_URL", "_URI"))}
    env.update(DAGSTER_HOME=str(home), PLATFORM_DATA_DIR=str(data))
    subprocess.run([sys.executable, "-m", "cli.demo", "--scale", "0.2"], cwd=ROOT, env=env,
                   check=True, capture_output=True, timeout=900)
    return home, data
