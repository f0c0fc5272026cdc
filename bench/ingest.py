"""The README's ingest table: every ingest path beside its bare engine, from one run.

Each row is measured by its domain's bench (both sides interleaved, medians; see
`bench/side_by_side.py`) and printed here as one Markdown table with the ratio and the
issue's target. Under 10 minutes on this 2-core machine.

    .venv/bin/python -m bench.ingest [--quick]
"""

from __future__ import annotations

import argparse
import time

from assets.shared import md_table
from bench import ctr, dbt_venue_totals, documents_ingest, industries, invoices_ingest
from bench.side_by_side import HEADERS, IngestRow

BENCHES = {
    "invoices": invoices_ingest.ingest_rows,
    "invoices, dbt-duckdb": dbt_venue_totals.dbt_rows,
    "ctr": ctr.ingest_rows,
    "industries": industries.ingest_rows,
    "documents": documents_ingest.ingest_rows,
}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true", help="smaller inputs, a smoke run")
    parser.add_argument("--only", nargs="+", choices=list(BENCHES), help="some benches only")
    args = parser.parse_args()
    rows: list[IngestRow] = []
    started = time.perf_counter()
    for name, bench in BENCHES.items():
        if args.only and name not in args.only:
            continue
        begun = time.perf_counter()
        rows.extend(bench(args.quick))
        print(f"{name}: {time.perf_counter() - begun:.0f} s", flush=True)
    print(f"\nall rows in {time.perf_counter() - started:.0f} s\n")
    print(md_table(HEADERS, [row.cells() for row in rows]))


if __name__ == "__main__":
    main()
