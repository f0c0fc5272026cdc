"""`industries/order_batches`: one micro-batch of the order stream, landed durably in the lake."""

from datetime import UTC, datetime

import dagster as dg
import duckdb

from assets.industries import kafka_stream
from assets.industries.batch_table import row_groups
from assets.industries.common import (
    DOMAIN,
    GROUP,
    KAFKA_GROUP_ID,
    ORDER_BATCHES,
    SCHEMA,
)
from assets.industries.file_stream import ORDERS_LANDING, read_files
from assets.industries.records_arrow import judge
from assets.industries.schema import SCHEMA as TABLES
from assets.industries.spark_engine import consume_kafka
from assets.industries.stream import (
    batch_files,
    drop_scan,
    load_state,
    read_batch_meta,
    scan_batches,
    write_batch,
)
from assets.shared import POOL, RETRY, LaunchConfig, md_table
from resources import KafkaResource, PlatformPaths, SparkResource, Warehouse
from resources.lib.storage import Location
from resources.sql import transaction


def sync_ledger(conn: duckdb.DuckDBPyConnection, lake: Location) -> list[int]:
    """Register batch files not yet in `order_batches` (and their rejected rows): one txn."""
    known = {r[0] for r in conn.execute(f"SELECT batch_seq FROM {SCHEMA}.order_batches").fetchall()}
    new = [(seq, rel) for seq, rel in batch_files(lake) if seq not in known]
    if not new:
        return []
    with transaction(conn):
        for seq, rel in new:
            offsets, hours = read_batch_meta(lake, rel)
            scan_batches(conn, lake, [rel], "batch_rows")
            counts = conn.execute(
                "SELECT count(*) FILTER (reject_reason IS NULL), "
                "count(*) FILTER (reject_reason IS NOT NULL) FROM batch_rows"
            ).fetchone()
            conn.execute(
                f"INSERT INTO {SCHEMA}.rejected_orders SELECT batch_seq, source, line, "
                "reject_reason, raw FROM batch_rows WHERE reject_reason IS NOT NULL"
            )
            conn.execute(
                f"INSERT INTO {SCHEMA}.order_batches VALUES (?, ?, ?, ?, ?, ?, now())",
                [seq, rel.rsplit("/", 1)[-1], counts[0], counts[1], hours, str(offsets)],
            )
            drop_scan(conn, "batch_rows")
    return [seq for seq, _ in new]


class OrderBatchConfig(LaunchConfig):
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
    spark: SparkResource,
) -> dg.MaterializeResult:
    """One micro-batch of the order stream, landed as one Parquet file in the lake.

    Reads the new complete lines of `landing/orders/*.jsonl` (history files, and without
    Kafka the stream itself; byte offsets per file) and, with Kafka configured, the topic
    (partitions assigned at the offsets stored in the newest batch file). The batch file
    holds the rows and the offsets it ends at, so the two are durable together;
    Kafka's group offsets are committed only afterwards. With SPARK_REMOTE the topic is
    consumed by a Structured Streaming query into the lake (`spark_engine`): the batch file
    then holds its offsets, hours and rejected records.
    """
    lake = paths.lake_location(DOMAIN)
    state = load_state(lake)
    before = state.to_json()
    now = datetime.now(UTC)
    consumer = kafka.consumer(KAFKA_GROUP_ID) if kafka.enabled else None
    try:
        # History files in landing/orders/ are always read; with Kafka the topic as well.
        folder = paths.landing_folder(ORDERS_LANDING)
        records = list(read_files(folder, state, config.max_records))
        streamed = None
        if consumer is not None and spark.enabled:  # Structured Streaming into the lake
            streamed = consume_kafka(spark.session(), kafka.bootstrap,
                                     kafka.topic, lake, state.seq + 1, now)
            state.kafka.setdefault(kafka.topic, {}).update(streamed["offsets"])
        elif consumer is not None and len(records) < config.max_records:
            records += kafka_stream.consume(
                consumer, kafka.topic, state, config.max_records - len(records),
                config.idle_seconds,
            )
        elsewhere = (streamed["hours"], streamed["rejected"]) if streamed else ([], None)
        consumed = len(records) + (
            streamed["good"] + streamed["rejected"].num_rows if streamed else 0)
        seq, hours, rejected = None, [], 0
        if records or elsewhere[0] or state.to_json() != before:
            seq = state.seq + 1
            groups, hours, rejected = row_groups(judge(records, now), records, seq)
            rel = write_batch(lake, seq, groups, hours, state, elsewhere)
            hours = read_batch_meta(lake, rel)[1]
            rejected += streamed["rejected"].num_rows if streamed else 0
            context.log.info(f"batch {seq}: {len(records)} records, {len(hours)} hours -> "
                             f"{lake.describe(rel)}")
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
            "dagster/row_count": consumed,
            "engine": spark.describe(),
            "batch_seq": seq if seq is not None else "no new records",
            "source": source,
            "rows_rejected": rejected,
            "hours_touched": len(hours),
            "offsets": state.to_json()[:4000],
            "preview": dg.MetadataValue.md(preview),
        }
    )
