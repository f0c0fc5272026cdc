"""Purchases: extracted with SQL from the purchases database, rolled up per minute."""


from collections.abc import Iterator
from datetime import UTC, datetime

import dagster as dg
import polars as pl

from assets.ctr.partitions import (
    DOMAIN,
    PURCHASES,
    PURCHASES_PER_MINUTE,
    VIEWS_PER_MINUTE,
    partitions_def,
    slice_of,
)
from assets.ctr.publish import publish_and_describe, publishes
from assets.ctr.rollups import SCHEMA, day_bounds, replace_rollup, run_coverage
from assets.ctr.serving import serving_root
from assets.shared import POOL, RETRY, asset_key, md, md_table
from assets.shared.partitions import each_partition
from resources import PlatformPaths, SqlSource, Warehouse
from resources.sql import transaction

purchases_source = dg.AssetSpec(
    key=asset_key(DOMAIN, "purchases_source"),
    group_name=DOMAIN,
    kinds={"sql"},
    description="`orders` + `order_items` in the purchases database (PURCHASES_DB_URL: "
    "SQLite `sources/purchases.sqlite` by default, PostgreSQL when set). `order_date` is "
    "GMT-03:00 wall-clock time; `orders.device_type` is the platform.",
)

EXTRACT_SCHEMA = {
    "item_id": pl.String,
    "order_id": pl.String,
    "code_color": pl.String,
    "order_date": pl.Datetime("us"),
}


def extract_sql(placeholder: str) -> str:
    """One order_items row = one purchase of `code_color`; bound date range and platform."""
    p = placeholder
    return f"""
        SELECT CAST(i.id AS VARCHAR(64)) AS item_id, CAST(o.id AS VARCHAR(64)) AS order_id,
               i.code_color, o.order_date
        FROM orders o JOIN order_items i ON o.id = i.order_id
        WHERE o.order_date >= {p} AND o.order_date < {p} AND lower(trim(o.device_type)) = {p}
    """


def _tables_exist(db: SqlSource) -> bool:
    names = "('orders', 'order_items')"
    if db.is_postgres:
        sql = f"SELECT count(*) FROM information_schema.tables WHERE table_name IN {names}"
    else:
        sql = f"SELECT count(*) FROM sqlite_master WHERE type = 'table' AND name IN {names}"
    with db.connect() as conn:
        cur = conn.cursor()
        cur.execute(sql)
        return cur.fetchone()[0] == 2


def extract_purchases(db: SqlSource, platform: str, day: str) -> pl.DataFrame:
    """Purchases of one platform and GMT-03:00 day from the source (item_id, order_id,
    code_color, order_date as naive datetime)."""
    start, end = day_bounds(day)
    fmt = "%Y-%m-%d %H:%M:%S"
    params = [start.strftime(fmt), end.strftime(fmt), platform.lower()]
    with db.connect() as conn:  # plain DB-API: one code path for sqlite3 and psycopg
        cur = conn.cursor()
        cur.execute(extract_sql(db.placeholder), params)
        rows = cur.fetchall()
    raw = pl.DataFrame(
        [(str(i), str(o), c, d if isinstance(d, str) else d.strftime(fmt)) for i, o, c, d in rows],
        schema={**EXTRACT_SCHEMA, "order_date": pl.String},
        orient="row",
    )
    return raw.with_columns(pl.col("order_date").str.to_datetime(fmt, strict=False))


@dg.asset(
    key=PURCHASES,
    deps=[purchases_source],
    partitions_def=partitions_def,
    backfill_policy=dg.BackfillPolicy.single_run(),
    group_name=DOMAIN,
    kinds={"duckdb", "sql"},
    pool=POOL,
    retry_policy=RETRY,
    check_specs=[
        dg.AssetCheckSpec(
            "purchases_have_product",
            asset=PURCHASES,
            description="No order item of the partition lacks a code_color (WARN; the bad "
            "ones are in ctr.rejected_purchases).",
        )
    ],
)
def purchases(
    context: dg.AssetExecutionContext, purchases_db: SqlSource, warehouse: Warehouse,
    paths: PlatformPaths,
) -> Iterator[dg.MaterializeResult]:
    """Purchases (one row per order item) of one GMT-03:00 day and platform.

    Extracted with SQL (bound date range, device_type matched case-insensitively) from the
    purchases database and replaced in `ctr.purchases` in one transaction; items without a
    product go to `ctr.rejected_purchases`. Why: re-extracting a day picks up late orders,
    and the warehouse copy lets the per-minute rollup run without touching the source.
    """
    yield from each_partition(
        context, context.partition_keys,
        lambda key: _purchases_slice(context, purchases_db, warehouse, *slice_of(key)),
        lambda: run_coverage(context, paths, warehouse, "purchases"),
    )


