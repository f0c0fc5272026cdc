"""Customer insights (spec section 5): SQL source -> cleaned aggregate + four Polars
insights in the warehouse -> MongoDB / embedded document store, every 3 hours."""

import dagster as dg

from assets.customers.assets import SOURCE_SPECS, build_assets
from sensors.customers import JOB_NAME, customers_run_failure_sensor

ASSETS = build_assets()

customers_job = dg.define_asset_job(
    JOB_NAME,
    selection=dg.AssetSelection.assets(*ASSETS),
    description="Extract the e-commerce DB, rebuild customers.* tables, load the documents.",
)

customers_schedule = dg.ScheduleDefinition(
    name="customers_every_3_hours",
    job=customers_job,
    cron_schedule="0 */3 * * *",
    execution_timezone="UTC",
    default_status=dg.DefaultScheduleStatus.RUNNING,
)

defs = dg.Definitions(
    assets=[*SOURCE_SPECS, *ASSETS],
    jobs=[customers_job],
    schedules=[customers_schedule],
    sensors=[customers_run_failure_sensor],
)
