"""A backfill of N dates of the raw invoices and their totals touches N dates of each
(issue 21, item 10: with an all-to-all dependency it became a totals run over every
partition since the history start)."""

from __future__ import annotations

import time
from datetime import date, timedelta

import dagster as dg
from dagster._core.execution.asset_backfill import AssetBackfillData

from assets.invoices.partitions import RAW_KEY, TOTALS_KEY
from definitions import domain_defs
from resources import build_resources


def test_a_backfill_of_59_dates_of_both_assets_targets_59_dates_of_each(tmp_path, monkeypatch):
    monkeypatch.setenv("PLATFORM_DATA_DIR", str(tmp_path))
    graph = domain_defs("invoices", build_resources()).resolve_asset_graph()
    days = [(date(2026, 9, 1) + timedelta(days=i)).isoformat() for i in range(59)]
    with dg.instance_for_test() as instance:
        backfill = AssetBackfillData.from_asset_partitions(
            asset_graph=graph, partition_names=days, asset_selection=[RAW_KEY, TOTALS_KEY],
            dynamic_partitions_store=instance, backfill_start_timestamp=time.time(),
            all_partitions=False)
    target = backfill.target_subset
    for key in (RAW_KEY, TOTALS_KEY):
        keys = sorted(target.get_partitions_subset(key).get_partition_keys())
        assert keys == days, (key, len(keys))
