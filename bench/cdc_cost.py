"""The cost of one change against a rebuild, at 1M and 10M invoices, in one run:
`python -m bench.cdc_cost [--invoices 1000000 10000000] [--rounds 3]`.

A DuckDB warehouse holds the change stream's staged tables (`late_payments_cdc.stg_*`) with N
invoices over N/10 accounts, 3 lines each, 100 SKUs, generated in SQL. Interleaved per round:
(a) the rebuild: the feature query over every invoice (`features_select`, what the extract
path runs after staging; staging the CSVs would only add to it), into a scratch table; (b)
one change: a batch of one event (an invoice paid) through `apply_batch`, the whole
transaction (judging, applying, re-computing the account's invoices, storing offsets),
committed. Prints a Markdown table of medians (README, "Change data capture").
"""

from __future__ import annotations

import argparse
import json
import statistics
import tempfile
import time
from datetime import date, timedelta
from pathlib import Path

from assets.late_payments.cdc_store import CDC_FEATURES, CDC_TABLES, M, apply_batch
from assets.late_payments.changes import DecodedBatch, decode
from assets.late_payments.features import features_select
from assets.shared import md_table
from resources import Warehouse
from resources.sql import transaction

AS_OF = date(2026, 6, 1)
FILL = f"""
INSERT INTO {M}.stg_accounts SELECT i, 'c' || i, NULL, NULL, NULL, 'F',
    DATE '2015-01-01' + CAST(i % 2000 AS INTEGER) FROM range($accounts) t(i);
INSERT INTO {M}.stg_skus SELECT 'S' || i, 'sku', NULL, 1.5, 2.25 + i FROM range(100) t(i);
INSERT INTO {M}.stg_invoices SELECT i, i % $accounts, d, [d + 20], d + 20
    FROM (SELECT i, DATE '2020-01-01' + CAST(hash(i) % 2000 AS INTEGER) AS d
          FROM range($invoices) t(i));
INSERT INTO {M}.stg_invoice_line_items SELECT i // 3, 'S' || (hash(i) % 100), 1 + i % 4
    FROM range($invoices * 3) t(i);
"""
ALL_LINES = f"""SELECT l.invoice_id, sum(l.quantity * s.item_retail_price) AS total,
    sum(l.quantity) AS items FROM {M}.stg_invoice_line_items l
    LEFT JOIN {M}.stg_skus s ON s.item_id = l.item_id GROUP BY l.invoice_id"""
REBUILD = "CREATE OR REPLACE TABLE scratch_features AS " + features_select(M, ALL_LINES)


def build(root: Path, invoices: int) -> Warehouse:
    warehouse = Warehouse(database=str(root / f"cdc_{invoices}.duckdb"))
    with warehouse.get_connection(CDC_TABLES) as conn:
        sizes = {"accounts": max(1, invoices // 10), "invoices": invoices}
        for statement in filter(str.strip, FILL.split(";")):
            conn.execute(statement, {k: v for k, v in sizes.items() if f"${k}" in statement})
        conn.execute(f"INSERT INTO {CDC_FEATURES} " + features_select(M, ALL_LINES),
                     {"as_of": AS_OF})
    return warehouse


def rebuild(warehouse: Warehouse) -> float:
    with warehouse.get_connection(CDC_TABLES) as conn:
        started = time.perf_counter()
        with transaction(conn):
            conn.execute(REBUILD, {"as_of": AS_OF})
        return time.perf_counter() - started


def one_change(warehouse: Warehouse, n: int, invoices: int) -> float:
    """One invoice paid later (a different day each round), applied as its own batch."""
    invoice = (n * 7919) % invoices
    paid = (date(2020, 1, 1) + timedelta(days=n % 300)).isoformat()
    with warehouse.get_connection(CDC_TABLES) as conn:
        issued = conn.execute(f"SELECT account_id, date_issued FROM {M}.stg_invoices "
                              "WHERE invoice_id = ?", [invoice]).fetchone()
        after = {"invoice_id": invoice, "account_id": issued[0],
                 "date_issued": (issued[1] - date(1970, 1, 1)).days, "payment_dates": paid}
        event = json.dumps({"op": "u", "before": after, "after": after}).encode()
        started = time.perf_counter()
        batch = DecodedBatch()
        decode(batch, "retail.public.invoices", 0, n, event)
        with transaction(conn):
            apply_batch(conn, batch, {"retail.public.invoices": {"0": n + 1}}, AS_OF)
        return time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--invoices", nargs="*", type=int, default=[1_000_000, 10_000_000])
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        for invoices in args.invoices:
            warehouse = build(Path(tmp), invoices)
            full, change = [], []
            for n in range(args.rounds):  # interleaved: the machine's load hits both alike
                change.append(one_change(warehouse, n, invoices))
                full.append(rebuild(warehouse))
            a, b = statistics.median(full), statistics.median(change)
            rows.append((f"{invoices:,}", f"{a:.2f}", f"{b * 1000:.0f}", f"{a / b:.0f}x"))
            print(rows[-1], flush=True)
    print(md_table(["invoices", "rebuild (s)", "one change (ms)", "rebuild / change"], rows))


if __name__ == "__main__":
    main()
