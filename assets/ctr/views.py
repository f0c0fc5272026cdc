"""`ctr.views_per_minute`: product views per minute, rolled up from the lake Parquet."""

from collections.abc import Iterator

import dagster as dg

from assets.ctr.ingest import view_events
from assets.ctr.lake import partition_files
from assets.ctr.partitions import (
    DOMAIN,
    PURCHASES_PER_MINUTE,
    VIEWS_PER_MINUTE,
    partitions_def,
    slice_of,
)
from assets.ctr.publish import publish_and_describe
from assets.ctr.rollups import SCHEMA, replace_rollup, run_coverage
from assets.ctr.serving import serving_root
from assets.ctr.spark_engine import rollup_views
from assets.shared import POOL, md
from assets.shared.partitions import each_partition
from resources import PlatformPaths, SparkResource, Warehouse
from resources.sql import transaction


@dg.asset(
    key=VIEWS_PER_MINUTE,
    # after the purchases rollup of the same slice, so that it publishes both (publish.py)
    deps=[view_events, PURCHASES_PER_MINUTE],
    partitions_def=partitions_def,
    backfill_policy=dg.BackfillPolicy.single_run(),
    group_name=DOMAIN,
    kinds={"duckdb", "parquet"},
    pool=POOL,
    check_specs=[
        dg.AssetCheckSpec(
            "views_match_lake",
            asset=VIEWS_PER_MINUTE,
            description="Σ count of the partition equals the lake's view rows for it, and "
            "the served per-minute file and 10-minute tier hold the same views.",
        )
    ],
)
def views_per_minute(
    context: dg.AssetExecutionContext, paths: PlatformPaths, warehouse: Warehouse,
    spark: SparkResource,
) -> Iterator[dg.MaterializeResult]:
    """Product views per (platform, product, GMT-03:00 minute) for one day and platform.

    Rolled up from the lake Parquet of the partition (on the Spark cluster when SPARK_REMOTE
    is set), replaced in one transaction, then published to `lake/ctr/serving/` for the API.
    Why: the API's cost then depends on the number of (product, minute) cells of the
    requested days, not on raw event volume.
    """
    yield from each_partition(
        context, context.partition_keys,
        lambda key: _views_slice(paths, warehouse, spark, *slice_of(key)),
        lambda: run_coverage(context, warehouse, "views_per_minute"),
    )


def _views_slice(
    paths: PlatformPaths, warehouse: Warehouse, spark: SparkResource, day: str, platform: str
) -> dg.MaterializeResult:
    files = partition_files(paths.lake(DOMAIN), platform, day)
    rolled = rollup_views(spark.session(), files) if spark.enabled and files else None
    if rolled is not None:  # rolled up on the cluster: insert its rows
        select, params = "SELECT ?, product, minute, count FROM views_rolled_up", [platform]
    elif files:
        select = """SELECT ?, product, date_trunc('minute', event_time), count(*)
                    FROM read_parquet(?) GROUP BY ALL"""
        params = [platform, files]
    else:
        select, params = "SELECT * FROM ctr.views_per_minute WHERE false", []
    with warehouse.get_connection(SCHEMA) as conn:
        if rolled is not None:
            conn.register("views_rolled_up", rolled)
        with transaction(conn):
            rows = replace_rollup(conn, "views_per_minute", platform, day, select, params)
            lake_rows = conn.execute(
                "SELECT count(*) FROM read_parquet(?)", [files]).fetchone()[0] if files else 0
        published = publish_and_describe(
            conn, serving_root(paths.lake_root()), "views_per_minute", platform, day
        )
    return dg.MaterializeResult(
        metadata={
            "dagster/row_count": rows,
            "views": published.total,
            "products": published.products,
            "lake_files": len(files),
            "engine": spark.describe(),
            "serving_file": published.path or "(none: no views)",
            "serving_10min_rows": published.tier_rows,
            "preview": md(published.preview),
        },
        check_results=[
            dg.AssetCheckResult(
                check_name="views_match_lake",
                passed=published.total == lake_rows == published.tier_total
                and published.served == rows,
                metadata={
                    "rollup_views": published.total,
                    "lake_views": int(lake_rows),
                    "served": published.served,
                    "tier_views": published.tier_total,
                },
            )
        ],
    )
