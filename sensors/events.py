"""How a sensor follows an asset's materializations with a bounded cursor."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import dagster as dg

BATCH = 1000  # materializations read per tick at most; the rest on the next tick


def materializations_after(
    context: dg.SensorEvaluationContext, key: dg.AssetKey, after: int | None
) -> tuple[list[Mapping[str, Any]], int | None]:
    """The metadata of `key`'s materializations stored after storage id `after` (oldest
    first), and the storage id to continue from: the cursor stays one number."""
    result = context.instance.fetch_materializations(
        dg.AssetRecordsFilter(asset_key=key, after_storage_id=after), limit=BATCH, ascending=True
    )
    metadata = []
    for record in result.records:
        materialization = record.asset_materialization
        metadata.append(materialization.metadata if materialization else {})
        after = record.storage_id
    return metadata, after
