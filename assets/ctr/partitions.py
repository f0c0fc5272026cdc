"""Partitions and time conventions of the ctr domain.

Everything is served in GMT-03:00, a FIXED offset (not America/Sao_Paulo, which had daylight
saving time in 2016). A `date` partition is one GMT-03:00 calendar day: [D 00:00, D+1 00:00)
in GMT-03:00, i.e. [D 03:00, D+1 03:00) UTC. `Etc/GMT+3` is the IANA name of UTC-3 (POSIX
signs are inverted), so Dagster's partition boundaries line up with those days.
"""

from __future__ import annotations

import dagster as dg

from assets.ctr.serving import PLATFORMS
from assets.shared import asset_key, history_start

DOMAIN = "ctr"
VIEWS_LANDING = "product_views"  # landing/product_views/<Platform>/*.json
TIMEZONE = "Etc/GMT+3"
OFFSET_MS = -3 * 3600 * 1000  # add to a UTC epoch in ms to get GMT-03:00 wall-clock ms
# CTR_HISTORY_START (default 2016-01-01): the first date partition; older views are rejected
START_DATE = history_start(DOMAIN, "2016-01-01")

VIEW_EVENTS = asset_key(DOMAIN, "view_events")
VIEWS_PER_MINUTE = asset_key(DOMAIN, "views_per_minute")
PURCHASES = asset_key(DOMAIN, "purchases")
PURCHASES_PER_MINUTE = asset_key(DOMAIN, "purchases_per_minute")

date_partitions = dg.DailyPartitionsDefinition(
    start_date=START_DATE, timezone=TIMEZONE, end_offset=1
)
platform_partitions = dg.StaticPartitionsDefinition(list(PLATFORMS))
partitions_def = dg.MultiPartitionsDefinition(
    {"date": date_partitions, "platform": platform_partitions}
)

def partition_key(date: str, platform: str) -> dg.MultiPartitionKey:
    return dg.MultiPartitionKey({"date": date, "platform": platform})


def slice_of(key: str) -> tuple[str, str]:
    """(date, platform) of a partition key `date|platform`."""
    parts = partitions_def.get_partition_key_from_str(key).keys_by_dimension
    return parts["date"], parts["platform"]
