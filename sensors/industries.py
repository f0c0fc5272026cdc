"""Sensors of the industries domain: stream lag, new lake batches → hours, customer batches.

None of them consumes or commits anything: the stream sensor only compares the offsets
stored in the lake with the topic's high watermarks (or landing file sizes) and asks for a
run; the run consumes, writes the batch durably, and only then commits to Kafka. Each looks
at what is new since its cursor: the newest batch it knew, the landing sequence. A failed
run of any of them is asked again by the one re-ask rule (`sensors/reask.py`).
"""

from __future__ import annotations

import hashlib
import json
from datetime import timedelta

import dagster as dg

from assets.industries import kafka_stream
from assets.industries.common import (
    CUSTOMER_HOURLY,
    CUSTOMERS,
    DOMAIN,
    HISTORY,
    KAFKA_GROUP_ID,
    ORDER_BATCHES,
    ORDERS,
    SCORES,
    hour_ranges,
)
from assets.industries.customers import CUSTOMER_FOLDER, is_batch
from assets.industries.file_stream import ORDERS_LANDING, file_lag
from assets.industries.stream import batches_after, load_state, read_batch_meta
from resources import KafkaResource, PlatformPaths
from resources.lib.storage import StoreUnavailable
from sensors import TICK_SECONDS, partitions_of_run
from sensors.reask import Ask, sensor_result

# Touched hours closer than this share one run: rebuilding the hours between (empty, or
# holding earlier orders) is cheap and correct, and a month of history with quiet nights is
# one run; a late order far from the others gets a run of its own hour.
MAX_GAP = timedelta(hours=24)
# The scores are rescored in the same run as the data they read: one hop less than waiting
# for the automation sensor (which still covers materializations made by hand).
SCORED = [SCORES, HISTORY]
STREAM_SENSOR = "industries_order_stream_sensor"
HOURS_SENSOR = "industries_order_hours_sensor"
CUSTOMERS_SENSOR = "industries_customers_sensor"
# A run in one of these states has not yet read the stream up to its end.
PENDING = [dg.DagsterRunStatus.QUEUED, dg.DagsterRunStatus.NOT_STARTED,
           dg.DagsterRunStatus.STARTING, dg.DagsterRunStatus.STARTED]


def _digest(obj: object) -> str:
    return hashlib.sha1(json.dumps(obj, sort_keys=True).encode()).hexdigest()[:16]


def _cursor_seq(cursor: str | None) -> int:
    """The batch sequence a stream-sensor cursor (`orders-<seq>-<digest>`) names."""
    try:
        return int((cursor or "").split("-")[1])
    except (IndexError, ValueError):
        return 0


@dg.sensor(
    name=STREAM_SENSOR,
    asset_selection=[ORDER_BATCHES],
    default_status=dg.DefaultSensorStatus.RUNNING,
    minimum_interval_seconds=TICK_SECONDS,
)
def order_stream_sensor(
    context: dg.SensorEvaluationContext, paths: PlatformPaths, kafka: KafkaResource
) -> dg.SensorResult | dg.SkipReason:
    """Ask for a micro-batch run when the stream has records beyond the stored offsets, and
    none of its runs is still queued or running: a queued run reads everything up to its
    start anyway, and on a live stream a new key every tick would queue runs faster than
    they finish (seen in the container deployment: a run per tick, each ~20 s on Spark)."""
    pending = context.instance.get_run_records(
        filters=dg.RunsFilter(statuses=PENDING, tags={"dagster/sensor_name": STREAM_SENSOR}),
        limit=1)
    if pending:
        run = pending[0].dagster_run
        return dg.SkipReason(f"order batch run {run.run_id} is {run.status.value}: it reads "
                             "the stream; the next batch is asked for once it is done")
    try:
        state = load_state(paths.lake_location(DOMAIN), known=_cursor_seq(context.cursor))
        lag = dict(file_lag(paths.landing_folder(ORDERS_LANDING), state))
    except StoreUnavailable as exc:  # nothing asked, the cursor kept: the next tick catches up
        return dg.SkipReason(f"{exc}; looking again at the next tick")
    what = "landing/orders"
    if kafka.enabled:
        consumer = kafka.consumer(KAFKA_GROUP_ID)
        try:
            for p, v in kafka_stream.lag(consumer, kafka.topic, state).items():
                lag[f"kafka:{kafka.topic}/{p}"] = v
        finally:
            consumer.close()
        what += f" + kafka topic {kafka.topic}"
    if not lag:
        return sensor_result(context, STREAM_SENSOR, [],
                             idle=f"no new records in {what} beyond batch {state.seq}")
    # The key names exactly which records the run will see: stored start .. end per source.
    key = f"orders-{state.seq}-{_digest(lag)}"
    pending = sum(end - start for start, end in lag.values())
    context.log.debug(f"{what}: {pending} bytes/messages pending")
    request = dg.RunRequest(run_key=key, asset_selection=[ORDER_BATCHES])
    return sensor_result(context, STREAM_SENSOR, [Ask(request)], cursor=key)


