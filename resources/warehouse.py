"""The embedded DuckDB warehouse (`warehouse.duckdb` under the data root)."""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import duckdb
from dagster._utils.backoff import exponential_delay_generator
from dagster_duckdb import DuckDBResource

from resources.failures import full_disk_fails_at_once
from resources.lib.files import NoSpace, named_when_full
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
        """Connect, retrying (about 100 s in all) only while another process holds the file's
        lock, as DuckDBResource does; any other error (a full disk) raises at once. A file
        this call created but could not finish (a full disk) is removed, or every later
        open would refuse it as "not a valid DuckDB database file"."""
        fresh = self.database != ":memory:" and not Path(self.database).exists()
        delays = exponential_delay_generator()
        for attempt in range(11):
            try:
                with named_when_full(self.database, "opening the warehouse"):
                    return duckdb.connect(self.database, read_only=False,
                                          config={"custom_user_agent": "dagster",
                                                  **self.connection_config})
            except duckdb.IOException as exc:
                if "lock" not in str(exc).lower() or attempt == 10:
                    raise
                time.sleep(next(delays))
            except NoSpace:
                if fresh:
                    for leftover in (Path(self.database), Path(f"{self.database}.wal")):
                        leftover.unlink(missing_ok=True)
                raise
        raise AssertionError("unreachable")
