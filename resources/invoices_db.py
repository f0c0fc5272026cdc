"""The invoices RDS: PostgreSQL when INVOICES_DB_URL is set, else the DuckDB warehouse."""

from __future__ import annotations

import os

import dagster as dg

from resources.paths import PlatformPaths


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
