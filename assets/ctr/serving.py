"""The CTR serving contract: the Parquet files the API reads, published atomically.

This module (with `render`, how an answer row looks) is what the rollup assets promise and
`api/` reads; it imports neither Dagster nor the warehouse, so the API stays light.

    <lake>/ctr/serving/<table>/platform=<P>/<YYYY-MM-DD>.parquet

Tables: `views_per_minute` and `purchases_per_minute` (platform, product, minute, count;
sorted by minute, product), and the 10-minute tier `ctr_10min` (bucket, product, views,
purchases, row_json; sorted by bucket, product): views and purchases already joined per
10-minute bucket, each row also rendered as the API's answer row for that bucket
(`assets.ctr.render`), so that buckets that are multiples of 10 minutes on the 10-minute grid read
fewer rows and, at exactly 10 minutes, need no grouping, sorting or JSON writing.

Dagster writes the warehouse (`ctr.views_per_minute`, `ctr.purchases_per_minute`) and then
publishes that partition's rows here (`Location.write`: a temporary file renamed over the
old one, or one completed upload), so the API never opens the DuckDB warehouse file and
never waits on its write lock; a reader sees either the old or the new file, never a
half-written one, and never a missing one: a slice that loses its rows is published as an
empty file, not deleted.
"""

from __future__ import annotations

import pyarrow as pa

from resources.lib.serving import publish_table
from resources.lib.storage import Location

# Platforms, canonical spelling: folder names in landing/ match them ignoring case, and the
# serving files and API answers use them as written here.
PLATFORMS: tuple[str, ...] = ("iOS", "Android", "MobileWeb")
_CANONICAL = {p.lower(): p for p in PLATFORMS}

TABLES = ("views_per_minute", "purchases_per_minute")
TIER = "ctr_10min"
TIER_MINUTES = 10
TIER_SCHEMA = pa.schema(
    [
        ("bucket", pa.timestamp("us")),
        ("product", pa.string()),
        ("views", pa.int64()),
        ("purchases", pa.int64()),
        ("row_json", pa.string()),
    ]
)
SCHEMA = pa.schema(
    [
        ("platform", pa.string()),
        ("product", pa.string()),
        ("minute", pa.timestamp("us")),
        ("count", pa.int64()),
    ]
)


def canonical_platform(name: str | None) -> str | None:
    """`ios`, ` MOBILEWEB ` -> `iOS`, `MobileWeb`; None for anything that is not a platform."""
    if name is None:
        return None
    return _CANONICAL.get(name.strip().lower())


def serving_root(lake: Location) -> Location:
    """`<lake>/ctr/serving/`: on this disk or on the lake's bucket."""
    return lake.child("ctr", "serving")


def slice_folder(root: Location, table: str, platform: str) -> Location:
    """The folder of one table's files of one platform (one file per day)."""
    return root.child(table, f"platform={platform}")


def serving_file(root: Location, table: str, platform: str, date: str) -> Location:
    return slice_folder(root, table, platform).child(f"{date}.parquet")


def publish(root: Location, table: str, platform: str, date: str,
            rows: pa.Table) -> str | None:
    """Atomically replace one (table, platform, date) file; None when there are no rows.
    `rows` must already be in the table's order (see the module docstring).

    A slice that has no rows any more is published as an empty file, never deleted: a
    reader that listed the file a moment before must find it (the old state or the new
    one, never a missing file). A slice that never had rows gets no file."""
    target = serving_file(root, table, platform, date)
    if rows.num_rows == 0 and not target.exists():
        return None
    written = publish_table(target, rows.cast(TIER_SCHEMA if table == TIER else SCHEMA))
    return written if rows.num_rows else None
