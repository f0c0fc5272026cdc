"""Benchmark of the customer-insights pipeline steps (spec section 5).

Builds a SQLite source with N customers / M orders using set-based SQL (recursive CTEs,
no Python loops), then times the pipeline's own functions:
extract (SqlSource -> Polars, the asset's code path), transform (clean + aggregate + four
insights), warehouse write (DuckDB), and load into the document store (documents/s).

    .venv/bin/python bench/customer_insights.py                     # 1M customers / 10M orders
    .venv/bin/python bench/customer_insights.py --customers 100000 --orders 1000000
    MONGODB_URI=mongodb://... .venv/bin/python bench/customer_insights.py --load-docs 1000000

The embedded store (montydb) writes a few thousand documents/s, so by default the load
step is measured on the first --load-docs customer documents and the rate reported.
"""

from __future__ import annotations

import argparse
import os
import resource
import sqlite3
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import duckdb  # noqa: E402
import polars as pl  # noqa: E402

from assets.customers import cleaning, documents, insights  # noqa: E402
from assets.customers.source import DDL, INDEXES, TABLES, extract_table  # noqa: E402
from assets.customers.tables import SCHEMA  # noqa: E402
from resources import DocumentStore, SqlSource  # noqa: E402
from resources.sql import ensure_schemas, transaction  # noqa: E402

N_CATEGORIES = 50
N_PRODUCTS = 10_000


def seq(n: int) -> str:
    return f"WITH RECURSIVE seq(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM seq WHERE i < {n})"


def build_source(path: Path, customers: int, orders: int, reviews: int) -> dict[str, int]:
    """Set-based generation of a (lightly dirty) source; ~1.5 items per order."""
    path.unlink(missing_ok=True)
    conn = sqlite3.connect(path)
    conn.execute("PRAGMA journal_mode = OFF")
    conn.execute("PRAGMA synchronous = OFF")
    for table in TABLES:
        conn.execute(DDL[table])
    product = "(1 + ((o.i * 31 + {k} * 17) % {np}))"
    price = "((100 + ({p} * 37) % 9900) / 100.0)"
    qty = "(1 + ((o.i + {k}) % 5))"
    p1, p2 = product.format(k=1, np=N_PRODUCTS), product.format(k=2, np=N_PRODUCTS)
    line1 = f"{qty.format(k=1)} * {price.format(p=p1)}"
    line2 = f"{qty.format(k=2)} * {price.format(p=p2)}"
    statements = [
        f"{seq(N_CATEGORIES)} INSERT INTO categories SELECT i, CASE WHEN i % 10 = 0 "
        "THEN ' category ' || (i - 1) ELSE 'Category ' || i END FROM seq",
        f"{seq(N_PRODUCTS)} INSERT INTO products SELECT i, 'Product ' || i, "
        f"1 + i % {N_CATEGORIES} FROM seq",
        f"{seq(customers)} INSERT INTO customers SELECT i, 'Customer ' || i, "
        "CASE WHEN i % 50 = 0 THEN ' USER' || i || '@EXAMPLE.COM' "
        "     WHEN i % 97 = 0 THEN NULL ELSE 'user' || i || '@example.com' END, "
        "CASE i % 12 WHEN 0 THEN ' usa' WHEN 1 THEN 'UK ' WHEN 2 THEN NULL "
        "  WHEN 3 THEN 'Germany' WHEN 4 THEN 'france' WHEN 5 THEN 'Japan' "
        "  WHEN 6 THEN 'Brazil' WHEN 7 THEN 'India' ELSE 'United States' END FROM seq",
        f"{seq(orders)} INSERT INTO orders SELECT o.i, 1 + abs(random()) % {customers}, "
        "date('2023-01-01', '+' || (abs(random()) % 730) || ' days'), "
        f"CASE WHEN o.i % 200 = 0 THEN NULL ELSE round({line1} + "
        f"CASE WHEN o.i % 2 = 0 THEN {line2} ELSE 0 END, 2) END, "
        "CASE abs(random()) % 20 WHEN 0 THEN 'Cancelled' WHEN 1 THEN 'canceled' "
        "  WHEN 2 THEN 'COMPLETE' WHEN 3 THEN 'shipped' WHEN 4 THEN 'Pending' "
        "  WHEN 5 THEN NULL ELSE 'completed' END FROM seq AS o",
        f"{seq(orders)} INSERT INTO order_items SELECT (o.i - 1) * 2 + 1, o.i, {p1}, "
        f"{qty.format(k=1)}, {price.format(p=p1)} FROM seq AS o",
        f"{seq(orders // 2)} INSERT INTO order_items SELECT (o.i * 2 - 1) * 2 + 2, o.i * 2, "
        f"{p2.replace('o.i', '(o.i * 2)')}, {qty.format(k=2).replace('o.i', '(o.i * 2)')}, "
        f"{price.format(p=p2.replace('o.i', '(o.i * 2)'))} FROM seq AS o",
        f"{seq(reviews)} INSERT INTO reviews SELECT i, 1 + abs(random()) % {N_PRODUCTS}, "
        f"1 + abs(random()) % {customers}, CASE WHEN i % 100 = 0 THEN NULL "
        "ELSE 1 + abs(random()) % 5 END, date('2023-01-01', '+' || (i % 730) || ' days') "
        "FROM seq",
        *INDEXES,
    ]
    for statement in statements:
        conn.execute(statement)
    conn.commit()
    counts = {t: conn.execute(f"SELECT count(*) FROM {t}").fetchone()[0] for t in TABLES}
    conn.close()
    return counts


