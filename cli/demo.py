"""`make demo`: generate sample data for all five domains, materialize every asset once
without the UI, and print the answers a person came for."""

from __future__ import annotations

import importlib
import os
import time
from pathlib import Path

import dagster as dg

from cli.generate import generate_all, parser


def main() -> None:
    args = parser().parse_args()
    data_dir = Path(os.environ.setdefault("PLATFORM_DATA_DIR", "data/local")).resolve()
    os.environ.setdefault("PLATFORM_RUN_LOG_LEVEL", "WARNING")
    # the demo wrote the files itself, whole: its sensors need not wait for them to settle
    os.environ.setdefault("LANDING_SETTLE_SECONDS", "0")
    print(f"Data root: {data_dir}")
    for domain, counts in generate_all(data_dir, args.seed, args.scale, args.domains).items():
        print(f"generated {domain}: {counts}")

    from definitions import defs  # after PLATFORM_DATA_DIR is settled

    # The instance `make run` will use (DAGSTER_HOME): the UI shows what the demo made, and
    # the demo's runs carry their sensors' run keys, so the daemon launches none of them
    # again. Without DAGSTER_HOME, an in-memory instance.
    with instance_for_demo() as instance:
        for domain in args.domains:
            started = time.perf_counter()
            demo = importlib.import_module(f"cli.demos.{domain}")
            answer = demo.run(defs, instance)
            elapsed = time.perf_counter() - started
            print(f"\n=== {demo.TITLE}  ({elapsed:.1f} s)\n{answer}")


def instance_for_demo() -> dg.DagsterInstance:
    if os.environ.get("DAGSTER_HOME"):
        print(f"Dagster instance: {os.environ['DAGSTER_HOME']}")
        return dg.DagsterInstance.get()
    print("Dagster instance: in memory (set DAGSTER_HOME to keep the demo's runs)")
    return dg.DagsterInstance.ephemeral()


if __name__ == "__main__":
    main()
