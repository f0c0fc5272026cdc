"""Order stream → lake batches → `industries.orders` (hourly) → per-customer hourly rollup."""


from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import dagster as dg
import duckdb

from assets.industries import kafka_stream
from assets.industries.common import (
    CUSTOMER_HOURLY,
    DOMAIN,
    GROUP,
    KAFKA_GROUP_ID,
    ORDER_BATCHES,
    ORDERS,
    SCHEMA,
    hourly_partitions,
)
from assets.industries.schema import SCHEMA as TABLES
from assets.industries.stream import (
    ORDERS_LANDING,
    batch_files,
    load_state,
    parse,
    read_batch_meta,
    read_files,
    write_batch,
)
from assets.shared import POOL, RETRY, md_table
from resources import KafkaResource, PlatformPaths, Warehouse
from resources.sql import transaction


def sync_ledger(conn: duckdb.DuckDBPyConnection, lake) -> list[int]:
    """Register batch files not yet in `order_batches` (and their rejected rows): one txn."""
    known = {r[0] for r in conn.execute(f"SELECT batch_seq FROM {SCHEMA}.order_batches").fetchall()}
    new = [(seq, path) for seq, path in batch_files(lake) if seq not in known]
    if not new:
        return []
    with transaction(conn):
        for seq, path in new:
            offsets, hours = read_batch_meta(path)
            counts = conn.execute(
                "SELECT count(*) FILTER (reject_reason IS NULL), "
                "count(*) FILTER (reject_reason IS NOT NULL) FROM read_parquet(?)",
                [str(path)],
            ).fetchone()
            conn.execute(
                f"INSERT INTO {SCHEMA}.rejected_orders SELECT batch_seq, source, line, "
                "reject_reason, raw FROM read_parquet(?) WHERE reject_reason IS NOT NULL",
                [str(path)],
            )
            conn.execute(
                f"INSERT INTO {SCHEMA}.order_batches VALUES (?, ?, ?, ?, ?, ?, now())",
                [seq, path.name, counts[0], counts[1], hours, str(offsets)],
            )
    return [seq for seq, _ in new]


def rebuild_orders(
    conn: duckdb.DuckDBPyConnection, lake: Path, start: datetime, end: datetime
) -> dict[str, int]:
    """Replace `industries.orders` rows of [start, end) from the lake batches, deduplicated.

    Reads only the batch row groups whose `order_ts` statistics overlap the window.
    """
    files = [str(p) for _, p in batch_files(lake)]
    conn.execute("DROP TABLE IF EXISTS staged_orders")
    conn.execute(
        "CREATE TEMP TABLE staged_orders (order_id VARCHAR, customer_id VARCHAR, "
        "amount DECIMAL(18,2), order_ts TIMESTAMPTZ, hour TIMESTAMPTZ, order_lines VARCHAR,"
        " source_file VARCHAR, line_number BIGINT, batch_seq BIGINT)"
    )
    if files:
        conn.execute(
            "INSERT INTO staged_orders SELECT order_id, customer_id, amount, order_ts, "
            "date_trunc('hour', order_ts), order_lines, source, line, batch_seq "
            "FROM read_parquet(?) WHERE reject_reason IS NULL "
            "AND order_ts >= ? AND order_ts < ?",
            [files, start, end],
        )
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


class OrderBatchConfig(dg.Config):
    max_records: int = 500_000
    idle_seconds: float = 2.0
    # Test hook: fail after the batch file is durable and before the Kafka commit, as a
    # crash there would. The next run must resume from the offsets in the file.
    crash_after_write: bool = False


