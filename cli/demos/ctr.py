"""`make demo` step of the ctr domain: drain the sensor, then ask the API a question."""

from __future__ import annotations

import json
from datetime import datetime

import dagster as dg

from api.query import CtrRequest, query_ctr
from assets.ctr.serving import PLATFORMS, serving_root
from cli.runner import drain_sensor
from resources.bindings import resource_of

TITLE = "2. Product CTR"

def run(defs: dg.Definitions, instance: dg.DagsterInstance) -> str:
    """Ingest every landed view file (sensor -> ingest run -> one refresh run per touched
    (date, platform)), then return the top CTR rows of a sample day as text."""
    runs, _ = drain_sensor(defs, "ctr_product_views_sensor", instance)
    root = serving_root(resource_of((defs.resources or {})["paths"]).lake_root())
    day = CtrRequest(
        start=datetime(2016, 2, 1),
        end=datetime(2016, 2, 2),
        aggregation=1440,
        platforms=PLATFORMS,
    )
    answer = query_ctr(root, day, limit=1_000_000)
    n = answer.rows
    rows = json.loads(answer.body)
    per_platform: dict[str, list[int]] = {}
    for r in rows:
        acc = per_platform.setdefault(r["platform"], [0, 0])
        acc[0] += r["purchases"]
        acc[1] += r["views"]
    lines = [f"ctr: {runs} runs; GET /ctr 2016-02-01 (1 day bucket): {n} product rows"]
    for platform, (p, v) in sorted(per_platform.items()):
        ctr = f"{p / v:.4f}" if v else "null"
        lines.append(f"  {platform:<10} views={v:>6} purchases={p:>5} ctr={ctr}")
    top = sorted((r for r in rows if r["views"] >= 20), key=lambda r: -(r["ctr"] or 0))[:5]
    lines.append("  top CTR products (≥ 20 views):")
    lines += [
        f"    {r['platform']:<10} {r['product']:<14} ctr={r['ctr']} "
        f"({r['purchases']}/{r['views']})"
        for r in top
    ]
    return "\n".join(lines)
