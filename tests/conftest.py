"""Session fixtures for the real servers (see docs/servers.md).

- `pg_server` (session) / `pg_url` (function: a fresh empty database on that server)
- `mongo_server` (function view of one session server, with .stop()/.start()) / `mongodb_uri`
- `kafka_server` (session) / `kafka_bootstrap` ("127.0.0.1:PORT")

All listen on free loopback ports and stop at the end of the session. Without the tooling a
fixture skips with the reason; with CI=true the same problem fails the test instead.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import TypeVar

import pytest

from tests.servers import Server, ServerUnavailable, in_ci

S = TypeVar("S", bound=Server)


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