def timed(label: str, results: list[tuple[str, float, str]], fn, detail=lambda r: ""):
    started = time.perf_counter()
    value = fn()
    seconds = time.perf_counter() - started
    results.append((label, seconds, detail(value)))
    print(f"  {label}: {seconds:.1f}s {detail(value)}", flush=True)
    return value


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--customers", type=int, default=1_000_000)
    parser.add_argument("--orders", type=int, default=10_000_000)
    parser.add_argument("--reviews", type=int, default=1_000_000)
    parser.add_argument("--load-docs", type=int, default=50_000,
                        help="customer documents loaded into the document store")
    parser.add_argument("--workdir", default=None, help="keep/reuse the source DB here")
    args = parser.parse_args()

    workdir = Path(args.workdir or tempfile.mkdtemp(prefix="bench-customers-"))
    workdir.mkdir(parents=True, exist_ok=True)
    db_path = workdir / f"ecommerce_{args.customers}_{args.orders}.sqlite"
    results: list[tuple[str, float, str]] = []
    print(f"customer insights benchmark in {workdir}", flush=True)

    if not db_path.exists():
        timed("generate source (SQLite, set-based SQL)", results,
                       lambda: build_source(db_path, args.customers, args.orders, args.reviews),
                       lambda c: ", ".join(f"{t}={n:,}" for t, n in c.items()))
    source = SqlSource(url=f"sqlite:///{db_path}")

    raw = timed("extract (SQL -> Polars, 6 tables)", results,
                lambda: {t: extract_table(source, t) for t in TABLES},
                lambda r: f"{sum(f.height for f in r.values()):,} rows")
    cleaned = timed("transform: clean", results, lambda: cleaning.clean(raw),
                    lambda c: f"{c.rejected.height:,} rows set aside")
    aggregates = timed("transform: customer aggregate", results,
                       lambda: insights.customer_aggregates(cleaned),
                       lambda a: f"{a.height:,} customers")
    outputs = timed("transform: four insights", results,
                    lambda: insights.all_insights(cleaned, aggregates),
                    lambda o: ", ".join(f"{k}={v.height}" for k, v in o.items()))

    def write_warehouse() -> int:
        frames = {"customer_aggregates": aggregates, **outputs, "rejected_rows": cleaned.rejected}
        with duckdb.connect(str(workdir / "warehouse.duckdb")) as conn:
            ensure_schemas(conn, None, [SCHEMA])
            with transaction(conn):  # as the asset does it
                for name, frame in frames.items():
                    conn.execute(f"DELETE FROM customers.{name}")
                    conn.from_arrow(frame.to_arrow()).insert_into(f"customers.{name}")
        return sum(f.height for f in frames.values())

    timed("warehouse write (DuckDB, one transaction)", results, write_warehouse,
          lambda n: f"{n:,} rows")

    subset = aggregates.head(args.load_docs)
    uri = os.environ.get("MONGODB_URI")
    store = (DocumentStore(uri=uri, database="bench_customers") if uri
             else DocumentStore(path=str(workdir / f"docstore_{time.time_ns()}")))
    kind = "MongoDB" if uri else "montydb (embedded)"
    if uri:
        with store.get_database() as db:
            db.drop_collection(documents.CUSTOMERS_COLLECTION)
            db.drop_collection(documents.INSIGHTS_COLLECTION)

    def load(frame: pl.DataFrame) -> documents.LoadStats:
        with store.get_database() as db:
            return documents.load_all(db, frame, outputs, store.embedded)

    for label in ("first load", "re-run (unchanged)"):
        started = time.perf_counter()
        stats = load(subset)
        seconds = time.perf_counter() - started
        rate = (stats.documents_written or subset.height) / seconds
        what = "documents written/s" if stats.documents_written else "documents checked/s"
        results.append((f"load {label} -> {kind}, {subset.height:,} customers", seconds,
                        f"{stats.documents_written:,} written, {rate:,.0f} {what}"))
        print(f"  {results[-1][0]}: {seconds:.1f}s {results[-1][2]}", flush=True)

    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"\npeak RSS {peak_mb:,.0f} MB")
    print("\n| step | seconds | detail |\n|---|---:|---|")
    for label, seconds, detail in results:
        print(f"| {label} | {seconds:.1f} | {detail} |")


if __name__ == "__main__":
    main()
