"""What the late_payments assets share: asset keys, the schema's own tables, previews."""

from __future__ import annotations

import dagster as dg
import duckdb

from assets.late_payments.extracts import DOMAIN, SCHEMA
from assets.shared import asset_key, md_table
from resources.sql import Schema

GROUP = DOMAIN
# The staging, fact and feature tables are rebuilt whole (CREATE OR REPLACE) by their
# assets; what persists across runs is the schema and the rejected rows.
TABLES = Schema(SCHEMA, (
    f"CREATE SCHEMA IF NOT EXISTS {SCHEMA}",
    f"""CREATE TABLE IF NOT EXISTS {SCHEMA}.rejected_rows (
        file VARCHAR NOT NULL, line BIGINT, reason VARCHAR NOT NULL, record VARCHAR)""",
))


def key(name: str) -> dg.AssetKey:
    """Asset key of a table in the `late_payments` schema (`late_payments/<name>`)."""
    return asset_key(DOMAIN, name)


def md_preview(conn: duckdb.DuckDBPyConnection, sql: str, params: list | None = None) -> str:
    """A small markdown table of a query's rows, for the asset's `preview` metadata."""
    rel = conn.execute(sql, params or [])
    names = [d[0] for d in rel.description]
    rows = rel.fetchall()
    return md_table(names, rows)