def _purchases_slice(
    context: dg.AssetExecutionContext,
    purchases_db: SqlSource,
    warehouse: Warehouse,
    day: str,
    platform: str,
) -> dg.MaterializeResult:
    if _tables_exist(purchases_db):
        frame = extract_purchases(purchases_db, platform, day)
        missing = False
    else:
        context.log.warning("purchases source has no orders/order_items tables yet: 0 rows")
        frame = pl.DataFrame(schema=EXTRACT_SCHEMA)
        missing = True
    product = pl.col("code_color").str.strip_chars()
    usable = product.is_not_null() & (product != "") & pl.col("order_date").is_not_null()
    good = frame.filter(usable).select(
        platform=pl.lit(platform),
        date=pl.lit(day).str.to_date(),
        product=product,
        order_id="order_id",
        item_id="item_id",
        purchased_at="order_date",
    )
    now = datetime.now(UTC).replace(tzinfo=None)
    bad = frame.filter(~usable).select(
        platform=pl.lit(platform),
        date=pl.lit(day).str.to_date(),
        order_id="order_id",
        item_id="item_id",
        reason=pl.when(pl.col("order_date").is_null())
        .then(pl.lit("order_date is not 'YYYY-MM-DD HH:MM:SS'"))
        .otherwise(pl.lit("order item without code_color")),
        loaded_at=pl.lit(now),
    )
    with warehouse.get_connection(SCHEMA) as conn, transaction(conn):
        where = "WHERE platform = ? AND date = ?"
        conn.execute(f"DELETE FROM ctr.purchases {where}", [platform, day])
        conn.execute(f"DELETE FROM ctr.rejected_purchases {where}", [platform, day])
        conn.from_arrow(good.to_arrow()).insert_into("ctr.purchases")
        conn.from_arrow(bad.to_arrow()).insert_into("ctr.rejected_purchases")
    top = good.group_by("product").len().sort(["len", "product"], descending=[True, False])
    table = md_table(["product", "purchases"], top.head(5).iter_rows())
    return dg.MaterializeResult(
        metadata={
            "dagster/row_count": good.height,
            "rejected_rows": bad.height,
            "source": purchases_db.describe(),
            "source_tables_missing": missing,
            "preview": md(table),
        },
        check_results=[
            dg.AssetCheckResult(
                check_name="purchases_have_product",
                passed=bad.height == 0,
                severity=dg.AssetCheckSeverity.WARN,
                metadata={"rejected_rows": bad.height},
            )
        ],
    )


@dg.asset(
    key=PURCHASES_PER_MINUTE,
    deps=[purchases],
    partitions_def=partitions_def,
    backfill_policy=dg.BackfillPolicy.single_run(),
    group_name=DOMAIN,
    kinds={"duckdb", "parquet"},
    pool=POOL,
    check_specs=[
        dg.AssetCheckSpec(
            "purchases_match_extract",
            asset=PURCHASES_PER_MINUTE,
            description="Σ count of the partition equals the rows of ctr.purchases for it, "
            "and the 10-minute tier holds the same purchases.",
        )
    ],
)
def purchases_per_minute(
    context: dg.AssetExecutionContext, paths: PlatformPaths, warehouse: Warehouse
) -> Iterator[dg.MaterializeResult]:
    """Purchases per (platform, product, GMT-03:00 minute) for one day and platform,
    replaced in one transaction and published to `lake/ctr/serving/` for the API."""
    publish_now = publishes(context, VIEWS_PER_MINUTE)
    yield from each_partition(
        context, context.partition_keys,
        lambda key: _purchases_per_minute_slice(paths, warehouse, *slice_of(key), publish_now),
        lambda: run_coverage(context, paths, warehouse, "purchases_per_minute"),
    )


def _purchases_per_minute_slice(
    paths: PlatformPaths, warehouse: Warehouse, day: str, platform: str, publish_now: bool
) -> dg.MaterializeResult:
    with warehouse.get_connection(SCHEMA) as conn:
        with transaction(conn):
            rows = replace_rollup(
                conn,
                "purchases_per_minute",
                platform,
                day,
                """SELECT platform, product, date_trunc('minute', purchased_at), count(*)
                   FROM ctr.purchases WHERE platform = ? AND date = ? GROUP BY ALL""",
                [platform, day],
            )
            (source_rows,) = conn.execute(
                "SELECT count(*) FROM ctr.purchases WHERE platform = ? AND date = ?",
                [platform, day],
            ).fetchall()[0]
        published = publish_and_describe(
            conn, serving_root(paths.lake_root()), "purchases_per_minute", platform, day,
            publish_now,
        )
    return dg.MaterializeResult(
        metadata={
            "dagster/row_count": rows,
            "purchases": published.total,
            "products": published.products,
            "serving_file": published.path or "(none: no purchases)",
            "serving_10min_rows": published.tier_rows,
            "preview": md(published.preview),
        },
        check_results=[
            dg.AssetCheckResult(
                check_name="purchases_match_extract",
                passed=published.total == source_rows == published.tier_total
                and published.served == rows,
                metadata={
                    "rollup_purchases": published.total,
                    "extracted": int(source_rows),
                    "tier_purchases": published.tier_total,
                },
            )
        ],
    )
