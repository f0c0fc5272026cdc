"""The CTR query over the serving Parquet rollups (Polars; no warehouse access).

Buckets start at `start` and step by `aggregation` minutes; the last one ends at `end`
(truncated). A rollup minute belongs to the bucket that contains its start, and is in range
when start <= minute < end. Only (bucket, platform, product) combinations with views or
purchases are returned, ordered by bucket, platform, product; ctr = purchases / views
rounded to 4 decimals, null when views = 0.

Three ways to an answer, picked per request by `plan` (all give the same bytes):
- buckets of exactly 10 minutes on the 10-minute grid: the tier's rows are the answer rows,
  already rendered; read, put in (bucket, platform) order, join. No grouping, no JSON work.
- buckets of 20, 30, 60… minutes on the grid: group the tier's 10-minute rows.
- anything else: group the per-minute rollups.

Answers are cached (bounded LRU, CTR_API_CACHE_MB, default 128; 0 disables) under a key
that includes every serving file's (path, size, mtime): Dagster publishes by atomic
rename, which gives the file a new mtime, so a republished day is never served stale.

Republishing while a request reads: every listed file is read through ONE open (its bytes,
`snapshot`), then decoded from memory. Handing Polars the paths would let it read a
file's footer before an atomic swap and its pages after it (a corrupt read, or a wrong
answer); one open pins one version of each file. A file that vanished between listing and
opening (serving files are no longer deleted, but an operator may) counts as no rows.
"""

from __future__ import annotations

import io
import os
import threading
import time
from collections import OrderedDict
from dataclasses import dataclass
from datetime import datetime, timedelta

import polars as pl

from api.published import file_bytes
from assets.ctr.render import answer_rows, json_array, row_json
from assets.ctr.serving import TABLES, TIER, TIER_MINUTES
from resources.lib.storage import Location

RACY_NS = 2_000_000_000


@dataclass(frozen=True)
class CtrRequest:
    start: datetime
    end: datetime
    aggregation: int  # minutes, > 0
    platforms: tuple[str, ...]
    product: str | None = None


def serving_files(
    root: Location, table: str, platforms: tuple[str, ...], start: datetime, end: datetime
) -> list[tuple[str, int, int]]:
    """(path under `root`, size, mtime_ns) of the serving files of `table` whose day overlaps
    [start, end): one listing per platform folder, so the cost is in files, not rows."""
    first = start.date().isoformat()
    last = (end - timedelta(microseconds=1)).date().isoformat()
    out: list[tuple[str, int, int]] = []
    for platform in platforms:
        folder = f"{table}/platform={platform}"
        for e in root.child(folder).list(recursive=False):
            if e.rel.endswith(".parquet") and not e.rel.startswith(".") and (
                first <= e.rel[:10] <= last
            ):
                out.append((f"{folder}/{e.rel}", e.size, e.mtime_ns))
    return sorted(out)


def _aligned(req: CtrRequest) -> bool:
    """True when every bucket is a whole number of 10-minute tier buckets."""

    def on_grid(t: datetime) -> bool:
        return t.second == 0 and t.microsecond == 0 and t.minute % TIER_MINUTES == 0

    return req.aggregation % TIER_MINUTES == 0 and on_grid(req.start) and on_grid(req.end)


def _slice_of(path: str) -> tuple[str, str]:
    """(platform, day) of a serving file path `.../platform=P/D.parquet`."""
    folder, name = os.path.split(path)
    return os.path.basename(folder).removeprefix("platform="), name[:10]


def plan(root: Location, req: CtrRequest) -> dict[str, list[tuple[str, int, int]]]:
    """The serving files that answer `req`: the 10-minute tier when the buckets align with it
    and it covers every (platform, day) that has per-minute files, else the per-minute
    rollups (an unaligned query, or a slice published before the tier existed)."""
    minute = {t: serving_files(root, t, req.platforms, req.start, req.end) for t in TABLES}
    if _aligned(req):
        tier = serving_files(root, TIER, req.platforms, req.start, req.end)
        covered = {_slice_of(f[0]) for f in tier}
        if all(_slice_of(f[0]) in covered for files in minute.values() for f in files):
            return {TIER: tier}
    return minute


# table -> (path, bytes) of each serving file read for a request
Snapshot = dict[str, list[tuple[str, bytes]]]


def snapshot(root: Location, found: dict[str, list[tuple[str, int, int]]]) -> Snapshot:
    """The bytes of every listed file, each read through one open: one version of each
    file whatever is republished meanwhile; a file gone since the listing has no rows."""
    out: Snapshot = {}
    for table, entries in found.items():
        out[table] = []
        for path, *_ in entries:
            if (data := file_bytes(root, path)) is not None:
                out[table].append((path, data))
    return out


def _sources(files: list[tuple[str, bytes]]) -> list[io.BytesIO]:
    return [io.BytesIO(data) for _, data in files]


def _by_platform(files: list[tuple[str, bytes]]) -> dict[str, list[tuple[str, bytes]]]:
    """Files grouped per platform, platforms in name order, days in date order."""
    out: dict[str, list[tuple[str, bytes]]] = {}
    for f in sorted(files, key=lambda f: _slice_of(f[0])):
        out.setdefault(_slice_of(f[0])[0], []).append(f)
    return out


