"""CTR benchmarks; prints a markdown table. Run: `.venv/bin/python -m bench.ctr [--gb 1.0]`.

(a) ingest: the real MobileWeb day copied to ~1 GB of JSON in a temp landing folder, each
    copy with its events' timestamps shifted (distinct content: identical bytes would be
    hashed and skipped, not parsed), ingested by the `ctr/view_events` asset (parse once ->
    lake Parquet), in MB/s; then the per-minute rollup of the two days it touches. The
    ingest beside DuckDB and the peak memory per file: `ingest_rows` (bench/ctr_ingest.py).
(b) API: p50/p99 of 200 requests for 1 day, 10-minute buckets, all products, against serving
    rollups of 30 days x 3 platforms x ~5,000 products (synthesized rollups published by the
    assets' own publish steps), over a real `uvicorn api.main:app` subprocess on a loopback
    port; then narrower queries, and 60- and 15-minute buckets (the grouped paths).
(c) naive baseline: the same question answered by parsing the raw JSON of that day for each
    request (plain Python json, the raw files of the day only — generous to the baseline).
Temp data is removed at the end.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import random
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from collections import Counter
from datetime import datetime, timedelta
from pathlib import Path

import httpx
import pyarrow as pa

from assets.ctr.serving import PLATFORMS
from bench.ctr_ingest import write_copies
from bench.side_by_side import IngestRow

ROOT = Path(__file__).resolve().parents[1]
REAL = ROOT.parent / "shared/data/product-views/MobileWeb/productEvent_20160201.json"
DAY = "2016-02-01"


def bench_ingest(tmp: Path, gb: float) -> dict[str, float]:
    import dagster as dg

    os.environ["PLATFORM_DATA_DIR"] = str(tmp)
    from assets.ctr.ingest import view_events
    from assets.ctr.partitions import partition_key
    from assets.ctr.views import views_per_minute
    from resources import build_resources

    resources = build_resources()
    folder = tmp / "landing" / "product_views" / "MobileWeb"
    folder.mkdir(parents=True)
    copies = max(1, round(gb * 1e9 / REAL.stat().st_size))
    files = write_copies(folder, copies, lines=False)
    total_mb = sum(f.stat().st_size for f in files) / 1e6
    quiet = {"loggers": {"console": {"config": {"log_level": "WARNING"}}}}
    t = time.perf_counter()
    dg.materialize([view_events], resources=resources, run_config=quiet)
    ingest_s = time.perf_counter() - t
    t = time.perf_counter()
    for day in ("2016-01-31", "2016-02-01"):
        dg.materialize([views_per_minute], resources=resources, run_config=quiet,
                       partition_key=partition_key(day, "MobileWeb"))
    rollup_s = time.perf_counter() - t
    lake_mb = sum(f.stat().st_size for f in (tmp / "lake").rglob("*.parquet")) / 1e6
    return {"copies": copies, "json_mb": total_mb, "ingest_s": ingest_s,
            "mb_per_s": total_mb / ingest_s, "rollup_s": rollup_s, "lake_mb": lake_mb,
            "views": copies * 47633}


def ingest_rows(quick: bool = False) -> list[IngestRow]:
    """The CTR rows of the README's ingest table (`python -m bench.ingest`); the hash-only
    duplicates are printed apart (they are not a parse rate)."""
    from bench.ctr_ingest import ingest_rows as measured

    rows, notes = measured(quick)
    for note in notes:
        print(note, flush=True)
    return rows


def synth_serving(data_dir: Path, days: int = 30, products: int = 5000,
                  views_per_day: int = 50_000, purchases_per_day: int = 2_000) -> int:
    """Rollups for `days` x 3 platforms in an in-memory warehouse, published to serving
    Parquet by the assets' own publish steps; per (day, platform) ~views_per_day view events
    over `products` (Zipf-like popularity) aggregated per minute."""
    import duckdb

    from assets.ctr.publish import publish_slice, publish_tier
    from assets.ctr.rollups import SCHEMA
    from assets.ctr.serving import serving_root
    from resources.lib.serving import lake_root
    from resources.sql import ensure_schemas

    rng = random.Random(1)
    names = [f"{20000000 + i}_{i % 997:03d}" for i in range(products)]
    weights = [1 / (i + 1) ** 0.6 for i in range(products)]
    root = serving_root(lake_root(data_dir))
    first = datetime(2016, 2, 1)
    rows = 0
    conn = duckdb.connect()
    ensure_schemas(conn, None, [SCHEMA])
    for d in range(days):
        day = first + timedelta(days=d)
        for platform in PLATFORMS:
            for table, n in (("views_per_minute", views_per_day),
                             ("purchases_per_minute", purchases_per_day)):
                cells = Counter(
                    zip(rng.choices(names, weights=weights, k=n),
                        (rng.randrange(1440) for _ in range(n)), strict=True)
                )
                tbl = pa.table({
                    "platform": [platform] * len(cells),
                    "product": [k[0] for k in cells],
                    "minute": pa.array([day + timedelta(minutes=k[1]) for k in cells],
                                       pa.timestamp("us")),
                    "count": pa.array(list(cells.values()), pa.int64()),
                })
                conn.from_arrow(tbl).insert_into(f"ctr.{table}")
                publish_slice(conn, root, table, platform, day.date().isoformat())
                rows += len(cells)
            publish_tier(conn, root, platform, day.date().isoformat())
    conn.close()
    return rows


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def bench_api(data_dir: Path, params: dict, n: int = 200, cache: bool = False) -> dict:
    """Latency of `n` identical requests; `cache` False sets CTR_API_CACHE_MB=0 so every
    request computes its answer from the Parquet (the honest, cold figure)."""
    port = free_port()
    env = {**os.environ, "PLATFORM_DATA_DIR": str(data_dir), "CTR_API_MAX_ROWS": "500000",
           "CTR_API_CACHE_MB": "128" if cache else "0"}
    proc = subprocess.Popen(
        [sys.executable, "-m", "uvicorn", "api.main:app", "--host", "127.0.0.1",
         "--port", str(port), "--log-level", "warning"],
        cwd=ROOT, env=env,
    )
    try:
        url = f"http://127.0.0.1:{port}"
        with httpx.Client(base_url=url, timeout=60) as client:
            for _ in range(100):
                try:
                    client.get("/health")
                    break
                except httpx.TransportError:
                    time.sleep(0.1)
            for _ in range(5):  # warm-up (file cache, first DuckDB connection)
                rows = len(client.get("/ctr", params=params).json())
            lat = []
            size = 0
            for _ in range(n):
                t = time.perf_counter()
                r = client.get("/ctr", params=params)
                body = r.content
                lat.append((time.perf_counter() - t) * 1000)
                assert r.status_code == 200, r.text[:300]
                size = len(body)
    finally:
        proc.terminate()
        proc.wait(timeout=10)
    lat.sort()
    return {"rows": rows, "p50_ms": statistics.median(lat),
            "p99_ms": lat[math.ceil(0.99 * n) - 1], "mb": size / 1e6}


def naive_answer(raw_files: dict[str, list[Path]], purchases_dir: Path, start: datetime,
                 end: datetime, agg: int) -> str:
    """The naive way: parse the raw JSON of the day on every request (plain Python)."""
    import pyarrow.parquet as pq

    views: Counter = Counter()
    step = agg * 60_000
    s_ms = (start - datetime(1970, 1, 1)).total_seconds() * 1000 + 3 * 3600 * 1000
    e_ms = s_ms + (end - start).total_seconds() * 1000
    for platform, files in raw_files.items():
        for f in files:
            for batch in json.loads(f.read_bytes()):
                for ev in batch["events"]:
                    data = ev["data"]
                    if ev["event_type"] == "custom_event" and data["event_name"] == "product":
                        ts = math.floor(data["timestamp_unixtime_ms"])
                        if s_ms <= ts < e_ms:
                            k = (ts - s_ms) // step
                            views[(k, platform, data["custom_attributes"]["codeColor"])] += 1
    buys: Counter = Counter()
    for platform in raw_files:
        t = pq.read_table(purchases_dir / f"platform={platform}" / f"{start.date()}.parquet")
        for product, minute, count in zip(t["product"].to_pylist(), t["minute"].to_pylist(),
                                          t["count"].to_pylist(), strict=True):
            if start <= minute < end:
                k = int((minute - start).total_seconds() // 60 // agg)
                buys[(k, platform, product)] += count
    out = []
    for key in sorted(set(views) | set(buys)):
        v, p = views.get(key, 0), buys.get(key, 0)
        out.append({"timestamp": str(start + timedelta(minutes=key[0] * agg)),
                    "platform": key[1], "product": key[2],
                    "ctr": round(p / v, 4) if v else None, "purchases": p, "views": v})
    return json.dumps(out)


def bench_naive(tmp: Path, data_dir: Path, runs: int = 3) -> dict[str, float]:
    """Raw JSON of the day: a GMT-03:00 day spans two UTC-day files per platform."""
    raw = {}
    for platform in PLATFORMS:
        folder = tmp / "raw" / platform
        folder.mkdir(parents=True)
        raw[platform] = []
        for name in ("a.json", "b.json"):
            shutil.copyfile(REAL, folder / name)
            raw[platform].append(folder / name)
    from assets.ctr.serving import serving_root
    from resources.lib.serving import lake_root

    purchases_dir = serving_root(lake_root(data_dir)).local("purchases_per_minute")
    start = datetime.fromisoformat(f"{DAY} 00:00:00")
    times = []
    for _ in range(runs):
        t = time.perf_counter()
        naive_answer(raw, purchases_dir, start, start + timedelta(days=1), 10)
        times.append((time.perf_counter() - t) * 1000)
    mb = sum(f.stat().st_size for fs in raw.values() for f in fs) / 1e6
    return {"median_ms": statistics.median(times), "raw_mb": mb}


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--gb", type=float, default=1.0, help="JSON volume for (a)")
    parser.add_argument("--skip-ingest", action="store_true")
    parser.add_argument("--only-ingest", action="store_true")
    args = parser.parse_args()
    if not REAL.exists():
        sys.exit(f"the real event file is needed: {REAL}")
    sys.path.insert(0, str(ROOT))
    tmp = Path(tempfile.mkdtemp(prefix="ctr-bench-"))
    try:
        lines = ["| measure | result | target |", "|---|---|---|"]
        if not args.skip_ingest:
            a = bench_ingest(tmp / "ingest", args.gb)
            lines.append(
                f"| (a) ingest {a['json_mb']:.0f} MB JSON ({a['copies']} distinct day copies, "
                f"{a['views']:,} views) | {a['ingest_s']:.1f} s = **{a['mb_per_s']:.0f} MB/s** "
                f"(lake {a['lake_mb']:.0f} MB Parquet; rollup of the 2 days {a['rollup_s']:.1f} s)"
                " | ≥ 50 MB/s |"
            )
            print(lines[-1], flush=True)
            shutil.rmtree(tmp / "ingest", ignore_errors=True)
            if args.only_ingest:
                print("\n".join(lines))
                return
        data = tmp / "serving"
        rows = synth_serving(data)
        params = {"startTimestamp": f"{DAY} 00:00:00", "endTimestamp": "2016-02-02 00:00:00",
                  "aggregation": 10}
        b = bench_api(data, params)
        lines.append(
            f"| (b) API, 1 day × 10 min × all products × 3 platforms ({b['rows']:,} rows, "
            f"{b['mb']:.1f} MB JSON; rollups {rows:,} rows), answer cache off | "
            f"p50 {b['p50_ms']:.0f} ms, **p99 {b['p99_ms']:.0f} ms** | p99 < 100 ms |"
        )
        print(lines[-1], flush=True)
        bw = bench_api(data, params, cache=True)
        lines.append(
            f"| (b) same query, answer cache on (repeated query) | p50 {bw['p50_ms']:.0f} ms, "
            f"p99 {bw['p99_ms']:.0f} ms | |"
        )
        print(lines[-1], flush=True)
        b1 = bench_api(data, {**params, "platform": "ios"})
        lines.append(
            f"| (b) same, one platform ({b1['rows']:,} rows), cache off | "
            f"p50 {b1['p50_ms']:.0f} ms, p99 {b1['p99_ms']:.0f} ms | |"
        )
        print(lines[-1], flush=True)
        b2 = bench_api(data, {**params, "platform": "ios", "product": "20000001_001"})
        lines.append(
            f"| (b) same, one platform, one product ({b2['rows']:,} rows), cache off | "
            f"p50 {b2['p50_ms']:.0f} ms, p99 {b2['p99_ms']:.0f} ms | |"
        )
        print(lines[-1], flush=True)
        for agg, path in ((60, "10-minute tier, grouped"), (15, "per-minute rollups, grouped")):
            bx = bench_api(data, {**params, "aggregation": agg}, n=100)
            lines.append(
                f"| (b) same day, {agg}-min buckets ({bx['rows']:,} rows; {path}), cache off, "
                f"100 requests | p50 {bx['p50_ms']:.0f} ms, p99 {bx['p99_ms']:.0f} ms | |"
            )
            print(lines[-1], flush=True)
        c = bench_naive(tmp, data)
        lines.append(
            f"| (c) naive: parse the day's raw JSON ({c['raw_mb']:.0f} MB) per request | "
            f"median {c['median_ms']:.0f} ms → rollups are **{c['median_ms'] / b['p50_ms']:.0f}×**"
            f" faster (p50) | ≥ 100× |"
        )
        print("\n".join(lines))
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
