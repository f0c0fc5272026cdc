"""The document model and the idempotent load into MongoDB / the embedded store.

`customer_aggregates`: one document per customer, `_id` = customer_id, no run timestamp,
so re-running writes the same documents. The load diffs against what is stored (one scan,
a hash map of `_id` -> document: O(n)) and, on MongoDB, writes only new or changed documents
and deletes customers that disappeared (merged duplicates, deleted rows); the embedded store
is rewritten in one `insert_many` when anything differs (see `upsert_customers`). Either way
a second run over an unchanged source writes nothing.

`insights`: one document per insight per run that changed it: {insight, generated_at,
content_hash, row_count, rows}. A run whose insight content hash equals the latest stored
one writes nothing for it (idempotent per source state). Latest = index (insight,
generated_at desc), `find({"insight": n}).sort("generated_at", -1).limit(1)`.

BSON-safe types: money (Decimal in the warehouse) is written as a double rounded to the
cent (the embedded montydb store has no Decimal128 without its BSON mode, and the same
documents must go to both); dates become midnight-UTC datetimes; datetimes are naive UTC.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

import polars as pl

CUSTOMERS_COLLECTION = "customer_aggregates"
INSIGHTS_COLLECTION = "insights"
BATCH = 5_000


def bson_safe(frame: pl.DataFrame) -> pl.DataFrame:
    """Decimal -> Float64, Date -> Datetime(ms): types both BSON and montydb store."""
    return frame.with_columns(
        [pl.col(name).cast(pl.Float64) for name, dtype in frame.schema.items()
         if isinstance(dtype, pl.Decimal)]
        + [pl.col(name).cast(pl.Datetime("ms")) for name, dtype in frame.schema.items()
           if dtype == pl.Date]
    )


def customer_documents(aggregates: pl.DataFrame) -> list[dict[str, Any]]:
    """One document per customer: `_id` = customer_id plus the aggregate's columns."""
    frame = bson_safe(aggregates).select(pl.col("customer_id").alias("_id"), pl.all())
    return frame.to_dicts()


def content_hash(rows: list[dict[str, Any]]) -> str:
    """A stable hash of an insight's rows (key order and types normalised)."""
    payload = json.dumps(rows, sort_keys=True, default=str, separators=(",", ":"))
    return hashlib.sha256(payload.encode()).hexdigest()


def insight_document(name: str, frame: pl.DataFrame, generated_at: dt.datetime) -> dict[str, Any]:
    rows = bson_safe(frame).to_dicts()
    digest = content_hash(rows)
    return {
        "_id": f"{name}:{generated_at:%Y%m%dT%H%M%S.%f}Z",
        "insight": name,
        "generated_at": generated_at,
        "content_hash": digest,
        "row_count": len(rows),
        "rows": rows,
    }


def utc_now_ms() -> dt.datetime:
    """Naive UTC, truncated to milliseconds (BSON datetime precision)."""
    now = dt.datetime.now(dt.UTC).replace(tzinfo=None)
    return now.replace(microsecond=now.microsecond // 1000 * 1000)


@dataclass
class LoadStats:
    inserted: int = 0
    updated: int = 0
    unchanged: int = 0
    deleted: int = 0
    insights_written: int = 0
    insights_unchanged: int = 0

    @property
    def documents_written(self) -> int:
        return self.inserted + self.updated + self.insights_written


def _chunks(items: list[Any], size: int) -> Iterable[list[Any]]:
    for start in range(0, len(items), size):
        yield items[start:start + size]


def ensure_indexes(db: Any) -> None:
    """Indexes for consumer lookups (montydb accepts and ignores them)."""
    customers = db[CUSTOMERS_COLLECTION]
    customers.create_index([("email", 1)], name="email")
    customers.create_index([("country", 1)], name="country")
    customers.create_index([("total_amount_spent", -1)], name="total_amount_spent_desc")
    db[INSIGHTS_COLLECTION].create_index(
        [("insight", 1), ("generated_at", -1)], name="insight_latest"
    )


def upsert_customers(db: Any, docs: list[dict[str, Any]], embedded: bool) -> LoadStats:
    """Make the collection equal to `docs`, writing only what differs."""
    collection = db[CUSTOMERS_COLLECTION]
    stored = {doc["_id"]: doc for doc in collection.find({})}
    stats = LoadStats()
    fresh: list[dict[str, Any]] = []
    changed: list[dict[str, Any]] = []
    for doc in docs:
        old = stored.pop(doc["_id"], None)
        if old is None:
            fresh.append(doc)
        elif old != doc:
            changed.append(doc)
        else:
            stats.unchanged += 1
    stale = list(stored)
    stats.inserted, stats.updated, stats.deleted = len(fresh), len(changed), len(stale)

    if embedded:
        # montydb checks duplicate keys against a *list* of stored keys (quadratic growth of
        # insert_many into a non-empty collection) and evaluates `$in` by scanning (25 s to
        # delete 200 of 50k documents), so any change rewrites the collection: drop, then ONE
        # insert_many into the empty collection, which is linear.
        if fresh or changed or stale:
            collection.drop()
            if docs:
                collection.insert_many(docs)
    else:
        from pymongo import DeleteMany, ReplaceOne

        # New customers: plain inserts (an upsert costs a lookup per document; FerretDB's
        # SQLite backend makes that a scan). Changed ones: ReplaceOne(upsert) by _id. A
        # concurrent writer's duplicate key fails the attempt; the retry re-diffs.
        for chunk in _chunks(fresh, BATCH):
            collection.insert_many(chunk, ordered=False)
        for chunk in _chunks(changed, BATCH):
            collection.bulk_write(
                [ReplaceOne({"_id": d["_id"]}, d, upsert=True) for d in chunk], ordered=False
            )
        for chunk in _chunks(stale, BATCH):
            collection.bulk_write([DeleteMany({"_id": {"$in": chunk}})])
    return stats


def latest_insight(db: Any, name: str) -> dict[str, Any] | None:
    """The most recent document of one insight, or None."""
    found = list(
        db[INSIGHTS_COLLECTION].find({"insight": name}).sort("generated_at", -1).limit(1)
    )
    return found[0] if found else None


def write_insights(
    db: Any, insights: dict[str, pl.DataFrame], generated_at: dt.datetime, stats: LoadStats
) -> list[str]:
    """Insert one document per insight whose content changed since the latest; names written."""
    written = []
    for name, frame in insights.items():
        doc = insight_document(name, frame, generated_at)
        latest = latest_insight(db, name)
        if latest is not None and latest.get("content_hash") == doc["content_hash"]:
            stats.insights_unchanged += 1
            continue
        db[INSIGHTS_COLLECTION].insert_one(doc)
        stats.insights_written += 1
        written.append(name)
    return written


def load_all(
    db: Any,
    aggregates: pl.DataFrame | None,
    insights: dict[str, pl.DataFrame],
    embedded: bool,
    generated_at: dt.datetime | None = None,
) -> LoadStats:
    """Customer documents (unless `aggregates` is None), indexes (after: the first bulk load
    then builds them once, docs/customers.md), then insight documents; safe to repeat."""
    stats = LoadStats()
    if aggregates is not None:
        stats = upsert_customers(db, customer_documents(aggregates), embedded)
    ensure_indexes(db)
    write_insights(db, insights, generated_at or utc_now_ms(), stats)
    return stats
