"""Constants shared by the industries domain: the industry set, partitions, table names."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

import dagster as dg

from assets.shared import asset_key, contiguous, history_start

DOMAIN = "industries"
SCHEMA = "industries"
GROUP = "industries"

# The fixed value set of spec section 3, canonical spelling.
INDUSTRIES: tuple[str, ...] = (
    "Agriculture",
    "Colours",
    "Cleaning",
    "Construction",
    "Cosmetics",
    "Food",
    "Lubricants",
    "Oil&Gas",
    "Pharmaceuticals",
    "Polymer",
)
_CANONICAL = {re.sub(r"\s+", "", name).casefold(): name for name in INDUSTRIES}

# Hourly partitions by order time (UTC). The start is the earliest order the platform
# accepts (older orders are rejected with a reason); end_offset=1 keeps the current,
# still-open hour addressable so live orders land in their own partition.
# INDUSTRIES_HISTORY_START (default 2024-01-01): the first hourly partition
PARTITION_START = datetime.fromisoformat(history_start(DOMAIN, "2024-01-01")).replace(tzinfo=UTC)
HOUR_FMT = "%Y-%m-%d-%H:%M"
hourly_partitions = dg.HourlyPartitionsDefinition(
    start_date=PARTITION_START.strftime(HOUR_FMT), end_offset=1, timezone="UTC"
)

ORDER_BATCHES = asset_key(DOMAIN, "order_batches")
ORDERS = asset_key(DOMAIN, "orders")
CUSTOMER_HOURLY = asset_key(DOMAIN, "customer_hourly")
CUSTOMERS = asset_key(DOMAIN, "customers")
SCORES = asset_key(DOMAIN, "industry_change_scores")
HISTORY = asset_key(DOMAIN, "industry_change_history")

KAFKA_GROUP_ID = "industries-orders"


def canonical_industry(raw: str) -> str | None:
    """The canonical industry for `raw` (case and whitespace ignored), or None if unknown."""
    return _CANONICAL.get(re.sub(r"\s+", "", raw).casefold())


def hour_key(ts: datetime) -> str:
    """The hourly partition key of a UTC timestamp."""
    return ts.astimezone(UTC).replace(minute=0, second=0, microsecond=0).strftime(HOUR_FMT)


def hour_start(key: str) -> datetime:
    return datetime.strptime(key, HOUR_FMT).replace(tzinfo=UTC)


def hour_ranges(keys: list[str], gap: timedelta = timedelta(hours=1)) -> list[tuple[str, str]]:
    """Group hour keys into (first, last) runs, hours at most `gap` apart sharing a run
    (consecutive hours by default)."""
    return contiguous(keys, lambda last, key: hour_start(key) - hour_start(last) <= gap)
