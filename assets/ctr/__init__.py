"""Product CTR (spec section 2): JSON view events + SQL purchases, per-minute rollups,
served by the FastAPI app in `api/`."""

import dagster as dg

from assets.ctr.jobs import (
    ingest_views_job,
    recent_purchases_schedule,
    refresh_partition_job,
    refresh_purchases_job,
)
from assets.ctr.purchases import purchases, purchases_per_minute, purchases_source
from assets.ctr.views import view_events, view_files, views_per_minute
from sensors.ctr import ctr_product_views_sensor

defs = dg.Definitions(
    assets=[
        view_files,
        purchases_source,
        view_events,
        views_per_minute,
        purchases,
        purchases_per_minute,
    ],
    sensors=[ctr_product_views_sensor],
    schedules=[recent_purchases_schedule],
    jobs=[ingest_views_job, refresh_partition_job, refresh_purchases_job],
)
