"""The ctr tables (one `Schema`) and the replace-a-partition / publish-to-serving steps."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any

import duckdb
import polars as pl

from assets.ctr.render import answer_rows, row_json
from assets.ctr.serving import TIER, TIER_MINUTES, publish
from assets.shared import md_table
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


def day_bounds(day: str) -> tuple[datetime, datetime]:
    """[D 00:00, D+1 00:00) as naive GMT-03:00 wall-clock datetimes."""
    start = datetime.combine(date.fromisoformat(day), datetime.min.time())
    return start, start + timedelta(days=1)


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


def publish_slice(
    conn: duckdb.DuckDBPyConnection, serving: Path, table: str, platform: str, day: str
) -> tuple[int, str | None]:
    """Copy the committed (platform, day) slice to the API's serving Parquet (atomic swap)."""
    start, end = day_bounds(day)
    rows = conn.sql(
        f"""SELECT platform, product, minute, count FROM ctr.{table}
            WHERE platform = $p AND minute >= $start AND minute < $end
            ORDER BY minute, product""",
        params={"p": platform, "start": start, "end": end},
    ).to_arrow_table()
    path = publish(serving, table, platform, day, rows)
    return rows.num_rows, str(path) if path else None


def publish_tier(
    conn: duckdb.DuckDBPyConnection, serving: Path, platform: str, day: str
) -> tuple[int, int, int]:
    """Rebuild the API's 10-minute tier of (platform, day) from both committed rollups (views
    and purchases joined per bucket); either rollup asset calls it after its commit, so the
    one that commits last (they share the warehouse pool) publishes both sides.
    Returns (rows, Σ views, Σ purchases) of the published tier."""
    start, end = day_bounds(day)
    rows = pl.DataFrame(conn.sql(
        """SELECT time_bucket(to_minutes($width), minute) AS bucket,
                  datediff('minute', $start, bucket) // $width AS k, $p AS platform, product,
                  sum(views)::BIGINT AS views, sum(purchases)::BIGINT AS purchases
           FROM (SELECT product, minute, count AS views, 0 AS purchases
                 FROM ctr.views_per_minute
                 WHERE platform = $p AND minute >= $start AND minute < $end
                 UNION ALL
                 SELECT product, minute, 0, count FROM ctr.purchases_per_minute
                 WHERE platform = $p AND minute >= $start AND minute < $end)
           GROUP BY ALL ORDER BY bucket, product""",
        params={"p": platform, "start": start, "end": end, "width": TIER_MINUTES},
    ).to_arrow_table())
    rendered = row_json(answer_rows(rows, start, TIER_MINUTES))
    tier = rows.select("bucket", "product", "views", "purchases").with_columns(rendered)
    publish(serving, TIER, platform, day, tier.to_arrow())
    views, purchases = (int(tier.get_column(c).sum()) for c in ("views", "purchases"))
    return tier.height, views, purchases


def slice_totals(
    conn: duckdb.DuckDBPyConnection, table: str, platform: str, day: str
) -> tuple[int, int]:
    """(products, total count) of one slice."""
    start, end = day_bounds(day)
    products, total = conn.execute(
        f"""SELECT count(DISTINCT product), coalesce(sum(count), 0) FROM ctr.{table}
            WHERE platform = ? AND minute >= ? AND minute < ?""",
        [platform, start, end],
    ).fetchall()[0]
    return int(products), int(total)


def preview(conn: duckdb.DuckDBPyConnection, table: str, platform: str, day: str) -> str:
    """Top products of the slice as a small markdown table."""
    start, end = day_bounds(day)
    rows = conn.execute(
        f"""SELECT product, sum(count) AS n FROM ctr.{table}
            WHERE platform = ? AND minute >= ? AND minute < ?
            GROUP BY product ORDER BY n DESC, product LIMIT 5""",
        [platform, start, end],
    ).fetchall()
    return md_table(["product", "count"], rows)


@dataclass(frozen=True)
class PublishedSlice:
    products: int
    total: int
    served: int  # rows written to the serving Parquet
    path: str | None
    preview: str
    tier_rows: int  # rows of the (platform, day) 10-minute tier, both rollups joined
    tier_total: int  # Σ of this table's count column in the tier (views or purchases)


def publish_and_describe(
    conn: duckdb.DuckDBPyConnection, serving: Path, table: str, platform: str, day: str
) -> PublishedSlice:
    """After the commit: publish the slice for the API and describe it for the metadata."""
    products, total = slice_totals(conn, table, platform, day)
    served, path = publish_slice(conn, serving, table, platform, day)
    tier_rows, tier_views, tier_purchases = publish_tier(conn, serving, platform, day)
    tier_total = tier_views if table == "views_per_minute" else tier_purchases
    return PublishedSlice(
        products, total, served, path, preview(conn, table, platform, day), tier_rows,
        tier_total,
    )
