"""The ctr tables (one `Schema`) and the replace-a-partition step."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from typing import Any

import dagster as dg
import duckdb

from assets.ctr.partitions import slice_of
from assets.shared import coverage_table, next_day
from assets.shared.catalog import publish_slices
from resources.sql import Schema

SCHEMA = Schema("ctr", (
    "CREATE SCHEMA IF NOT EXISTS ctr",
    """CREATE TABLE IF NOT EXISTS ctr.views_per_minute (
        platform VARCHAR NOT NULL, product VARCHAR NOT NULL,
        minute TIMESTAMP NOT NULL, count BIGINT NOT NULL)""",
    """CREATE TABLE IF NOT EXISTS ctr.purchases_per_minute (
        platform VARCHAR NOT NULL, product VARCHAR NOT NULL,
        minute TIMESTAMP NOT NULL, count BIGINT NOT NULL)""",
    """CREATE TABLE IF NOT EXISTS ctr.purchases (
        platform VARCHAR NOT NULL, date DATE NOT NULL, product VARCHAR NOT NULL,
        order_id VARCHAR NOT NULL, item_id VARCHAR NOT NULL, purchased_at TIMESTAMP NOT NULL)""",
    """CREATE TABLE IF NOT EXISTS ctr.rejected_purchases (
        platform VARCHAR NOT NULL, date DATE NOT NULL, order_id VARCHAR, item_id VARCHAR,
        reason VARCHAR NOT NULL, loaded_at TIMESTAMP NOT NULL)""",
    """CREATE TABLE IF NOT EXISTS ctr.view_file_ledger (
        platform VARCHAR NOT NULL, source_file VARCHAR NOT NULL, sha256 VARCHAR NOT NULL,
        size_bytes BIGINT, batches BIGINT, events BIGINT, views BIGINT, rejected_rows BIGINT,
        malformed_batches BIGINT, other_events VARCHAR, dates VARCHAR[], parser VARCHAR,
        ingested_at TIMESTAMP)""",
    """CREATE TABLE IF NOT EXISTS ctr.rejected_view_events (
        platform VARCHAR NOT NULL, source_file VARCHAR NOT NULL, batch_no BIGINT,
        reason VARCHAR NOT NULL, detail VARCHAR, loaded_at TIMESTAMP NOT NULL)""",
))

# How each table's slices (platform, GMT-03:00 day) are partitioned in the catalog
CATALOG_SPECS = {
    "views_per_minute": (("platform", "identity"), ("minute", "day")),
    "purchases_per_minute": (("platform", "identity"), ("minute", "day")),
    "purchases": (("platform", "identity"), ("date", "identity")),
}


def day_bounds(day: str) -> tuple[datetime, datetime]:
    """[D 00:00, D+1 00:00) as naive GMT-03:00 wall-clock datetimes."""
    start = datetime.combine(date.fromisoformat(day), datetime.min.time())
    return start, start + timedelta(days=1)


def coverage(conn: duckdb.DuckDBPyConnection, table: str, platforms: set[str]) -> str:
    """Which days of `ctr.<table>` hold data, per platform of `platforms`."""
    day, amount = ("date", "count(*)") if table == "purchases" else (
        "CAST(minute AS DATE)", "sum(count)")
    counts: dict[str, dict] = {p: {} for p in sorted(platforms)}
    for platform, d, n in conn.execute(
        f"SELECT platform, {day}, {amount} FROM ctr.{table} WHERE list_contains(?, platform)"
        " GROUP BY ALL",
        [sorted(platforms)],
    ).fetchall():
        counts[platform][d] = int(n)
    return "\n\n".join(
        f"**{platform}**: {coverage_table(days, next_day)}" for platform, days in counts.items()
    )


def run_coverage(context: Any, paths: Any, warehouse: Any, table: str) -> dict[str, Any]:
    """The run's figures every ctr partition run adds, once all its slices are committed:
    where `table` holds data for the platforms of the run, and the snapshot of the run's
    slices published to `commerce.ctr.<table>` (one per run, docs/catalog.md)."""
    slices = {slice_of(key)[::-1] for key in context.partition_keys}  # (platform, day)
    with warehouse.get_connection(SCHEMA) as conn:
        published = publish_slices(
            context, paths, conn, f"ctr.{table}", CATALOG_SPECS[table],
            {(platform, date.fromisoformat(day)) for platform, day in slices})
        platforms = {platform for platform, _ in slices}
        return {"coverage": dg.MetadataValue.md(coverage(conn, table, platforms)), **published}


def replace_rollup(
    conn: duckdb.DuckDBPyConnection,
    table: str,
    platform: str,
    day: str,
    select_sql: str,
    params: list[Any],
) -> int:
    """Replace one (platform, day) slice of `ctr.<table>` with `select_sql`'s rows (in the
    caller's transaction); return the number of rows written."""
    start, end = day_bounds(day)
    conn.execute(
        f"DELETE FROM ctr.{table} WHERE platform = ? AND minute >= ? AND minute < ?",
        [platform, start, end],
    )
    conn.execute(f"INSERT INTO ctr.{table} {select_sql}", params)
    (n,) = conn.execute(
        f"SELECT count(*) FROM ctr.{table} WHERE platform = ? AND minute >= ? AND minute < ?",
        [platform, start, end],
    ).fetchall()[0]
    return int(n)
