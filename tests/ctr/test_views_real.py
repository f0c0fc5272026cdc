"""The real MobileWeb day: views per product and per GMT-03:00 hour equal an independent
plain-Python count of the raw JSON (no deduplication on event_id)."""

from __future__ import annotations

import json
import math
import shutil
from collections import Counter
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import dagster as dg
import httpx

from api.main import create_app
from assets.ctr.ingest import view_events
from assets.ctr.partitions import partition_key
from assets.ctr.views import views_per_minute


def independent_counts(path: Path) -> tuple[Counter, Counter, int]:
    """(views per product, views per GMT-03:00 hour, distinct event_ids) with plain Python."""
    gmt3 = timedelta(hours=-3)
    per_product: Counter = Counter()
    per_hour: Counter = Counter()
    ids = set()
    for batch in json.loads(path.read_text()):
        for event in batch["events"]:
            data = event["data"]
            ids.add(data["event_id"])
            if event["event_type"] == "custom_event" and data["event_name"] == "product":
                per_product[data["custom_attributes"]["codeColor"]] += 1
                secs = math.floor(data["timestamp_unixtime_ms"]) // 1000
                local = datetime.fromtimestamp(secs, UTC) + gmt3
                per_hour[local.strftime("%Y-%m-%d %H:00:00")] += 1
    return per_product, per_hour, len(ids)


def test_real_file_counts_match_independent_count(
    env: dict[str, Any], real_file: Path, live_server: Any
) -> None:
    per_product, per_hour, distinct_ids = independent_counts(real_file)
    assert distinct_ids == 1 and sum(per_product.values()) == 47633  # event_id is not a key

    folder = env["paths"].landing("product_views") / "MobileWeb"
    folder.mkdir(parents=True)
    shutil.copyfile(real_file, folder / real_file.name)
    result = dg.materialize([view_events], resources=env)
    meta = result.asset_materializations_for_node("ctr__view_events")[0].metadata
    assert meta["dagster/row_count"].value == 47633
    touched = sorted(meta["partitions_touched"].value)
    assert touched == ["2016-01-31|MobileWeb", "2016-02-01|MobileWeb"]
    for day in ("2016-01-31", "2016-02-01"):
        rolled = dg.materialize(
            [views_per_minute],
            resources=env,
            partition_key=partition_key(day, "MobileWeb"),
        )
        (check,) = rolled.get_asset_check_evaluations()
        assert check.check_name == "views_match_lake" and check.passed
        assert check.metadata["tier_views"].value == check.metadata["lake_views"].value > 0

    with env["warehouse"].get_connection() as conn:
        by_product = dict(
            conn.execute(
                "SELECT product, sum(count) FROM ctr.views_per_minute GROUP BY product"
            ).fetchall()
        )
        by_hour = dict(
            conn.execute(
                """SELECT strftime(date_trunc('hour', minute), '%Y-%m-%d %H:%M:%S'), sum(count)
                   FROM ctr.views_per_minute GROUP BY 1"""
            ).fetchall()
        )
    assert by_product == dict(per_product)
    assert by_hour == dict(per_hour)

    # and the same through the HTTP API, from the serving Parquet only
    url = live_server(create_app(data_dir=str(env["paths"].root)))
    params = {
        "startTimestamp": "2016-01-31 21:00:00",
        "endTimestamp": "2016-02-01 21:00:00",
        "aggregation": 60,
        "platform": "mobileweb",
    }
    rows = httpx.get(f"{url}/ctr", params=params, timeout=30).json()
    api_hour: Counter = Counter()
    for r in rows:
        api_hour[r["timestamp"]] += r["views"]
        assert r["platform"] == "MobileWeb" and r["purchases"] == 0 and r["ctr"] == 0.0
    assert api_hour == per_hour
    daily = httpx.get(f"{url}/ctr", params={**params, "aggregation": 1440}, timeout=30).json()
    assert {r["product"]: r["views"] for r in daily} == dict(per_product)
    # 10-minute buckets (the tier's own rendered rows) and off-grid 7-minute buckets (the
    # per-minute rollups) add up to the same products
    for aggregation in (10, 7):
        got: Counter = Counter()
        for r in httpx.get(
            f"{url}/ctr", params={**params, "aggregation": aggregation}, timeout=30
        ).json():
            got[r["product"]] += r["views"]
        assert got == per_product
