"""`ctr.views_per_minute`: product views per minute, rolled up from the lake Parquet."""

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import dagster as dg
import pyarrow as pa

from assets.ctr.ingest import view_events
from assets.ctr.lake import partition_files, partition_rel
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
from resources.lib.storage import Location
from resources.sql import transaction

LAKE_VIEW = "ctr_views_lake"  # the slice's lake parts, registered on the connection
ROLLED_VIEW = "views_rolled_up"  # the cluster's rollup of the slice


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
        lambda: run_coverage(context, paths, warehouse, "views_per_minute"),
    )


def _views_slice(
    paths: PlatformPaths, warehouse: Warehouse, spark: SparkResource, day: str, platform: str
) -> dg.MaterializeResult:
    lake = paths.lake_location(DOMAIN)
    files = partition_files(lake, platform, day)
    rolled = (rollup_views(spark.session(), [lake.spark_uri(f) for f in files])
              if spark.enabled and files else None)
    with warehouse.get_connection(SCHEMA) as conn:
        rows, lake_rows = _replace(conn, lake, files, rolled, platform, day)
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


def _replace(conn: Any, lake: Location, files: list[str], rolled: pa.Table | None,
             platform: str, day: str) -> tuple[int, int]:
    """Replace the slice's rows with the cluster's rollup or the lake parts' (read through
    the lake's filesystem, here or on a bucket): (rows written, views in the lake)."""
    if rolled is not None:
        select, params = f"SELECT ?, product, minute, count FROM {ROLLED_VIEW}", [platform]
    elif files:
        select = f"""SELECT ?, product, date_trunc('minute', event_time), count(*)
                     FROM {LAKE_VIEW} GROUP BY ALL"""
        params = [platform]
    else:
        select, params = "SELECT * FROM ctr.views_per_minute WHERE false", []
    parts = lake.dataset(partition_rel(platform, day)) if files else None
    with _registered(conn, ROLLED_VIEW, rolled), _registered(conn, LAKE_VIEW, parts):
        with transaction(conn):
            rows = replace_rollup(conn, "views_per_minute", platform, day, select, params)
            lake_rows = conn.execute(
                f"SELECT count(*) FROM {LAKE_VIEW}").fetchone()[0] if files else 0
    return rows, int(lake_rows)


@contextmanager
def _registered(conn: Any, name: str, data: Any) -> Iterator[None]:
    """`data` (an Arrow table or dataset) as view `name` of the connection for the block."""
    if data is None:
        yield
        return
    conn.register(name, data)
    try:
        yield
    finally:
        conn.unregister(name)