@dg.asset(
    key=ORDER_BATCHES,
    group_name=GROUP,
    kinds={"kafka", "parquet"},
    pool=POOL,
    retry_policy=RETRY,
)
def order_batches(
    context: dg.AssetExecutionContext,
    config: OrderBatchConfig,
    paths: PlatformPaths,
    kafka: KafkaResource,
    warehouse: Warehouse,
) -> dg.MaterializeResult:
    """One micro-batch of the order stream, landed as one Parquet file in the lake.

    Reads the new complete lines of `landing/orders/*.jsonl` (history files, and without
    Kafka the stream itself; byte offsets per file) and, with Kafka configured, the topic
    (partitions assigned at the offsets stored in the newest batch file). The batch file
    holds the rows and the offsets it ends at, so the two are durable together;
    Kafka's group offsets are committed only afterwards.
    """
    lake = paths.lake(DOMAIN)
    state = load_state(lake)
    before = state.to_json()
    now = datetime.now(UTC)
    consumer = kafka.consumer(KAFKA_GROUP_ID) if kafka.enabled else None
    try:
        # History files in landing/orders/ are always read; with Kafka the topic as well.
        folder = paths.landing_folder(ORDERS_LANDING)
        records = list(read_files(folder, state, config.max_records))
        if consumer is not None and len(records) < config.max_records:
            records += kafka_stream.consume(
                consumer, kafka.topic, state, config.max_records - len(records),
                config.idle_seconds,
            )
        seq, hours, rejected = None, [], 0
        if records or state.to_json() != before:
            rows = [parse(r, now) for r in records]
            seq = state.seq + 1
            path = write_batch(lake, seq, rows, state)
            hours = read_batch_meta(path)[1]
            rejected = sum(1 for r in rows if r.get("reject_reason"))
            context.log.info(f"batch {seq}: {len(rows)} records, {len(hours)} hours -> {path}")
            if config.crash_after_write:
                raise dg.Failure(
                    f"simulated crash after writing batch {seq}, before commit",
                    allow_retries=False,
                )
        with warehouse.get_connection(TABLES) as conn:
            sync_ledger(conn, lake)
        if consumer is not None and seq is not None:
            kafka_stream.commit(consumer, kafka.topic, state)
    finally:
        if consumer is not None:
            consumer.close()
    source = "landing/orders/*.jsonl" + (f" + kafka topic {kafka.topic}" if kafka.enabled else "")
    preview = md_table(["hours touched (first 10)"], [(h,) for h in hours[:10]])
    return dg.MaterializeResult(
        metadata={
            "dagster/row_count": len(records),
            "batch_seq": seq if seq is not None else "no new records",
            "source": source,
            "rows_rejected": rejected,
            "hours_touched": len(hours),
            "offsets": state.to_json()[:4000],
            "preview": dg.MetadataValue.md(preview),
        }
    )


def _window(context: dg.AssetExecutionContext) -> tuple[datetime, datetime]:
    window = context.partition_time_window
    return window.start, window.end


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
    context: dg.AssetExecutionContext, paths: PlatformPaths, warehouse: Warehouse
) -> dg.MaterializeResult:
    """Deduplicated orders of the partition's hours, rebuilt from the lake batch files.

    Only the row groups of these hours are read (batch files keep one row group per hour).
    A repeated `order_id` keeps its first delivery; an id already stored under another hour
    keeps that row (counted as a conflict). The hours' rows are replaced in one transaction.
    """
    start, end = _window(context)
    with warehouse.get_connection(TABLES) as conn:
        stats = rebuild_orders(conn, paths.lake(DOMAIN), start, end)
        preview = conn.execute(
            f"SELECT strftime(hour, '%Y-%m-%d %H:00') h, count(*), sum(amount) "
            f"FROM {SCHEMA}.orders WHERE order_ts >= ? AND order_ts < ? "
            "GROUP BY ALL ORDER BY h DESC LIMIT 10",
            [start, end],
        ).fetchall()
    n, rows_read, conflicts = stats["rows"], stats["rows_read"], stats["conflicts"]
    return dg.MaterializeResult(
        metadata={
            "dagster/row_count": n,
            "rows_read": rows_read,
            "duplicates_dropped": rows_read - n - conflicts,
            "order_id_conflicts": conflicts,
            "hours": len(context.partition_keys),
            "preview": dg.MetadataValue.md(md_table(["hour", "orders", "amount"], preview)),
        }
    )


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
    context: dg.AssetExecutionContext, warehouse: Warehouse
) -> dg.MaterializeResult:
    """Order amount and count per customer and hour: what scoring reads instead of orders.

    Rebuilt for the partition's hours only, so a late order costs one hour, and a new
    customer batch rescores from this rollup without touching order history.
    """
    start, end = _window(context)
    with warehouse.get_connection(TABLES) as conn:
        stats = rebuild_rollup(conn, start, end)
    return dg.MaterializeResult(
        metadata={
            "dagster/row_count": stats[0],
            "orders": stats[1],
            "amount": float(stats[2]),
            "preview": dg.MetadataValue.md(
                md_table(["rows", "orders", "amount"], [(stats[0], stats[1], stats[2])])
            ),
        }
    )
