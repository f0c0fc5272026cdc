"""Lake batches → `industries.orders` (hourly, deduplicated) → the per-customer hourly rollup."""

from collections.abc import Iterator
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

import dagster as dg
import duckdb

from assets.industries import spark_engine as on_spark
from assets.industries.common import (
    CUSTOMER_HOURLY,
    DOMAIN,
    GROUP,
    ORDER_BATCHES,
    ORDERS,
    SCHEMA,
    hourly_partitions,
)
from assets.industries.schema import SCHEMA as TABLES
from assets.industries.stream import batch_files, drop_scan, scan_batches
from assets.shared import POOL, coverage_table, next_day
from assets.shared.catalog import publish_arrow, publish_slices
from assets.shared.partitions import partition_results
from resources import PlatformPaths, SparkResource, Warehouse
from resources.lib.storage import Location
from resources.sql import transaction

ORDERS_IN_CATALOG = f"{SCHEMA}.orders"  # warehouse table name = catalog name
ORDER_SPEC = (("hour", "day"),)  # the catalog's partitions: whole UTC days of `hour`


def rebuild_orders(
    conn: duckdb.DuckDBPyConnection, lake: Location, start: datetime, end: datetime
) -> dict[str, int]:
    """Replace `industries.orders` rows of [start, end) from the lake batches, deduplicated.

    Reads only the batch row groups whose `order_ts` statistics overlap the window.
    """
    files = [rel for _, rel in batch_files(lake)]
    conn.execute("DROP TABLE IF EXISTS staged_orders")
    conn.execute(
        "CREATE TEMP TABLE staged_orders (order_id VARCHAR, customer_id VARCHAR, "
        "amount DECIMAL(18,2), order_ts TIMESTAMPTZ, hour TIMESTAMPTZ, order_lines VARCHAR,"
        " source_file VARCHAR, line_number BIGINT, batch_seq BIGINT)"
    )
    if files:
        scan_batches(conn, lake, files, "batch_rows")
        conn.execute(
            "INSERT INTO staged_orders SELECT order_id, customer_id, amount, order_ts, "
            "date_trunc('hour', order_ts), order_lines, source, line, batch_seq "
            "FROM batch_rows WHERE reject_reason IS NULL "
            "AND order_ts >= ? AND order_ts < ?",
            [start, end],
        )
        drop_scan(conn, "batch_rows")
    rows_read = conn.execute("SELECT count(*) FROM staged_orders").fetchone()[0]
    with transaction(conn):
        conn.execute(
            f"DELETE FROM {SCHEMA}.orders WHERE order_ts >= ? AND order_ts < ?", [start, end]
        )
        # The primary-key index answers "already stored under another hour?" per row
        # (INSERT OR IGNORE), so this never scans the order history.
        n = conn.execute(
            f"INSERT OR IGNORE INTO {SCHEMA}.orders SELECT * FROM staged_orders"
            " QUALIFY row_number() OVER (PARTITION BY order_id "
            "ORDER BY batch_seq, source_file, line_number) = 1 ORDER BY order_ts"
        ).fetchone()[0]
        distinct = conn.execute("SELECT count(DISTINCT order_id) FROM staged_orders").fetchone()
        conflicts = distinct[0] - n
    conn.execute("DROP TABLE IF EXISTS staged_orders")
    return {"rows": n, "rows_read": rows_read, "conflicts": conflicts}


def rebuild_rollup(
    conn: duckdb.DuckDBPyConnection, start: datetime, end: datetime
) -> tuple[int, int, Any]:
    """Replace `industries.customer_hourly` rows of [start, end) from `industries.orders`."""
    with transaction(conn):
        conn.execute(
            f"DELETE FROM {SCHEMA}.customer_hourly WHERE hour >= ? AND hour < ?", [start, end]
        )
        conn.execute(
            f"INSERT INTO {SCHEMA}.customer_hourly SELECT customer_id, hour, sum(amount), "
            f"count(*) FROM {SCHEMA}.orders WHERE order_ts >= ? AND order_ts < ? GROUP BY ALL "
            "ORDER BY hour",
            [start, end],
        )
        stats: Any = conn.execute(
            f"SELECT count(*), coalesce(sum(order_count), 0), coalesce(sum(amount), 0) "
            f"FROM {SCHEMA}.customer_hourly WHERE hour >= ? AND hour < ?",
            [start, end],
        ).fetchone()
    return stats[0], stats[1], stats[2]


