"""One way to run a transaction and one way to create a domain's tables.

`transaction(conn)` works on DuckDB, psycopg (PostgreSQL) and sqlite3 connections: the block
commits when it ends and rolls back on any error, which is re-raised. `Schema` is a domain's
DDL, declared once next to its tables; `ensure_schemas` applies it the first time a process
opens a database, not on every asset run.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import sqlite3
import threading
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import Any

import duckdb


@contextlib.contextmanager
def transaction(conn: Any) -> Iterator[Any]:
    """BEGIN … COMMIT on `conn`; ROLLBACK (then re-raise) when the block raises."""
    if isinstance(conn, duckdb.DuckDBPyConnection):
        conn.begin()
        try:
            yield conn
        except BaseException:
            with contextlib.suppress(duckdb.Error):
                conn.rollback()
            raise
        conn.commit()
    elif isinstance(conn, sqlite3.Connection):  # the write lock up front: no upgrade deadlock
        conn.execute("BEGIN IMMEDIATE")
        try:
            yield conn
        except BaseException:
            conn.execute("ROLLBACK")
            raise
        conn.execute("COMMIT")
    else:  # psycopg 3
        with conn.transaction():
            yield conn


@dataclass(frozen=True)
class Schema:
    """A domain's tables: DDL statements (idempotent, `IF NOT EXISTS`) and, for a domain that
    may live on PostgreSQL, statements that only PostgreSQL runs (indexes, storage)."""

    name: str
    ddl: tuple[str, ...]
    postgres_only: tuple[str, ...] = ()

    def statements(self, dialect: str) -> tuple[str, ...]:
        return self.ddl + (self.postgres_only if dialect == "postgres" else ())

    @property
    def fingerprint(self) -> str:
        return hashlib.sha256("\n".join(self.ddl + self.postgres_only).encode()).hexdigest()


_applied: set[tuple[str, str]] = set()


def database_identity(path: str) -> str | None:
    """Who a database file is (path and inode, so a deleted and recreated file is another
    database); None for an in-memory or not yet created database."""
    if path == ":memory:" or not os.path.exists(path):
        return None
    st = os.stat(path)
    return f"{os.path.realpath(path)}#{st.st_dev}:{st.st_ino}"
_lock = threading.Lock()


def ensure_schemas(
    conn: Any, database: str | None, schemas: Iterable[Schema], dialect: str = "duckdb"
) -> None:
    """Create the tables of `schemas` in one transaction unless this process already did for
    `database` (an identity of the database: file and inode, or server URL; None = always)."""
    with _lock:
        todo = [s for s in schemas if database is None or (database, s.fingerprint) not in _applied]
        if not todo:
            return
        with transaction(conn):
            for schema in todo:
                for statement in schema.statements(dialect):
                    conn.execute(statement)
        if database is not None:
            _applied.update((database, s.fingerprint) for s in todo)
