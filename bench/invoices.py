"""Invoices benchmark: apply a 100k-row file to a raw table of 1M and 10M invoices.

Prints, per backend (DuckDB warehouse, PostgreSQL) and raw size: the rate of the file end to
end (parse + the whole apply: stage, upsert into the raw table, deltas, ledger, rejected
rows, commit), the raw upsert alone, the incremental aggregate update (per-(venue,
date) deltas applied to `venue_daily_totals`), the full recompute (GROUP BY over the whole
raw table) and their ratio, plus the recompute of only the touched dates (the aggregate
asset's backfill path). All figures of one table come from one run.

    .venv/bin/python -m bench.invoices [--sizes 1000000 10000000] [--backends duckdb postgres]
"""

from __future__ import annotations

import argparse
import random
import tempfile
import time
import uuid
from datetime import date, datetime, timedelta
from pathlib import Path

from assets.invoices.parse import parse_invoice_file
from assets.invoices.store import SCHEMA, InvoiceStore, open_store
from assets.shared import date_ranges, md_table
from cli.generators.invoices import write_invoice_file
from resources import InvoicesDb
from resources.sql import ensure_schemas

# The throwaway cluster sized like a small RDS instance, not like the test fixture (64 MB).
BENCH_PG_SETTINGS = {"shared_buffers": "2GB", "work_mem": "64MB", "maintenance_work_mem": "256MB"}
FIRST_DAY = date(2020, 1, 1)
DAYS = 1826  # five years of creation dates in the raw table
SYNC = date(2025, 1, 10)

_FILL = {
    "duckdb": """
        INSERT INTO invoices.raw_invoices
        SELECT uuid(), 'venue-' || (hash(i) % %s), ts, ts::DATE,
               ((hash(i * 7) % 50000)::BIGINT - 2000) / 100, 'seed.csv', DATE '2025-01-01', now()
        FROM (SELECT i, TIMESTAMP '2020-01-01' + to_seconds((hash(i * 3) % (%s * 86400))::BIGINT)
              AS ts FROM range(%s) t(i))""",
    "postgres": """
        INSERT INTO invoices.raw_invoices
        SELECT gen_random_uuid(), 'venue-' || (i %% %s), ts, ts::date,
               ((i * 7919) %% 50000 - 2000) / 100.0, 'seed.csv', DATE '2025-01-01', now()
        FROM (SELECT i, TIMESTAMP '2020-01-01'
                        + ((i * 104729) %% (%s * 86400)) * INTERVAL '1 second' AS ts
              FROM generate_series(1::bigint, %s) AS i) s""",
}


def fill(store: InvoiceStore, rows: int, venues: int) -> float:
    started = time.perf_counter()
    store.execute("DROP SCHEMA IF EXISTS invoices CASCADE")
    ensure_schemas(store.conn, None, [SCHEMA], store.dialect)
    sql = _FILL[store.dialect]
    if store.dialect == "duckdb":
        sql = sql.replace("%%", "%")
    with store.transaction():
        store.execute(sql, (venues, DAYS, rows))
    if store.dialect == "postgres":
        store.execute("ANALYZE invoices.raw_invoices")
    store.rebuild_all()
    return time.perf_counter() - started


def new_file(store: InvoiceStore, folder: Path, rows: int, dates: int, venues: int) -> Path:
    """`rows` rows touching `dates` creation dates: 90% new invoices, 10% corrections."""
    rng = random.Random(7)
    days = sorted(rng.sample(range(DAYS - 30), dates))
    picked = [FIRST_DAY + timedelta(days=d) for d in days]
    corrections = store.execute(
        "SELECT invoice_id, venue_id, created_at, total FROM invoices.raw_invoices"
        " WHERE created_date IN (" + ",".join(["%s"] * len(picked)) + ") LIMIT %s",
        (*picked, rows // 10),
    ).fetchall()
    body = [[v, str(i), ts.isoformat(sep=" "), f"{t + 1:.2f}"] for i, v, ts, t in corrections]
    while len(body) < rows:
        day = datetime.combine(rng.choice(picked), datetime.min.time())
        body.append([f"venue-{rng.randrange(venues)}", str(uuid.UUID(int=rng.getrandbits(128))),
                     (day + timedelta(seconds=rng.randrange(86400))).isoformat(sep=" "),
                     f"{rng.uniform(-20, 500):.2f}"])
    return write_invoice_file(folder / f"invoices_{SYNC}.csv", body)


def measure(db: InvoicesDb, backend: str, size: int, args: argparse.Namespace) -> list:
    with open_store(db) as store, tempfile.TemporaryDirectory() as tmp:
        built = fill(store, size, args.venues)
        path = new_file(store, Path(tmp), args.file_rows, args.dates, args.venues)
        started = time.perf_counter()
        parsed = parse_invoice_file(path, SYNC)
        parse_s = time.perf_counter() - started
        started = time.perf_counter()
        outcome = store.apply_file(parsed, path.name, f"bench-{size}", SYNC)
        apply_s = time.perf_counter() - started  # the whole of it: ledger, rejects, commit
        load_s, incr_s = store.timings["load"], store.timings["incremental"]
        touched = outcome.dates_touched
        started = time.perf_counter()
        for a, b in date_ranges(touched):
            store.recompute_dates(a, b)
        touched_s = time.perf_counter() - started
        started = time.perf_counter()
        store.rebuild_all()
        full_s = time.perf_counter() - started
        wrong = sum(len(store.mismatches(a, b)) for a, b in date_ranges(touched))
        assert wrong == 0, f"{backend}/{size}: aggregate differs from GROUP BY on {wrong} rows"
    rate = args.file_rows / (parse_s + apply_s)
    return [backend, f"{size:,}", f"{built:.0f}", f"{rate:,.0f}", f"{parse_s:.2f}",
            f"{apply_s:.2f}", f"{load_s:.2f}", f"{incr_s * 1000:.1f}", f"{touched_s * 1000:.0f}",
            f"{full_s * 1000:.0f}", f"{full_s / incr_s:.0f}x", len(touched)]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sizes", type=int, nargs="+", default=[1_000_000, 10_000_000])
    parser.add_argument("--backends", nargs="+", default=["duckdb", "postgres"])
    parser.add_argument("--file-rows", type=int, default=100_000)
    parser.add_argument("--dates", type=int, default=60)
    parser.add_argument("--venues", type=int, default=200)
    parser.add_argument("--pg-url", help="PostgreSQL URL; default: a throwaway local cluster")
    args = parser.parse_args()
    rows, server = [], None
    with tempfile.TemporaryDirectory() as tmp:
        for backend in args.backends:
            if backend == "postgres" and not args.pg_url:
                from tests.servers.postgres import start_postgres

                server = start_postgres(BENCH_PG_SETTINGS)
                args.pg_url = server.create_database("bench")
            for size in args.sizes:
                db = InvoicesDb(url=args.pg_url if backend == "postgres" else None,
                                warehouse_path=str(Path(tmp) / f"bench-{size}.duckdb"))
                rows.append(measure(db, backend, size, args))
                print(rows[-1], flush=True)
    if server is not None:
        server.close()
    print(f"\nfile: {args.file_rows:,} rows, {args.dates} creation dates, {args.venues} venues,"
          " 10% corrections of existing invoices\n")
    print(md_table(
        ["backend", "raw rows", "build s", "rows/s (parse + apply)", "parse s", "apply s",
         "of which raw upsert s",
         "incremental ms", "touched-dates recompute ms", "full recompute ms",
         "full / incremental", "dates touched"],
        rows,
    ))


if __name__ == "__main__":
    main()
