"""Upkeep of the `commerce` Iceberg catalog, shared by every domain: an hourly job that
expires old snapshots (each table keeps its last `keep`, default 50, run config, for
time travel) and deletes the files only they referenced (docs/catalog.md)."""

import dagster as dg

from assets.shared.markdown import md_table
from resources import PlatformPaths


class ExpiryConfig(dg.Config):
    keep: int = 50  # snapshots kept per table, the current one included


@dg.op(tags={"dagster/concurrency_key": "catalog_maintenance"})
def expire_catalog_snapshots(context: dg.OpExecutionContext, config: ExpiryConfig,
                             paths: PlatformPaths) -> dg.Output[None]:
    """Expire all but the last `keep` snapshots of every table of the catalog."""
    from resources.lib.catalog_maintenance import expire_catalog

    done = expire_catalog(paths.catalog(), config.keep)
    changed = [d for d in done if d.snapshots]
    context.log.info(f"{len(done)} tables; {sum(d.snapshots for d in done)} snapshots and "
                     f"{sum(d.files for d in done)} files removed")
    table = md_table(["table", "expired", "files deleted", "kept"],
                     [(d.table, d.snapshots, d.files, d.kept) for d in changed])
    return dg.Output(None, metadata={"tables": len(done), "expired": dg.MetadataValue.md(table)})


@dg.job(description="Expire old snapshots of the commerce catalog (keep the last N).")
def catalog_maintenance() -> None:
    expire_catalog_snapshots()


catalog_maintenance_schedule = dg.ScheduleDefinition(
    name="catalog_maintenance_hourly",
    job=catalog_maintenance,
    cron_schedule="15 * * * *",  # hourly: publication slows with every snapshot kept
    execution_timezone="UTC",
    default_status=dg.DefaultScheduleStatus.RUNNING,
)

defs = dg.Definitions(jobs=[catalog_maintenance], schedules=[catalog_maintenance_schedule])
