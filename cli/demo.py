"""`make demo`: generate sample data for all five domains, materialize every asset once
without the UI, and print the answers a person came for."""

from __future__ import annotations

import importlib
import os
import time
from pathlib import Path

import dagster as dg

from cli.generate import generate_all, parser

TITLES = {
    "invoices": "1. Invoices: venue totals per creation date",
    "ctr": "2. Product CTR",
    "industries": "3. Industry change: top 3 industries",
    "late_payments": "4. Late-payment features",
    "customers": "5. Customer insights",
}


def main() -> None:
    args = parser().parse_args()
    data_dir = Path(os.environ.setdefault("PLATFORM_DATA_DIR", "data/local")).resolve()
    os.environ.setdefault("PLATFORM_RUN_LOG_LEVEL", "WARNING")
    print(f"Data root: {data_dir}")
    for domain, counts in generate_all(data_dir, args.seed, args.scale, args.domains).items():
        print(f"generated {domain}: {counts}")

    from definitions import defs  # after PLATFORM_DATA_DIR is settled

    # An in-memory instance: thousands of hourly-partition events are written far faster
    # than to SQLite, and the demo needs no history. Sensors under `make run` keep their own
    # cursors; the loads are idempotent, so re-seeing the demo's files changes nothing.
    with dg.DagsterInstance.ephemeral() as instance:
        for domain in args.domains:
            started = time.perf_counter()
            answer = importlib.import_module(f"assets.{domain}.demo").run(defs, instance)
            elapsed = time.perf_counter() - started
            print(f"\n=== {TITLES[domain]}  ({elapsed:.1f} s)\n{answer}")


if __name__ == "__main__":
    main()
