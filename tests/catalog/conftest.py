"""Helpers and fixtures of the catalog tests; the industries and customers fixtures reused."""

from __future__ import annotations

import duckdb

from resources import PlatformPaths
from tests.customers.conftest import dirty_source  # noqa: F401 - fixture
from tests.industries.conftest import instance, res  # noqa: F401 - fixtures
from tests.invoices.conftest import invoices_env  # noqa: F401 - fixture


def _rows(conn: duckdb.DuckDBPyConnection, relation: str) -> list[tuple]:
    return sorted(conn.execute(f"SELECT * FROM {relation}").fetchall(), key=repr)


def assert_catalog_equals_warehouse(paths: PlatformPaths, schema: str,
                                    tables: tuple[str, ...]) -> dict[str, int]:
    """Every table: the catalog's columns and rows are the warehouse's (none empty); the
    current snapshot ids."""
    catalog, snapshots = paths.catalog(), {}
    with duckdb.connect(str(paths.warehouse), read_only=True) as conn:
        for name in tables:
            table = catalog.load_table((schema, name))
            published = table.scan().to_arrow()
            conn.register("published", published)
            assert published.schema.names == [d[0] for d in conn.execute(
                f"DESCRIBE {schema}.{name}").fetchall()], name
            assert _rows(conn, "published") == _rows(conn, f"{schema}.{name}"), name
            assert _rows(conn, "published"), name
            snapshots[name] = table.current_snapshot().snapshot_id
    return snapshots
