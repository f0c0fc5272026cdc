"""The invoices RDS: PostgreSQL when INVOICES_DB_URL is set, else the DuckDB warehouse."""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import dagster as dg

from resources.paths import PlatformPaths
from resources.warehouse import Warehouse


class InvoicesDb(dg.ConfigurableResource):
    """Where `invoices.*` tables live: `url` (PostgreSQL) or the warehouse file."""

    url: str | None = None
    warehouse_path: str = "data/local/warehouse.duckdb"

    @classmethod
    def from_env(cls) -> InvoicesDb:
        return cls(
            url=os.environ.get("INVOICES_DB_URL") or None,
            warehouse_path=str(PlatformPaths.from_env().warehouse),
        )

    @property
    def backend(self) -> str:
        return "postgres" if self.url else "duckdb"

    @contextmanager
    def connect(self) -> Iterator[tuple[Any, str]]:
        """Yield (connection, dialect): psycopg in autocommit mode (transactions are
        explicit), or a DuckDB connection to the warehouse."""
        if self.url:
            import psycopg

            with psycopg.connect(self.url, autocommit=True) as conn:
                # A file's staging tables are temp tables: keep them in memory, not on disk
                # (must be set before the session's first temp table).
                conn.execute("SET temp_buffers = '256MB'")
                yield conn, "postgres"
        else:
            with Warehouse(database=self.warehouse_path).get_connection() as conn:
                yield conn, "duckdb"
