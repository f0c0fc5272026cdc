"""Small helpers shared by the late_payments assets: markdown previews, asset keys."""

from __future__ import annotations

import dagster as dg
import duckdb

from assets.late_payments.extracts import SCHEMA
from assets.shared import md_table

GROUP = "late_payments"
POOL = "warehouse"


def key(name: str) -> dg.AssetKey:
    """Asset key of a table in the `late_payments` schema (`late_payments/<name>`)."""
    return dg.AssetKey([SCHEMA, name])


def md_preview(conn: duckdb.DuckDBPyConnection, sql: str, params: list | None = None) -> str:
    """A small markdown table of a query's rows, for the asset's `preview` metadata."""
    rel = conn.execute(sql, params or [])
    names = [d[0] for d in rel.description]
    rows = rel.fetchall()
    return md_table(names, rows)
