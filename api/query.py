"""The CTR query over the serving Parquet rollups (DuckDB in-memory; no warehouse access).

Buckets start at `start` and step by `aggregation` minutes; the last one ends at `end`
(truncated). A rollup minute belongs to the bucket that contains its start, and is in range
when start <= minute < end. Only (bucket, platform, product) combinations with views or
purchases are returned; ctr = purchases / views rounded to 4 decimals, null when views = 0.
"""

from __future__ import annotations

import atexit
import os
import threading
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path

import duckdb

from api.serving import TABLES, serving_file

EMPTY = (
    "(SELECT ''::VARCHAR AS platform, ''::VARCHAR AS product, "
    "TIMESTAMP '2000-01-01' AS minute, 0::BIGINT AS count WHERE false)"
)


@dataclass(frozen=True)
class CtrRequest:
    start: datetime
    end: datetime
    aggregation: int  # minutes, > 0
    platforms: tuple[str, ...]
    product: str | None = None


def serving_files(root: Path, table: str, platforms: tuple[str, ...], start: datetime,
                  end: datetime) -> list[str]:
    """The serving files of `table` whose day overlaps [start, end): one `os.scandir` per
    platform folder, so the cost is in files, not rows."""
    first = start.date().isoformat()
    last = (end - timedelta(microseconds=1)).date().isoformat()
    out: list[str] = []
    for platform in platforms:
        folder = serving_file(root, table, platform, first).parent
        try:
            entries = list(os.scandir(folder))
        except FileNotFoundError:
            continue
        out.extend(
            e.path
            for e in entries
            if e.name.endswith(".parquet") and not e.name.startswith(".")
            and first <= e.name[:10] <= last
        )
    return sorted(out)


def _sql(sources: dict[str, str], with_product: bool) -> str:
    product = " AND product = $product" if with_product else ""

    def side(table: str, column: str) -> str:
        return f"""SELECT platform, product, (epoch_ms(minute) - $s_ms) // $step_ms AS k,
                          sum(count) AS {column}
                   FROM {sources[table]}
                   WHERE minute >= $start AND minute < $end{product}
                   GROUP BY ALL"""

    return f"""
        WITH v AS ({side("views_per_minute", "views")}),
             p AS ({side("purchases_per_minute", "purchases")})
        SELECT k, strftime($start + to_milliseconds(k * $step_ms), '%Y-%m-%d %H:%M:%S')
                   AS "timestamp",
               platform, product,
               CASE WHEN coalesce(views, 0) > 0 THEN round(coalesce(purchases, 0) / views, 4)
               END AS ctr,
               coalesce(purchases, 0)::BIGINT AS purchases,
               coalesce(views, 0)::BIGINT AS views
        FROM v FULL OUTER JOIN p USING (k, platform, product)
        ORDER BY k, platform, product
        LIMIT $limit OFFSET $offset
    """


_lock = threading.Lock()
_db: duckdb.DuckDBPyConnection | None = None


def _cursor() -> duckdb.DuckDBPyConnection:
    """A new cursor (own connection) on one process-wide in-memory DuckDB; close it after.

    Opening an in-memory database costs tens of ms, a cursor well under one; DuckDB
    connections must not be shared across threads, cursors are per request."""
    global _db
    with _lock:
        if _db is None:
            _db = duckdb.connect(":memory:", config={"threads": 2})
            atexit.register(_db.close)
        return _db.cursor()


def query_ctr(root: Path, req: CtrRequest, limit: int, offset: int = 0) -> tuple[str, int]:
    """Run the query; return (JSON array text, number of rows). At most `limit` rows."""
    sources: dict[str, str] = {}
    params: dict[str, object] = {}
    for table in TABLES:
        files = serving_files(root, table, req.platforms, req.start, req.end)
        if files:
            sources[table] = f"read_parquet(${table})"
            params[table] = files
        else:
            sources[table] = EMPTY
    if not params:
        return "[]", 0
    params.update(
        start=req.start,
        end=req.end,
        s_ms=int((req.start - datetime(1970, 1, 1)).total_seconds() * 1000),
        step_ms=req.aggregation * 60_000,
        limit=limit,
        offset=offset,
    )
    if req.product is not None:
        params["product"] = req.product
    sql = _sql(sources, req.product is not None)
    con = _cursor()
    try:
        (text, n) = con.execute(
            f"""SELECT coalesce(to_json(list({{
                       'timestamp': "timestamp", 'platform': platform, 'product': product,
                       'ctr': ctr, 'purchases': purchases, 'views': views}}
                       ORDER BY k, platform, product))::VARCHAR, '[]'),
                       count(*)
                FROM ({sql})""",
            params,
        ).fetchall()[0]
    finally:
        con.close()
    return text, int(n)
