"""Jobs of the ctr domain and the schedule that re-extracts recent purchases."""

from __future__ import annotations

from datetime import date, timedelta

import dagster as dg

from assets.ctr.partitions import (
    DOMAIN,
    PLATFORMS,
    START_DATE,
    TIMEZONE,
    partition_key,
)

VIEW_EVENTS = dg.AssetKey([DOMAIN, "view_events"])
VIEWS_PER_MINUTE = dg.AssetKey([DOMAIN, "views_per_minute"])
PURCHASES = dg.AssetKey([DOMAIN, "purchases"])
PURCHASES_PER_MINUTE = dg.AssetKey([DOMAIN, "purchases_per_minute"])
RECENT_DAYS = 3

ingest_views_job = dg.define_asset_job(
    "ctr_ingest_views",
    selection=dg.AssetSelection.assets(VIEW_EVENTS),
    description="Parse new product-view files into the lake (once per content).",
)
refresh_partition_job = dg.define_asset_job(
    "ctr_refresh_partition",
    selection=dg.AssetSelection.assets(PURCHASES, PURCHASES_PER_MINUTE, VIEWS_PER_MINUTE),
    description="Purchases + both per-minute rollups of one (date, platform) partition.",
)
refresh_purchases_job = dg.define_asset_job(
    "ctr_refresh_purchases",
    selection=dg.AssetSelection.assets(PURCHASES, PURCHASES_PER_MINUTE),
    description="Re-extract purchases of one (date, platform) and roll them up.",
)


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
