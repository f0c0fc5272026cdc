"""The CTR lake in the `commerce` catalog: the view events of every (platform, GMT-03:00
day) a run touched, and the per-file ledger and rejected events (docs/catalog.md).

`commerce.ctr.view_events` is partitioned by (platform, date): an ingest replaces the slices
its files touched with every part the lake now holds for them (a slice whose views moved to
another day is emptied), so the catalog holds the lake's views once each, with the source
file each came from. The lake stays the truth; this is its published copy for SQL.
"""

from __future__ import annotations

from datetime import date
from typing import Any

import dagster as dg
import pyarrow as pa
import pyarrow.parquet as pq

from assets.ctr.lake import partition_files
from assets.ctr.partitions import slice_of
from assets.ctr.rollups import SCHEMA
from assets.shared.catalog import publish_arrow, publish_tables
from resources import PlatformPaths, Warehouse
from resources.lib.storage import Location

VIEW_EVENTS_TABLE = "ctr.view_events"
VIEW_EVENTS_SPEC = (("platform", "identity"), ("date", "identity"))
LEDGER_TABLES = ("ctr.view_file_ledger", "ctr.rejected_view_events")


def slice_events(lake: Location, platform: str, day: str) -> list[pa.Table]:
    """The lake parts of one slice, each with its platform and source file."""
    parts = []
    for rel in partition_files(lake, platform, day):
        part = pq.read_table(lake.open(rel))
        part = part.drop_columns([c for c in ("platform", "date") if c in part.column_names])
        source = rel.rsplit("/", 1)[1].removesuffix(".parquet")
        n, when = part.num_rows, date.fromisoformat(day)
        parts.append(part.add_column(0, "platform", pa.array([platform] * n))
                     .add_column(1, "date", pa.array([when] * n, pa.date32()))
                     .append_column("source_file", pa.array([source] * n)))
    return parts


def publish_lake(context: dg.AssetExecutionContext, paths: PlatformPaths,
                 warehouse: Warehouse, lake: Location, touched: list[str]) -> dict[str, Any]:
    """Publish the view events of the touched `date|platform` slices, and the ledger tables
    (the warehouse's, replaced whole: one row per file); the snapshot metadata."""
    slices = sorted({slice_of(key)[::-1] for key in touched})  # (platform, day)
    published: dict[str, Any] = {}
    if slices:
        parts = [p for platform, day in slices for p in slice_events(lake, platform, day)]
        # parts written on Spark hold large_string where the embedded ones hold string
        data = pa.concat_tables(parts, promote_options="permissive") if parts else _empty()
        keys = {(platform, date.fromisoformat(day)) for platform, day in slices}
        published = publish_arrow(context, paths, VIEW_EVENTS_TABLE, data, VIEW_EVENTS_SPEC,
                                  keys)
    with warehouse.get_connection(SCHEMA) as conn:
        return published | publish_tables(context, paths, conn, *LEDGER_TABLES)


def _empty() -> pa.Table:
    return pa.table({"platform": pa.array([], pa.string()), "date": pa.array([], pa.date32())})
