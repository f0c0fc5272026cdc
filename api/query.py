"""The CTR query over the serving Parquet rollups (Polars, lazy; no warehouse access).

Buckets start at `start` and step by `aggregation` minutes; the last one ends at `end`
(truncated). A rollup minute belongs to the bucket that contains its start, and is in range
when start <= minute < end. Only (bucket, platform, product) combinations with views or
purchases are returned, ordered by bucket, platform, product; ctr = purchases / views
rounded to 4 decimals, null when views = 0.

Answers are cached (bounded LRU, CTR_API_CACHE_MB, default 128; 0 disables) under a key
that includes every serving file's (path, size, mtime): Dagster publishes by atomic
rename, which gives the file a new mtime, so a republished day is never served stale.
"""

from __future__ import annotations

import os
import threading
from collections import OrderedDict
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path

import polars as pl

from api.serving import TABLES, serving_file

COLUMNS = ["timestamp", "platform", "product", "ctr", "purchases", "views"]


@dataclass(frozen=True)
class CtrRequest:
    start: datetime
    end: datetime
    aggregation: int  # minutes, > 0
    platforms: tuple[str, ...]
    product: str | None = None


def serving_files(
    root: Path, table: str, platforms: tuple[str, ...], start: datetime, end: datetime
) -> list[tuple[str, int, int]]:
    """(path, size, mtime_ns) of the serving files of `table` whose day overlaps
    [start, end): one `os.scandir` per platform folder, so the cost is in files, not rows."""
    first = start.date().isoformat()
    last = (end - timedelta(microseconds=1)).date().isoformat()
    out: list[tuple[str, int, int]] = []
    for platform in platforms:
        folder = serving_file(root, table, platform, first).parent
        try:
            entries = list(os.scandir(folder))
        except FileNotFoundError:
            continue
        for e in entries:
            if e.name.endswith(".parquet") and not e.name.startswith(".") and (
                first <= e.name[:10] <= last
            ):
                try:
                    st = e.stat()
                except FileNotFoundError:  # swapped away between scandir and stat
                    continue
                out.append((e.path, st.st_size, st.st_mtime_ns))
    return sorted(out)


def _side(files: list[str], req: CtrRequest, views: bool) -> pl.LazyFrame:
    """(k, platform, product, views, purchases) rows of one rollup, filtered to the range."""
    minute = pl.col("minute")
    keep = (minute >= req.start) & (minute < req.end)
    if req.product is not None:
        keep &= pl.col("product") == req.product
    zero = pl.lit(0, pl.Int64)
    return (
        pl.scan_parquet(files)
        .filter(keep)
        .select(
            k=(minute - pl.lit(req.start)).dt.total_minutes() // req.aggregation,
            platform=pl.col("platform"),
            product=pl.col("product"),
            views=pl.col("count") if views else zero,
            purchases=zero if views else pl.col("count"),
        )
    )


def compute(files: dict[str, list[str]], req: CtrRequest) -> pl.DataFrame:
    """The whole answer as a frame with COLUMNS, ordered."""
    sides = [
        _side(files[t], req, views=t == "views_per_minute") for t in TABLES if files[t]
    ]
    joined = (
        pl.concat(sides)
        .group_by("k", "platform", "product")
        .agg(pl.col("views").sum(), pl.col("purchases").sum())
        .sort("k", "platform", "product")
        .collect()
    )
    views, buys = pl.col("views").cast(pl.Int64), pl.col("purchases").cast(pl.Int64)
    # format each bucket start once (a day at 10 minutes has 144), not once per row
    ks = joined.get_column("k").unique().to_list()
    stamps = {
        k: (req.start + timedelta(minutes=k * req.aggregation)).isoformat(sep=" ")
        for k in ks
    }
    return joined.select(
        timestamp=pl.col("k").replace_strict(stamps, return_dtype=pl.String),
        platform="platform",
        product="product",
        ctr=pl.when(views > 0).then((buys / views).round(4)),
        purchases=buys,
        views=views,
    )


class _Cache:
    """A byte-bounded LRU of answers."""

    def __init__(self) -> None:
        self._items: OrderedDict[tuple, tuple[bytes, int, bool]] = OrderedDict()
        self._bytes = 0
        self._lock = threading.Lock()

    @staticmethod
    def budget() -> int:
        try:
            return int(float(os.environ.get("CTR_API_CACHE_MB", "128")) * 1e6)
        except ValueError:
            return 128_000_000

    def get(self, key: tuple) -> tuple[bytes, int, bool] | None:
        with self._lock:
            hit = self._items.get(key)
            if hit is not None:
                self._items.move_to_end(key)
            return hit

    def put(self, key: tuple, value: tuple[bytes, int, bool]) -> None:
        budget = self.budget()
        if len(value[0]) > budget:
            return
        with self._lock:
            if key in self._items:
                return
            self._items[key] = value
            self._bytes += len(value[0])
            while self._bytes > budget and self._items:
                _, (old, *_) = self._items.popitem(last=False)
                self._bytes -= len(old)


_cache = _Cache()


def query_ctr(
    root: Path, req: CtrRequest, limit: int, offset: int = 0
) -> tuple[bytes, int, bool]:
    """(JSON array bytes, rows, more rows follow) of one page of at most `limit` rows."""
    found = {t: serving_files(root, t, req.platforms, req.start, req.end) for t in TABLES}
    if not any(found.values()):
        return b"[]", 0, False
    key = (req, limit, offset, tuple(tuple(v) for v in found.values()))
    hit = _cache.get(key)
    if hit is not None:
        return hit
    frame = compute({t: [f[0] for f in v] for t, v in found.items()}, req)
    page = frame.slice(offset, limit + 1)
    more = page.height > limit
    page = page.head(limit)
    answer = (page.write_json().encode() if page.height else b"[]", page.height, more)
    _cache.put(key, answer)
    return answer
