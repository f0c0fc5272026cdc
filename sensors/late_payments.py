"""The late-payments job, and its sensor: run it when a complete NEW set of the four
extracts is in `landing/retail/`.

The run key is the hash of the four files' contents (from the landing index), so the same
set (touched, re-copied) is a no-op and a replaced set is a new run. The sensor waits until
all four are present, settled NOW and hashed in their current state (`LandingFolder.unready`):
one file settling must not launch a run that reads a neighbour still being rewritten
(`*.part` / `*.tmp` uploads are ignored anyway). Its cursor is the landing sequence of the
last set it asked for; a failed run is asked again by the one re-ask rule
(`sensors/reask.py`). On a bucket (LANDING_URL) that cannot be reached the tick is skipped
with the cursor kept: the next tick catches up.

The change stream (docs/cdc.md) has its own job, sensor and daily schedule: the sensor asks
for a batch while the change topics hold events beyond Kafka's committed group offsets (the
run key names that span); the schedule runs the daily as-of step.
"""

from __future__ import annotations

import hashlib
import json

import dagster as dg

from assets.late_payments.cdc import CDC_GROUP_ID, CDC_KEY
from assets.late_payments.common import GROUP
from assets.late_payments.extracts import EXTRACT_FILES, EXTRACTS, LANDING, set_fingerprint
from assets.shared import DOMAIN_TAG
from resources import KafkaResource, PlatformPaths, RetailChanges
from resources.lib.storage import StoreUnavailable
from sensors import TICK_SECONDS
from sensors.reask import Ask, sensor_result

JOB_NAME = "late_payments_job"
SENSOR_NAME = "late_payments_extracts_sensor"

late_payments_job = dg.define_asset_job(
    JOB_NAME,
    tags={DOMAIN_TAG: "late_payments"},
    selection=dg.AssetSelection.groups(GROUP) - dg.AssetSelection.assets(CDC_KEY),
    description="Stage the four retail extracts and rebuild late_payments.invoice_features.",
)


@dg.sensor(
    name=SENSOR_NAME,
    job=late_payments_job,
    minimum_interval_seconds=TICK_SECONDS,
    default_status=dg.DefaultSensorStatus.RUNNING,
    description="A complete new set of the four retail extracts landed: rebuild the features.",
)
def late_payments_extracts_sensor(
    context: dg.SensorEvaluationContext, paths: PlatformPaths
) -> dg.SensorResult | dg.SkipReason:
    after = int(context.cursor or 0)
    folder = paths.landing_folder(LANDING)
    try:
        changes = folder.changes(after)
        if not any(f.rel in EXTRACT_FILES for f in changes.files):
            return sensor_result(context, SENSOR_NAME, [], cursor=str(changes.seq),
                                 idle="extract set unchanged")
        waiting = folder.unready(EXTRACT_FILES)
    except StoreUnavailable as exc:  # nothing read, the cursor kept: the next tick catches up
        return dg.SkipReason(f"{exc}; looking again at the next tick")
    if waiting:  # keep the cursor: the set is looked at again until every file is ready
        return dg.SensorResult(
            skip_reason=f"waiting in landing/{LANDING}/ for "
            + "; ".join(f"{name}: {why}" for name, why in waiting.items()),
            cursor=str(after),
        )
    hashes = {f.rel: f.sha256 for f in folder.files() if f.rel in EXTRACT_FILES}
    run_key = set_fingerprint(hashes)
    request = dg.RunRequest(
        run_key=run_key, job_name=JOB_NAME, tags={"late_payments/extract_set": run_key}
    )
    return sensor_result(context, SENSOR_NAME, [Ask(request, changes.seq)],
                         cursor=str(changes.seq))


CDC_JOB_NAME = "late_payments_cdc_job"
CDC_SENSOR_NAME = "late_payments_cdc_sensor"

late_payments_cdc_job = dg.define_asset_job(
    CDC_JOB_NAME,
    tags={DOMAIN_TAG: "late_payments"},
    selection=dg.AssetSelection.assets(CDC_KEY),
    description="Apply the next batch of the retail database's change events to the features.",
)


def change_lag(kafka: KafkaResource, changes: RetailChanges) -> dict[str, tuple[int, int]]:
    """`topic/partition` -> (committed, high) for each partition with unapplied events.
    Kafka's group offsets are committed only after a batch is durable (`assets/.../cdc.py`)."""
    from confluent_kafka import TopicPartition

    consumer = kafka.consumer(CDC_GROUP_ID)
    try:
        parts = []
        for topic in changes.topics(consumer, tuple(EXTRACTS)):
            meta = consumer.list_topics(topic, timeout=10).topics[topic]
            parts += [TopicPartition(topic, p) for p in sorted(meta.partitions)]
        lag = {}
        for tp in consumer.committed(parts, timeout=10) if parts else []:
            low, high = consumer.get_watermark_offsets(tp, timeout=10)
            done = max(tp.offset, low)
            if high > done:
                lag[f"{tp.topic}/{tp.partition}"] = (done, high)
        return lag
    finally:
        consumer.close()


@dg.sensor(
    name=CDC_SENSOR_NAME,
    job=late_payments_cdc_job,
    minimum_interval_seconds=TICK_SECONDS,
    default_status=dg.DefaultSensorStatus.RUNNING,
    description="Change events of the retail database wait on Kafka: apply the next batch.",
)
def late_payments_cdc_sensor(
    context: dg.SensorEvaluationContext, kafka: KafkaResource, retail_changes: RetailChanges
) -> dg.SensorResult | dg.SkipReason:
    if not (kafka.enabled and retail_changes.enabled):
        return dg.SkipReason("the change stream is off (RETAIL_CDC_TOPIC_PREFIX, "
                             "KAFKA_BOOTSTRAP_SERVERS): features come from the extracts")
    try:
        lag = change_lag(kafka, retail_changes)
    except Exception as exc:  # a broker down: the next tick looks again
        return dg.SkipReason(f"Kafka not reachable ({str(exc).splitlines()[0][:200]})")
    if not lag:
        return sensor_result(context, CDC_SENSOR_NAME, [], idle="no unapplied change events")
    position = json.dumps(lag, sort_keys=True)  # from where to where: names the batch
    run_key = "cdc:" + hashlib.sha256(position.encode()).hexdigest()[:24]
    waiting = sum(high - done for done, high in lag.values())
    request = dg.RunRequest(run_key=run_key, job_name=CDC_JOB_NAME,
                            tags={"late_payments/change_events_waiting": str(waiting)})
    return sensor_result(context, CDC_SENSOR_NAME, [Ask(request)])


@dg.schedule(
    name="late_payments_cdc_daily",
    job=late_payments_cdc_job,
    cron_schedule="5 0 * * *",
    execution_timezone="UTC",
    default_status=dg.DefaultScheduleStatus.RUNNING,
    description="The daily as-of step: unpaid invoices crossing 30 days turn late.",
)
def late_payments_cdc_daily(
    context: dg.ScheduleEvaluationContext, retail_changes: RetailChanges
) -> dg.RunRequest | dg.SkipReason:
    if not retail_changes.enabled:
        return dg.SkipReason("the change stream is off (RETAIL_CDC_TOPIC_PREFIX)")
    day = context.scheduled_execution_time.date().isoformat()
    return dg.RunRequest(run_key=f"cdc-as-of:{day}")


defs = dg.Definitions(
    jobs=[late_payments_job, late_payments_cdc_job],
    sensors=[late_payments_extracts_sensor, late_payments_cdc_sensor],
    schedules=[late_payments_cdc_daily],
)
