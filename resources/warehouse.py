"""The embedded DuckDB warehouse (`warehouse.duckdb` under the data root)."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import duckdb
from dagster._utils.backoff import backoff
from dagster_duckdb import DuckDBResource

from resources.failures import full_disk_fails_at_once
from resources.files import named_when_full
from resources.sql import Schema, database_identity, ensure_schemas


class Warehouse(DuckDBResource):
    """DuckDB warehouse; one writing process at a time (writers go through the `warehouse`
    pool). Sessions run in UTC. A full disk inside a connection's block (the warehouse, or a
    lake file written meanwhile) fails the step at once, naming the path."""

    @contextmanager
    def get_connection(self, *schemas: Schema) -> Iterator[duckdb.DuckDBPyConnection]:
        """A connection on which the tables of `schemas` exist (created the first time this
        process opens this database file)."""
        with full_disk_fails_at_once(self.database, "writing the warehouse"):
            if self.database != ":memory:":
                Path(self.database).parent.mkdir(parents=True, exist_ok=True)
            conn = self._open()
            try:
                conn.execute("SET TimeZone = 'UTC'")
                ensure_schemas(conn, database_identity(self.database), schemas)
                yield conn
            finally:
                conn.close()  # never hand back a connection inside a failed transaction

    def _open(self) -> duckdb.DuckDBPyConnection:
        """Connect as DuckDBResource does (retrying while another process holds the file's
        lock), except that a full disk is not waited on for minutes: it raises at once."""

        def connect() -> duckdb.DuckDBPyConnection:
            with named_when_full(self.database, "opening the warehouse"):
                return duckdb.connect(self.database, read_only=False,
                                      config={"custom_user_agent": "dagster",
                                              **self.connection_config})

        return backoff(fn=connect, retry_on=(RuntimeError, duckdb.IOException), max_retries=10)
