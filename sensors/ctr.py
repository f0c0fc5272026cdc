"""Sensor, jobs and schedule of the ctr domain.

`ctr_product_views_sensor` asks for two kinds of run, from one cursor of three numbers:
1. files in `landing/product_views/<Platform>/` whose content is not in the lake yet ->
   one `ctr_ingest_views` run for them (run key = their ids and content hashes); the
   landing sequence only moves past a file once its manifest shows that content. An array
   file an ingest found unfinished (no closing `]`) is not asked for again until it
   changes, or until it has been unchanged for UNFINISHED_SECONDS (then once more, under
   its own run key, and that run moves it aside);
2. the partitions each ingest touched (read from `ctr/view_events` materializations after
   the last one seen) -> one `ctr_refresh_partition` run per (date, platform): purchases of
   that day and both per-minute rollups. Nothing else is recomputed.
A failed run of either kind is asked again by the one re-ask rule (`sensors/reask.py`).
The sensor never opens the DuckDB warehouse (it reads files and Dagster's event log), so it
never waits on the writer's lock.
"""

from __future__ import annotations

import hashlib
import json
from datetime import date, timedelta

import dagster as dg

from assets.ctr.ingest import TOUCHED, views_folder
from assets.ctr.lake import file_id, platform_of, read_manifest, source_name, unfinished_state
from assets.ctr.partitions import (
    DOMAIN,
    PLATFORMS,
    PURCHASES,
    PURCHASES_PER_MINUTE,
    START_DATE,
    TIMEZONE,
    VIEW_EVENTS,
    VIEWS_PER_MINUTE,
    date_partitions,
    partition_key,
)
from assets.shared import DOMAIN_TAG, date_ranges
from resources import PlatformPaths
from resources.lib.storage import StoreUnavailable
from sensors import TICK_SECONDS, partitions_of_run
from sensors.events import materializations_after
from sensors.reask import Ask, sensor_result

SENSOR_NAME = "ctr_product_views_sensor"
RECENT_DAYS = 3

ingest_views_job = dg.define_asset_job(
    "ctr_ingest_views",
    tags={DOMAIN_TAG: "ctr"},
    selection=dg.AssetSelection.assets(VIEW_EVENTS),
    description="Parse new product-view files into the lake (once per content).",
)
refresh_partition_job = dg.define_asset_job(
    "ctr_refresh_partition",
    tags={DOMAIN_TAG: "ctr"},
    selection=dg.AssetSelection.assets(PURCHASES, PURCHASES_PER_MINUTE, VIEWS_PER_MINUTE),
    description="Purchases + both per-minute rollups of one (date, platform) partition.",
)
refresh_purchases_job = dg.define_asset_job(
    "ctr_refresh_purchases",
    tags={DOMAIN_TAG: "ctr"},
    selection=dg.AssetSelection.assets(PURCHASES, PURCHASES_PER_MINUTE),
    description="Re-extract purchases of one (date, platform) and roll them up.",
)


def _digest(items: list[str]) -> str:
    return hashlib.sha256("\n".join(sorted(items)).encode()).hexdigest()[:16]


def _ingest_requests(
    paths: PlatformPaths, state: dict[str, int], log: dg.DagsterLogManager
) -> tuple[list[Ask], int, int]:
    """(requests, landing sequence every file up to which is in the lake, newest seen)."""
    folder = views_folder(paths)
    changes = folder.changes(state.get("landing", 0))
    lake = paths.lake_location(DOMAIN)
    confirmed, pending = changes.seq, []
    for landed in changes.files:
        platform = platform_of(landed.rel)
        if platform is None:
            if landed.seq > state.get("seen", 0):
                log.warning(f"{landed.rel}: not in a platform folder; ignored")
            continue
        name = source_name(landed.path, platform)
        manifest = read_manifest(lake, platform, name)
        if manifest is None or manifest["sha256"] != landed.sha256:
            confirmed = min(confirmed, landed.seq - 1)
            unfinished = unfinished_state(lake, folder, landed.rel, platform, name,
                                          landed.sha256)
            if unfinished == "waiting":  # its writer may still append: wait for a change
                continue
            fid = file_id(landed.path, platform)
            pending.append((landed, fid, f"{fid}@{landed.sha256}"
                            + (":unfinished" if unfinished else "")))
    if not pending:
        return [], confirmed, changes.seq
    request = dg.RunRequest(
        job_name=ingest_views_job.name,
        run_key=f"ctr-ingest:{_digest([item for _, _, item in pending])}",
        run_config={
            "ops": {
                "ctr__view_events": {"config": {"files": [landed.rel for landed, *_ in pending]}}
            }
        },
        tags={"ctr/files": ", ".join(sorted(fid for _, fid, _ in pending))[:1000]},
    )
    return [Ask(request, max(landed.seq for landed, *_ in pending))], confirmed, changes.seq