@dg.sensor(
    name=HOURS_SENSOR,
    asset_selection=[ORDERS, CUSTOMER_HOURLY, *SCORED],
    default_status=dg.DefaultSensorStatus.RUNNING,
    minimum_interval_seconds=TICK_SECONDS,
)
def order_hours_sensor(
    context: dg.SensorEvaluationContext, paths: PlatformPaths
) -> dg.SensorResult | dg.SkipReason:
    """For each new lake batch, re-materialize only the order hours it touched, and rescore.

    Touched hours less than MAX_GAP apart share one run over their range (single-run
    backfill policy), so a history load is one run and a late order a run of its own hour.
    """
    done, lake = int(context.cursor or 0), paths.lake_location(DOMAIN)
    try:
        new = batches_after(lake, done)
        hours: set[str] = set()
        for _, rel in new:
            hours.update(read_batch_meta(lake, rel)[1])
    except StoreUnavailable as exc:
        return dg.SkipReason(f"{exc}; looking again at the next tick")
    if not new:
        return sensor_result(context, HOURS_SENSOR, [], idle=f"no lake batch after {done}")
    first, last = new[0][0], new[-1][0]
    asks = [
        Ask(dg.RunRequest(
            run_key=f"order-hours-{start}..{end}-batches-{first}-{last}",
            asset_selection=[ORDERS, CUSTOMER_HOURLY, *SCORED],
            **partitions_of_run(start, end),
        ))
        for start, end in hour_ranges(sorted(hours), MAX_GAP)
    ]
    return sensor_result(context, HOURS_SENSOR, asks, cursor=str(last))


@dg.sensor(
    name=CUSTOMERS_SENSOR,
    asset_selection=[CUSTOMERS, *SCORED],
    default_status=dg.DefaultSensorStatus.RUNNING,
    minimum_interval_seconds=TICK_SECONDS,
)
def customers_sensor(
    context: dg.SensorEvaluationContext, paths: PlatformPaths
) -> dg.SensorResult | dg.SkipReason:
    """Rebuild the customer snapshot, and rescore, when a batch file is new or changed (by
    content); the run key names the content of every batch (from the landing index)."""
    folder = paths.landing_folder(CUSTOMER_FOLDER)
    after = int(context.cursor or 0)
    try:
        changes = folder.changes(after)
    except StoreUnavailable as exc:
        return dg.SkipReason(f"{exc}; looking again at the next tick")
    if not any(is_batch(f.rel) for f in changes.files):
        return sensor_result(context, CUSTOMERS_SENSOR, [], cursor=str(changes.seq),
                             idle=f"no new customer batch in landing/{CUSTOMER_FOLDER}")
    digest = _digest([(f.rel, f.sha256) for f in folder.files() if is_batch(f.rel)])
    request = dg.RunRequest(run_key=f"customers-{digest}", asset_selection=[CUSTOMERS, *SCORED])
    return sensor_result(context, CUSTOMERS_SENSOR, [Ask(request, changes.seq)],
                         cursor=str(changes.seq))


# Evaluates the scores' AutomationCondition; Dagster's implicit default sensor starts
# STOPPED, so the platform declares its own, RUNNING like every sensor here.
industries_automation_sensor = dg.AutomationConditionSensorDefinition(
    "industries_automation_sensor",
    target=dg.AssetSelection.groups("industries"),
    default_status=dg.DefaultSensorStatus.RUNNING,
    minimum_interval_seconds=TICK_SECONDS,
)

sensors = [order_stream_sensor, order_hours_sensor, customers_sensor, industries_automation_sensor]

defs = dg.Definitions(sensors=sensors)
