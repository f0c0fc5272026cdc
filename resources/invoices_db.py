"""The invoices RDS: PostgreSQL when INVOICES_DB_URL is set, else the DuckDB warehouse."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import dagster as dg

from resources.env import DEFAULT_DATA_DIR, checked, resolve
from resources.failures import full_disk_fails_at_once
from resources.redaction import guarded
from resources.sql import Schema, ensure_schemas
from resources.warehouse import Warehouse


class InvoicesDb(dg.ConfigurableResource):
    """Where `invoices.*` tables live: `url` (PostgreSQL, an `EnvVar`) or the warehouse file."""

    url: str | None = None
    warehouse_path: str = f"{DEFAULT_DATA_DIR}/warehouse.duckdb"

    @property
    def backend(self) -> str:
        return "postgres" if resolve(self.url) else "duckdb"

    @contextmanager
    def connect(self, *schemas: Schema) -> Iterator[tuple[Any, str]]:
        """Yield (connection, dialect) with the tables of `schemas` in place: psycopg in
        autocommit mode (transactions are explicit), or a DuckDB warehouse connection. The
        URL is validated first; errors leave with no secret in their text (`guarded`)."""
        url = checked(self.url, "postgres", "InvoicesDb.url")
        if not url:
            with Warehouse(database=self.warehouse_path).get_connection(*schemas) as conn:
                yield conn, "duckdb"
            return
        import psycopg

        with (guarded(),
              full_disk_fails_at_once(Path(self.warehouse_path).parent, "loading invoices"),
              psycopg.connect(url, autocommit=True) as conn):
            # A file's staging tables are temp tables: keep them in memory, not on disk
            # (must be set before the session's first temp table).
            conn.execute("SET temp_buffers = '256MB'")
            ensure_schemas(conn, url, schemas, dialect="postgres")
            yield conn, "postgres"
