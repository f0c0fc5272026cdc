"""Customer documents → FerretDB beside bare pymongo, measured in one run (issue 25).

50,000 customer aggregates (the columns the consumers look up: email, country, total
spent) into an empty database on the tests' FerretDB (MongoDB wire, SQLite backend). The
platform side is `documents.load_all` (frame → documents, the diff scan, inserts in
chunks of 5,000, then the consumers' indexes); the bare side is `insert_many` of the same
frame's dicts, with the same indexes built before the load, after it, or not at all. Each
run starts from dropped collections (untimed); the sides alternate. docs/customers.md
"Indexes and the bulk load".

    .venv/bin/python -m bench.documents_ingest [--quick]
"""

from __future__ import annotations

from typing import Any

import polars as pl

from assets.customers import documents
from bench.side_by_side import IngestRow, interleaved, print_rows, rate


def aggregates(n: int) -> pl.DataFrame:
    """`n` customers shaped like `customer_aggregates` (the indexed fields included)."""
    ids = pl.int_range(n, eager=True)
    return pl.DataFrame({
        "customer_id": ids.cast(pl.String).str.zfill(8),
        "email": "c" + ids.cast(pl.String) + "@example.com",
        "country": pl.Series(["DE", "FR", "US", "BR", "JP"] * (n // 5 + 1))[:n],
        "total_amount_spent": (ids * 37 % 100_000).cast(pl.Float64) / 100,
        "order_count": ids % 40, "average_order_value": (ids % 900).cast(pl.Float64) / 10,
    })


def bare(db: Any, frame: pl.DataFrame, indexes: str) -> None:
    """pymongo's own bulk path: the frame's dicts in one `insert_many`, indexes as asked."""
    if indexes == "first":
        documents.ensure_indexes(db)
    docs = documents.customer_documents(frame)
    db[documents.CUSTOMERS_COLLECTION].insert_many(docs, ordered=False)
    if indexes == "after":
        documents.ensure_indexes(db)


def measure(uri: str, n: int, rounds: int) -> dict[str, float]:
    import pymongo

    frame = aggregates(n)
    with pymongo.MongoClient(uri) as client:
        db = client["bench_documents"]

        def fresh() -> None:
            db.drop_collection(documents.CUSTOMERS_COLLECTION)
            db.drop_collection(documents.INSIGHTS_COLLECTION)

        return interleaved({
            "platform": lambda: documents.load_all(db, frame, {}, embedded=False),
            "first": lambda: bare(db, frame, "first"),
            "after": lambda: bare(db, frame, "after"),
            "none": lambda: bare(db, frame, "none")}, rounds, setup=fresh)


def ingest_rows(quick: bool = False) -> list[IngestRow]:
    """The documents row of the README's ingest table (starts and stops its FerretDB)."""
    from tests.servers.mongo import start_mongo

    n = 10_000 if quick else 50_000
    server = start_mongo()
    try:
        s = measure(server.uri, n, 3)
    finally:
        server.stop()
    return [IngestRow(
        f"documents → FerretDB, {n // 1000}k customers (3 lookup indexes)",
        rate(n, s["platform"], "docs"),
        f"pymongo insert_many, indexes after (the platform's order): {rate(n, s['after'], 'docs')}"
        f"; indexes first: {rate(n, s['first'], 'docs')}; no index: {rate(n, s['none'], 'docs')}",
        s["platform"] / s["after"], 1.5)]  # the platform's own order: indexes after


def main() -> None:
    print_rows(__doc__, ingest_rows, "10k documents")


if __name__ == "__main__":
    main()