def _refresh_requests(
    context: dg.SensorEvaluationContext, after: int | None
) -> tuple[list[Ask], int | None]:
    """The (date, platform) partitions that ingests materialized after `after` touched, as
    one refresh run per platform and run of consecutive dates (a file spanning midnight
    is one run, not two)."""
    events, after = materializations_after(context, VIEW_EVENTS, after)
    touched: dict[str, str] = {}
    for metadata in events:
        value = metadata.get(TOUCHED)
        if value is not None and isinstance(value.value, dict):
            touched.update(value.value)
    latest = date_partitions.get_last_partition_key() or ""
    by_platform: dict[str, dict[date, str]] = {}
    for key, digest in sorted(touched.items()):
        day, platform = key.split("|")
        if day > latest:
            context.log.warning(f"{key}: date after the last partition ({latest}); skipped")
            continue
        by_platform.setdefault(platform, {})[date.fromisoformat(day)] = digest
    requests = []
    for platform, days in sorted(by_platform.items()):
        for first, last in date_ranges(days):
            digests = [days[d] for d in sorted(days) if first <= d <= last]
            key = f"ctr-refresh:{platform}:{first}..{last}:{_digest(digests)}"
            requests.append(Ask(_refresh_request(platform, first, last, key)))
    return requests, after


def _refresh_request(platform: str, first: date, last: date, key: str) -> dg.RunRequest:
    """A refresh run of one platform's dates `first`..`last` (one partition, or a range)."""
    return dg.RunRequest(
        job_name=refresh_partition_job.name,
        run_key=key,
        **partitions_of_run(partition_key(str(first), platform),
                            partition_key(str(last), platform)),
    )


@dg.sensor(
    name=SENSOR_NAME,
    jobs=[ingest_views_job, refresh_partition_job],
    minimum_interval_seconds=TICK_SECONDS,
    default_status=dg.DefaultSensorStatus.RUNNING,
    description="New product-view files -> parse into the lake -> refresh only the "
    "(date, platform) partitions they touched, purchases included.",
)
def ctr_product_views_sensor(
    context: dg.SensorEvaluationContext, paths: PlatformPaths
) -> dg.SensorResult | dg.SkipReason:
    state = json.loads(context.cursor) if context.cursor else {}
    try:
        ingests, confirmed, seen = _ingest_requests(paths, state, context.log)
    except StoreUnavailable as exc:  # nothing asked, the cursor kept: the next tick catches up
        return dg.SkipReason(f"{exc}; looking again at the next tick")
    refreshes, after = _refresh_requests(context, state.get("after"))
    cursor = {"landing": confirmed, "seen": seen, "after": after}
    return sensor_result(context, SENSOR_NAME, ingests + refreshes, cursor=json.dumps(cursor))


def recent_dates(today: date, days: int = RECENT_DAYS) -> list[str]:
    """Today and the days before it (GMT-03:00), never before the first partition."""
    first = date.fromisoformat(START_DATE)
    days_back = (today - timedelta(days=i) for i in range(days))
    return [str(d) for d in days_back if d >= first]


@dg.schedule(
    name="ctr_recent_purchases",
    cron_schedule="20 * * * *",
    job=refresh_purchases_job,
    execution_timezone=TIMEZONE,
    default_status=dg.DefaultScheduleStatus.RUNNING,
)
def recent_purchases_schedule(context: dg.ScheduleEvaluationContext) -> list[dg.RunRequest]:
    """Every hour, re-extract the purchases of the last RECENT_DAYS GMT-03:00 days for every
    platform, so orders that arrive in the source after the views show up in the CTR."""
    scheduled = context.scheduled_execution_time
    today = scheduled.date()  # execution_timezone makes this the GMT-03:00 date
    stamp = scheduled.strftime("%Y-%m-%dT%H:%M")
    return [
        dg.RunRequest(
            run_key=f"ctr-purchases:{day}|{platform}:{stamp}",
            partition_key=partition_key(day, platform),
        )
        for day in recent_dates(today)
        for platform in PLATFORMS
    ]


defs = dg.Definitions(
    sensors=[ctr_product_views_sensor],
    schedules=[recent_purchases_schedule],
    jobs=[ingest_views_job, refresh_partition_job, refresh_purchases_job],
)
