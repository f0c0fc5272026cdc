"""Session fixtures for the real servers (see docs/servers.md).

- `pg_server` (session) / `pg_url` (function: a fresh empty database on that server)
- `mongo_server` (function view of one session server, with .stop()/.start()) / `mongodb_uri`
- `kafka_server` (session) / `kafka_bootstrap` ("127.0.0.1:PORT")
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