def _bucket(column: str, req: CtrRequest) -> pl.Expr:
    return (pl.col(column) - pl.lit(req.start)).dt.total_minutes() // req.aggregation


def _in_range(column: str, req: CtrRequest) -> pl.Expr:
    keep = (pl.col(column) >= req.start) & (pl.col(column) < req.end)
    return keep & (pl.col("product") == req.product) if req.product is not None else keep


def _minute_rows(files: Snapshot, req: CtrRequest) -> pl.LazyFrame:
    """(k, platform, product, views, purchases) per per-minute rollup row in range."""
    zero = pl.lit(0, pl.Int64)
    sides = []
    for table in TABLES:
        if files.get(table):
            views = table == "views_per_minute"
            sides.append(
                pl.scan_parquet(_sources(files[table]))
                .filter(_in_range("minute", req))
                .select(
                    k=_bucket("minute", req),
                    platform=pl.col("platform"),
                    product=pl.col("product"),
                    views=pl.col("count") if views else zero,
                    purchases=zero if views else pl.col("count"),
                )
            )
    return pl.concat(sides)


def _tier_rows(files: list[tuple[str, bytes]], req: CtrRequest) -> pl.LazyFrame:
    """(k, platform, product, views, purchases) per 10-minute tier row in range."""
    return pl.concat(
        pl.scan_parquet(_sources(paths))
        .filter(_in_range("bucket", req))
        .select(
            k=_bucket("bucket", req),
            platform=pl.lit(platform, pl.String),
            product="product",
            views="views",
            purchases="purchases",
        )
        for platform, paths in _by_platform(files).items()
    )


def _rendered_tier_rows(files: list[tuple[str, bytes]], req: CtrRequest) -> pl.Series:
    """The answer's rendered rows straight from the tier (buckets of exactly 10 minutes).
    Each platform's files are in (bucket, product) order; concatenating the platforms in
    name order and sorting stably on the bucket gives (bucket, platform, product)."""
    parts = []
    columns = ["bucket", "row_json"] + (["product"] if req.product is not None else [])
    for paths in _by_platform(files).values():
        part = pl.read_parquet(_sources(paths), columns=columns)
        keep = part.select(_in_range("bucket", req)).to_series()
        parts.append(part if keep.all() else part.filter(keep))
    rows = pl.concat(parts).sort("bucket", maintain_order=True)
    return rows.get_column("row_json")


def compute(files: Snapshot, req: CtrRequest) -> pl.Series:
    """The whole answer, rendered rows in answer order."""
    files = {t: v for t, v in files.items() if v}
    if not files:
        return pl.Series("row_json", [], pl.String)
    if TIER in files and req.aggregation == TIER_MINUTES:
        return _rendered_tier_rows(files[TIER], req)
    rows = _tier_rows(files[TIER], req) if TIER in files else _minute_rows(files, req)
    grouped = (
        rows.group_by("k", "platform", "product")
        .agg(pl.col("views").sum(), pl.col("purchases").sum())
        .sort("k", "platform", "product")
        .collect()
    )
    return row_json(answer_rows(grouped, req.start, req.aggregation))


class _Cache:
    """A byte-bounded LRU of answers."""

    def __init__(self) -> None:
        self._items: OrderedDict[tuple, Answer] = OrderedDict()
        self._bytes = 0
        self._lock = threading.Lock()

    @staticmethod
    def budget() -> int:
        try:
            return int(float(os.environ.get("CTR_API_CACHE_MB", "128")) * 1e6)
        except ValueError:
            return 128_000_000

    def get(self, key: tuple) -> Answer | None:
        with self._lock:
            hit = self._items.get(key)
            if hit is not None:
                self._items.move_to_end(key)
            return hit

    def put(self, key: tuple, value: Answer) -> None:
        budget = self.budget()
        if len(value.body) > budget:
            return
        with self._lock:
            if key in self._items:
                return
            self._items[key] = value
            self._bytes += len(value.body)
            while self._bytes > budget and self._items:
                _, old = self._items.popitem(last=False)
                self._bytes -= len(old.body)


_cache = _Cache()


@dataclass(frozen=True)
class Answer:
    """One page: the JSON array `body` of `rows` rows; `more` when rows follow it."""

    body: bytes
    rows: int
    more: bool


def query_ctr(root: Location, req: CtrRequest, limit: int, offset: int = 0) -> Answer:
    """One page of at most `limit` rows from `offset`."""
    found = plan(root, req)
    if not any(found.values()):
        return Answer(b"[]", 0, False)
    key = (root.url, req, limit, offset, tuple((t, tuple(v)) for t, v in found.items()))
    hit = _cache.get(key)
    if hit is not None:
        return hit
    rows = compute(snapshot(root, found), req)
    page = rows.slice(offset, limit + 1)
    answer = Answer(json_array(page.head(limit)), min(page.len(), limit), page.len() > limit)
    if not _racy(root, found):
        _cache.put(key, answer)
    return answer


def _racy(root: Location, found: dict[str, list[tuple[str, int, int]]]) -> bool:
    """A bucket's Last-Modified has whole seconds: a file replaced within the second of
    its listing could keep its (size, mtime), so such an answer is not cached."""
    if root.is_local:
        return False
    recent = time.time_ns() - RACY_NS
    return any(mtime >= recent for files in found.values() for _, _, mtime in files)
