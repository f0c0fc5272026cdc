"""One module per domain: its sensors, schedules and jobs, exported as `defs`. Sensors sit
above the assets (they import them) and below `definitions.py`, which assembles."""

from __future__ import annotations

from typing import Any

# Dagster's run tags for one run over a partition range (BackfillPolicy.single_run).
RANGE_START_TAG = "dagster/asset_partition_range_start"
RANGE_END_TAG = "dagster/asset_partition_range_end"

# How often a sensor looks. The daemon's loop never runs a sensor more often than every
# 5 s; an idle tick of every sensor here is a few milliseconds (an index lookup, a stat of
# the stream offsets), so looking at the floor keeps the file -> run hop short.
TICK_SECONDS = 5


def partitions_of_run(first: str, last: str, tags: dict[str, str] | None = None) -> dict[str, Any]:
    """`RunRequest` arguments for partition `first` or, when `last` differs, for one run over
    `first`..`last` (assets with a single-run backfill policy); with `tags` added."""
    tags = dict(tags or {})
    if first == last:
        return {"partition_key": first, "tags": tags}
    return {"tags": {**tags, RANGE_START_TAG: first, RANGE_END_TAG: last}}
