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
"""

from __future__ import annotations

import dagster as dg

from assets.late_payments.common import GROUP
from assets.late_payments.extracts import EXTRACT_FILES, LANDING, set_fingerprint
from assets.shared import DOMAIN_TAG
from resources import PlatformPaths
from resources.lib.storage import StoreUnavailable
from sensors import TICK_SECONDS
from sensors.reask import Ask, sensor_result

JOB_NAME = "late_payments_job"
SENSOR_NAME = "late_payments_extracts_sensor"

late_payments_job = dg.define_asset_job(
    JOB_NAME,
    tags={DOMAIN_TAG: "late_payments"},
    selection=dg.AssetSelection.groups(GROUP),
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


defs = dg.Definitions(jobs=[late_payments_job], sensors=[late_payments_extracts_sensor])
