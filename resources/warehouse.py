"""The embedded DuckDB warehouse (`warehouse.duckdb` under the data root)."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import duckdb
from dagster_duckdb import DuckDBResource

from resources.paths import PlatformPaths


class Warehouse(DuckDBResource):
    """DuckDB warehouse; one writing process at a time (writers go through the `warehouse` pool)."""

    @classmethod
    def from_env(cls) -> Warehouse:
        return cls(database=str(PlatformPaths.from_env().warehouse))

    @contextmanager
    def get_connection(self) -> Iterator[duckdb.DuckDBPyConnection]:
        if self.database != ":memory:":
            Path(self.database).parent.mkdir(parents=True, exist_ok=True)
        with super().get_connection() as conn:
            try:
                yield conn
            except BaseException:
                conn.close()
                raise
