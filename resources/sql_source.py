"""A SQL source database: SQLite file by default, PostgreSQL when its URL variable is set."""

from __future__ import annotations

import os
import sqlite3
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import Any

import dagster as dg
import polars as pl

from resources.env import checked, redact
from resources.redaction import guarded


class SqlSource(dg.ConfigurableResource):
    """A DB-API connection to `sqlite:///path` or `postgresql://...`, one code path for both.
    A server URL arrives as an `EnvVar`, so its password never shows in the UI."""

    url: str

    @property
    def _url(self) -> str:
        return checked(self.url, "sql", "SqlSource.url") or ""

    @property
    def is_postgres(self) -> bool:
        return self._url.startswith(("postgresql://", "postgres://"))

    @property
    def placeholder(self) -> str:
        """The DB-API parameter marker of this backend (`?` for SQLite, `%s` for psycopg)."""
        return "%s" if self.is_postgres else "?"

    @property
    def sqlite_path(self) -> str:
        if not self._url.startswith("sqlite:///"):
            raise ValueError(f"not a SQLite URL: {self.describe()}")
        return self._url.removeprefix("sqlite:///")

    def describe(self) -> str:
        """The source, safe for logs and metadata (no password)."""
        return redact(self._url)

    @contextmanager
    def connect(self) -> Iterator[Any]:
        """Open a connection; commits on success, rolls back on error. Errors leave with no
        secret in their text (`guarded`)."""
        if self.is_postgres:
            import psycopg

            with guarded(), psycopg.connect(self._url) as conn:
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
