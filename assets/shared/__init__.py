"""What every domain's assets share: asset keys, the warehouse pool, the retry policy
(and the no-re-ask mark), the base of op config (`LaunchConfig`), Markdown tables for
metadata and contiguous ranges of partition keys."""

from assets.shared.conventions import (
    DOMAIN_TAG,
    NO_REASK_TAG,
    POOL,
    RETRY,
    LaunchConfig,
    asset_key,
    history_start,
    no_reask,
)
from assets.shared.markdown import md, md_table
from assets.shared.ranges import (
    contiguous,
    coverage_table,
    date_ranges,
    describe_ranges,
    next_day,
)

__all__ = [
    "DOMAIN_TAG",
    "NO_REASK_TAG",
    "POOL",
    "RETRY",
    "LaunchConfig",
    "asset_key",
    "contiguous",
    "coverage_table",
    "date_ranges",
    "history_start",
    "describe_ranges",
    "md",
    "md_table",
    "next_day",
    "no_reask",
]
