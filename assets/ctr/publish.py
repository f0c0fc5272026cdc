"""Publishing a committed (platform, day) slice to the serving files the API reads.

A slice has three serving files: both per-minute rollups and the 10-minute tier (views and
purchases joined). Whichever rollup step publishes writes all three from the committed
tables, so the API never joins new views with old purchases. In a refresh run the views
rollup runs after the purchases rollup and is the one that publishes; a run that refreshes
only the purchases (the hourly schedule) publishes at its purchases rollup.
"""

from __future__ import annotations

from dataclasses import dataclass

import dagster as dg
import duckdb
import polars as pl

from assets.ctr.render import answer_rows, row_json
from assets.ctr.rollups import day_bounds
from assets.ctr.serving import TABLES, TIER, TIER_MINUTES, publish
from assets.shared import md_table
from resources.lib.storage import Location


def publishes(context: dg.AssetExecutionContext, later: dg.AssetKey) -> bool:
    """Whether this step publishes the slice: not when `later` runs after it in this run."""
    return later not in context.job_def.asset_layer.executable_asset_keys


def publish_slice(
    conn: duckdb.DuckDBPyConnection, serving: Location, table: str, platform: str, day: str
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
    return rows.num_rows, path


def tier_cells(conn: duckdb.DuckDBPyConnection, platform: str, day: str) -> pl.DataFrame:
    """The 10-minute cells of (platform, day) from both committed rollups: bucket, its
    number `k` in the day, product, views, purchases."""
    start, end = day_bounds(day)
    return pl.DataFrame(conn.sql(
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


def tier_frame(conn: duckdb.DuckDBPyConnection, platform: str, day: str) -> pl.DataFrame:
    """The 10-minute tier of (platform, day), each row also rendered as the API's answer row
    for its bucket."""
    rows = tier_cells(conn, platform, day)
    rendered = row_json(answer_rows(rows, day_bounds(day)[0], TIER_MINUTES))
    return rows.select("bucket", "product", "views", "purchases").with_columns(rendered)


def publish_tier(
    conn: duckdb.DuckDBPyConnection, serving: Location, platform: str, day: str
) -> tuple[int, int, int]:
    """Publish the 10-minute tier of (platform, day): (rows, Σ views, Σ purchases)."""
    tier = tier_frame(conn, platform, day)
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
    conn: duckdb.DuckDBPyConnection, serving: Location, table: str, platform: str, day: str,
    publish_now: bool = True,
) -> PublishedSlice:
    """After the commit: publish the slice's three serving files (unless a later step of the
    run will) and describe `table`'s slice for the metadata."""
    products, total = slice_totals(conn, table, platform, day)
    if publish_now:
        served = {t: publish_slice(conn, serving, t, platform, day) for t in TABLES}
        tier_rows, tier_views, tier_purchases = publish_tier(conn, serving, platform, day)
        rows, path = served[table]
    else:  # the same figures, without rendering the rows the views step will publish
        tier = tier_cells(conn, platform, day)
        tier_rows = tier.height
        tier_views, tier_purchases = (int(tier.get_column(c).sum()) for c in ("views", "purchases"))
        rows = conn.execute(
            f"SELECT count(*) FROM ctr.{table} WHERE platform = ? AND minute >= ? "
            "AND minute < ?", [platform, *day_bounds(day)]
        ).fetchone()[0]
        path = "(published with the views rollup of this run)"
    tier_total = tier_views if table == "views_per_minute" else tier_purchases
    return PublishedSlice(
        products, total, rows, path, preview(conn, table, platform, day), tier_rows,
        tier_total,
    )
