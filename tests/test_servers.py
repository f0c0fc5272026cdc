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