def _window(context: dg.AssetExecutionContext) -> tuple[datetime, datetime]:
    window = context.partition_time_window
    return window.start, window.end


def days_with_orders(conn: duckdb.DuckDBPyConnection, table: str, amount: str) -> dict:
    """The run's figures every hourly run adds: which days of `industries.<table>` hold
    orders (hours grouped by day, so a month reads at a glance)."""
    return coverage_figure(dict(conn.execute(
        f"SELECT CAST(hour AS DATE), {amount} FROM {SCHEMA}.{table} GROUP BY 1"
    ).fetchall()))


def coverage_figure(counts: dict) -> dict:
    """`coverage`: the days holding orders, from (day -> count)."""
    return {"coverage": dg.MetadataValue.md(coverage_table(counts, next_day, unit="days"))}


def hour_figures(
    conn: duckdb.DuckDBPyConnection, context: dg.AssetExecutionContext, table: str, sql: str
) -> dict[str, dict[str, Any]]:
    """Each hour of the run with its own figures from `sql` over `industries.<table>`
    (`key, rows, orders, amount` per hour); hours without orders get zeros."""
    start, end = _window(context)
    return figures_of(conn.execute(
        f"SELECT strftime(hour, '%Y-%m-%d-%H:00') AS key, {sql} FROM {SCHEMA}.{table} "
        "WHERE hour >= ? AND hour < ? GROUP BY 1",
        [start, end],
    ).fetchall(), context.partition_keys)


def figures_of(found: list[tuple], keys: list[str]) -> dict[str, dict[str, Any]]:
    """Per hour key of the run: its (key, rows, orders, amount) row, or zeros."""
    by_key = {key: (rows, orders, amount) for key, rows, orders, amount in found}
    return {
        key: {"dagster/row_count": int(by_key.get(key, (0, 0, 0))[0]),
              "orders": int(by_key.get(key, (0, 0, 0))[1]),
              "amount": float(by_key.get(key, (0, 0, 0))[2])}
        for key in keys
    }


@dg.asset(
    key=ORDERS,
    deps=[ORDER_BATCHES],
    partitions_def=hourly_partitions,
    backfill_policy=dg.BackfillPolicy.single_run(),
    group_name=GROUP,
    kinds={"duckdb"},
    pool=POOL,
)
def orders(
    context: dg.AssetExecutionContext, paths: PlatformPaths, warehouse: Warehouse,
    spark: SparkResource,
) -> Iterator[dg.MaterializeResult]:
    """Deduplicated orders of the partition's hours, rebuilt from the lake batch files.

    Only the row groups of these hours are read (batch files keep one row group per hour).
    A repeated `order_id` keeps its first delivery; an id already stored under another hour
    keeps that row (counted as a conflict). The hours' rows are replaced in one transaction;
    each hour is recorded with its own figures.
    """
    start, end = _window(context)
    lake = paths.lake_location(DOMAIN)
    if spark.enabled:  # the lake's Delta table, on the cluster (spark_engine)
        session = spark.session()
        stats = on_spark.rebuild_orders(session, lake, start, end)
        figures = figures_of(on_spark.hour_rows(session, lake, on_spark.ORDERS_TABLE,
                                                start, end, None), context.partition_keys)
        coverage = coverage_figure(on_spark.day_counts(session, lake, on_spark.ORDERS_TABLE,
                                                       None))
    else:
        with warehouse.get_connection(TABLES) as conn:
            stats = rebuild_orders(conn, lake, start, end)
            figures = hour_figures(conn, context, "orders", "count(*), count(*), sum(amount)")
            coverage = days_with_orders(conn, "orders", "count(*)")
    published = publish_order_days(context, paths, warehouse, spark, start, end)
    context.log.info(
        f"{stats['rows']} orders in {len(figures)} hours; {stats['rows_read']} rows read, "
        f"{stats['conflicts']} order_id conflicts"
    )
    yield from partition_results(context, figures, run_figures={
        "rows_read": stats["rows_read"],
        "duplicates_dropped": stats["rows_read"] - stats["rows"] - stats["conflicts"],
        "order_id_conflicts": stats["conflicts"],
        **coverage,
        "engine": spark.describe(),
        **published,
    })


