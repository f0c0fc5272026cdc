"""The retail point-of-sale database (RETAIL_DB_URL): PostgreSQL or MariaDB/MySQL.

The source of the four late-payment extracts as a live database, read by change data capture
(docs/cdc.md). Its tables and how they are loaded and dumped: `resources.lib.retail_source`.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any
from urllib.parse import unquote, urlsplit

import dagster as dg

from resources.env import checked, redact
from resources.redaction import guarded


def mysql_params(url: str) -> dict[str, Any]:
    """PyMySQL's connect() arguments for `mysql://user:password@host:port/database`."""
    parts = urlsplit(url)
    return {
        "host": parts.hostname or "127.0.0.1",
        "port": parts.port or 3306,
        "user": unquote(parts.username or ""),
        "password": unquote(parts.password or ""),
        "database": unquote(parts.path.lstrip("/")) or None,
        "charset": "utf8mb4",
    }


class RetailDb(dg.ConfigurableResource):
    """The retail point-of-sale database: `url` (an `EnvVar`, RETAIL_DB_URL), postgresql://
    (psycopg) or mysql:// / mariadb:// (PyMySQL)."""

    url: str

    @property
    def _url(self) -> str:
        return checked(self.url, "retail", "RetailDb.url") or ""

    @property
    def dialect(self) -> str:
        """ "postgresql" or "mysql" (MariaDB speaks MySQL's dialect)."""
        return "postgresql" if self._url.startswith(("postgresql://", "postgres://")) else "mysql"

    def describe(self) -> str:
        """The database, safe for logs and metadata (no password)."""
        return redact(self._url)

    def connect(self) -> Any:
        """A new DB-API connection (not autocommit; the caller closes it). A failed connect
        leaves with no secret in its text (`guarded`)."""
        url = self._url
        with guarded():
            if self.dialect == "postgresql":
                import psycopg

                return psycopg.connect(url)
            import pymysql

            return pymysql.connect(**mysql_params(url))

    @contextmanager
    def connection(self) -> Iterator[Any]:
        """`connect()` for a block: committed on success, rolled back on error, closed; errors
        of the block are redacted too."""
        with guarded():
            conn = self.connect()
            try:
                yield conn
                conn.commit()
            except BaseException:
                conn.rollback()
                raise
            finally:
                conn.close()
