"""`late_payments_cdc/invoice_features`: the features kept up to date from the change stream.

One run = one batch: read the change topics from the offsets stored in the warehouse, apply
the batch, the offsets reached and the as-of date in one transaction (`cdc_store`), and only
then commit Kafka's group offsets (what the sensor's lag reads). A crash before the commit
re-delivers; an applied event is never applied twice in effect (the state per key is
replaced, rejects are keyed by their offset). With no new events a run still moves the
as-of date (the daily step). The exactly-once argument is in docs/cdc.md.
"""

from datetime import UTC, date, datetime

import dagster as dg

from assets.industries import kafka_stream
from assets.industries.stream import StreamState
from assets.late_payments.cdc_store import (
    CDC_FEATURES,
    CDC_SCHEMA,
    CDC_TABLES,
    Applied,
    apply_batch,
    stored_offsets,
)
from assets.late_payments.changes import DecodedBatch, decode
from assets.late_payments.common import GROUP, md_preview
from assets.late_payments.extracts import EXTRACTS
from assets.shared import POOL, RETRY, LaunchConfig
from resources import KafkaResource, RetailChanges, Warehouse
from resources.sql import transaction

CDC_KEY = dg.AssetKey([CDC_SCHEMA, "invoice_features"])
CDC_GROUP_ID = "late-payments-cdc"
CHECK_UNIQUE = "unique_inv_id_in_touched_accounts"


def extract_path_assets() -> list:
    """The domain's assets of the CSV-extract path (everything but the change stream's)."""
    from assets import domain_assets

    return [a for a in domain_assets("late_payments") if CDC_KEY not in a.keys]


class ChangesConfig(LaunchConfig):
    """`as_of` (YYYY-MM-DD) decides lateness of unpaid invoices; default: today (UTC)."""

    as_of: str | None = None
    # Test hook: fail after the batch is applied and before the Kafka commit, as a crash
    # there would. The next run must resume from the offsets stored with the batch.
    crash_after_apply: bool = False


def read_batch(consumer, topics: list[str], state: StreamState, limit: int) -> DecodedBatch:
    """Up to `limit` events from `topics` after `state`'s offsets (advanced in place)."""
    batch = DecodedBatch()
    for topic in topics:
        left = limit - batch.events
        if left <= 0:
            break
        for record in kafka_stream.consume(consumer, topic, state, left):
            partition = int(record.source.rsplit("/", 1)[1])
            decode(batch, topic, partition, record.line, record.value)
    return batch


def _figures(conn, applied: Applied) -> dict:
    accounts = conn.execute("SELECT list(DISTINCT account_id ORDER BY account_id)[:20]::VARCHAR "
                            "FROM cdc_aff").fetchone()[0]
    rows, unique, invoices = conn.execute(
        f"SELECT count(*), count(DISTINCT inv_id), list(inv_id ORDER BY inv_id)[:20]::VARCHAR "
        f"FROM {CDC_FEATURES} WHERE acct_id IN (SELECT account_id FROM cdc_aff)").fetchone()
    total = conn.execute(f"SELECT count(*) FROM {CDC_FEATURES}").fetchone()[0]
    preview = md_preview(conn, f"SELECT * FROM {CDC_FEATURES} WHERE acct_id IN "
                               "(SELECT account_id FROM cdc_aff) ORDER BY inv_id LIMIT 5")
    return {
        "dagster/row_count": total,
        "events": sum(applied.events.values()),
        **{f"events_{name}": n for name, n in applied.events.items()},
        "rejected_events": applied.rejected,
        "accounts_touched": applied.accounts,
        "accounts_touched_first_20": accounts or "[]",
        "invoices_rewritten_first_20": invoices or "[]",
        "invoices_rewritten": applied.invoices,
        "unpaid_crossing_30_days": applied.crossed,
        "as_of": str(applied.as_of),
        "preview": dg.MetadataValue.md(preview),
        "_check": (rows, unique),
    }


@dg.asset(
    key=CDC_KEY,
    group_name=GROUP,
    kinds={"duckdb", "kafka"},
    pool=POOL,
    retry_policy=RETRY,  # a broker restart must not leave a batch unapplied
    check_specs=[dg.AssetCheckSpec(CHECK_UNIQUE, asset=CDC_KEY)],
    description="Late-payment features from the point-of-sale database's change stream.",
)
def cdc_invoice_features(
    context: dg.AssetExecutionContext, config: ChangesConfig, warehouse: Warehouse,
    kafka: KafkaResource, retail_changes: RetailChanges,
) -> dg.MaterializeResult:
    """Apply the next batch of change events; re-compute the features of the accounts it
    touches (docs/cdc.md)."""
    as_of = date.fromisoformat(config.as_of) if config.as_of else datetime.now(UTC).date()
    with warehouse.get_connection(CDC_TABLES) as conn:
        state = StreamState(kafka=stored_offsets(conn))
    consumer = kafka.consumer(CDC_GROUP_ID)
    try:
        topics = retail_changes.topics(consumer, tuple(EXTRACTS))
        batch = read_batch(consumer, topics, state, retail_changes.max_events)
        with warehouse.get_connection(CDC_TABLES) as conn:
            with transaction(conn):
                applied = apply_batch(conn, batch, state.kafka, as_of)
            figures = _figures(conn, applied)
        if config.crash_after_apply:
            raise dg.Failure("simulated crash after applying, before commit", allow_retries=False)
        for topic in topics:  # after the durable apply: Kafka's offsets are the sensor's lag
            kafka_stream.commit(consumer, topic, state)
    finally:
        consumer.close()
    rows, unique = figures.pop("_check")
    context.log.info(f"applied {figures['events']} change events from {len(topics)} topics; "
                     f"{applied.accounts} accounts, {applied.invoices} invoices re-computed")
    return dg.MaterializeResult(
        metadata={**figures, "topics": ", ".join(topics) or "(none yet)"},
        check_results=[dg.AssetCheckResult(
            check_name=CHECK_UNIQUE, passed=rows == unique,
            metadata={"rows": rows, "distinct_inv_id": unique},
            description="one feature row per invoice in the accounts this batch touched",
        )],
    )