def publish_order_days(context: dg.AssetExecutionContext, paths: PlatformPaths,
                       warehouse: Warehouse, spark: SparkResource, start: datetime,
                       end: datetime) -> dict[str, Any]:
    """Publish the committed orders of the UTC days of [start, end) to
    `commerce.industries.orders` (partitioned by day(hour)): whole days, from the warehouse
    or, on Spark, the lake's Delta table."""
    days = utc_days(start, end)
    keys = {(d,) for d in days}
    if not spark.enabled:
        with warehouse.get_connection(TABLES) as conn:
            return publish_slices(context, paths, conn, ORDERS_IN_CATALOG, ORDER_SPEC, keys)
    lake = paths.lake_location(DOMAIN)
    data = on_spark.rows_between(spark.session(), lake, on_spark.ORDERS_TABLE,
                                 datetime.combine(days[0], time(), UTC),
                                 datetime.combine(days[-1] + timedelta(days=1), time(), UTC))
    if data is None:
        return {}
    return publish_arrow(context, paths, ORDERS_IN_CATALOG, data.toArrow(), ORDER_SPEC, keys)


def utc_days(start: datetime, end: datetime) -> list[date]:
    """The UTC calendar days [start, end) overlaps."""
    first = start.astimezone(UTC).date()
    last = (end - timedelta(microseconds=1)).astimezone(UTC).date()
    return [first + timedelta(days=i) for i in range((last - first).days + 1)]


@dg.asset(
    key=CUSTOMER_HOURLY,
    deps=[ORDERS],
    partitions_def=hourly_partitions,
    backfill_policy=dg.BackfillPolicy.single_run(),
    group_name=GROUP,
    kinds={"duckdb"},
    pool=POOL,
)
def customer_hourly(
    context: dg.AssetExecutionContext, paths: PlatformPaths, warehouse: Warehouse,
    spark: SparkResource,
) -> Iterator[dg.MaterializeResult]:
    """Order amount and count per customer and hour: what scoring reads instead of orders.

    Rebuilt for the partition's hours only, so a late order costs one hour, and a new
    customer batch rescores from this rollup without touching order history.
    """
    start, end = _window(context)
    if spark.enabled:  # the lake's Delta table, on the cluster (spark_engine)
        session, lake = spark.session(), paths.lake_location(DOMAIN)
        on_spark.rebuild_rollup(session, lake, start, end)
        figures = figures_of(on_spark.hour_rows(session, lake, on_spark.HOURLY_TABLE,
                                                start, end, "order_count"),
                             context.partition_keys)
        coverage = coverage_figure(on_spark.day_counts(session, lake, on_spark.HOURLY_TABLE,
                                                       "order_count"))
    else:
        with warehouse.get_connection(TABLES) as conn:
            rebuild_rollup(conn, start, end)
            figures = hour_figures(
                conn, context, "customer_hourly", "count(*), sum(order_count), sum(amount)"
            )
            coverage = days_with_orders(conn, "customer_hourly", "sum(order_count)")
    yield from partition_results(context, figures,
                                 run_figures={**coverage, "engine": spark.describe()})
