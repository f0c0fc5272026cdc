"""A SQL source database: SQLite file by default, PostgreSQL when its URL variable is set."""

from __future__ import annotations

import os
import sqlite3
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import Any

import dagster as dg
import polars as pl

from resources.paths import PlatformPaths


class SqlSource(dg.ConfigurableResource):
    """A DB-API connection to `sqlite:///path` or `postgresql://...`, one code path for both."""

    url: str

    @classmethod
    def from_env(cls, env_var: str, sqlite_name: str) -> SqlSource:
        default = f"sqlite:///{PlatformPaths.from_env().sources / sqlite_name}"
        return cls(url=os.environ.get(env_var) or default)

    @property
    def is_postgres(self) -> bool:
        return self.url.startswith(("postgresql://", "postgres://"))

    @property
    def placeholder(self) -> str:
        """The DB-API parameter marker of this backend (`?` for SQLite, `%s` for psycopg)."""
        return "%s" if self.is_postgres else "?"

    @property
    def sqlite_path(self) -> str:
        if not self.url.startswith("sqlite:///"):
            raise ValueError(f"not a SQLite URL: {self.url!r}")
        return self.url.removeprefix("sqlite:///")

    @contextmanager
    def connect(self) -> Iterator[Any]:
        """Open a connection; commits on success, rolls back on error."""
        if self.is_postgres:
            import psycopg

            with psycopg.connect(self.url) as conn:
                yield conn
        else:
            os.makedirs(os.path.dirname(self.sqlite_path) or ".", exist_ok=True)
            conn = sqlite3.connect(self.sqlite_path)
            try:
                with conn:
                    yield conn
            finally:
                conn.close()

    def read_polars(self, query: str, params: Sequence[Any] | None = None) -> pl.DataFrame:
        """Run a query (parameters bound, marker = `placeholder`) into a Polars frame."""
        with self.connect() as conn:
            key = "params" if self.is_postgres else "parameters"  # psycopg vs sqlite3 name
            options = {key: list(params)} if params else None
            return pl.read_database(query, conn, execute_options=options)
