"""The platform's ingest path beside the bare engine doing the same work, measured in one run.

Every ingest bench (`bench.invoices`, `bench.ctr`, `bench.industries`, `bench.customer_insights`)
times both sides with `interleaved` (platform, bare, platform, bare, ...: this machine is
shared and noisy, so both see the same noise) and reports an `IngestRow`; `python -m
bench.ingest` collects the rows of all of them into the README's ingest table.
"""

from __future__ import annotations

import argparse
import statistics
import time
from collections.abc import Callable
from dataclasses import dataclass


@dataclass(frozen=True)
class IngestRow:
    """One row of the ingest table. `ratio` is how many times the bare engine's figure is
    better than the platform's (throughput bare / platform; for memory, platform / bare is
    not used: the memory rows give peak / file size and say so in `path`); `target` the
    bound the issue sets on `ratio`."""

    path: str
    platform: str
    bare: str
    ratio: float
    target: float

    def cells(self) -> list[str]:
        ok = "yes" if self.ratio <= self.target else "**no**"
        return [self.path, self.platform, self.bare, f"{self.ratio:.2f}×",
                f"≤ {self.target:g}×", ok]


HEADERS = ["path", "platform", "bare engine, same work", "ratio", "target", "within"]


def interleaved(sides: dict[str, Callable[[], object]], rounds: int = 3,
                setup: Callable[[], object] | None = None) -> dict[str, float]:
    """Median seconds of each side over `rounds`, the sides run in turn within each round
    (`setup` before every single run, untimed: a fresh table, a rewound consumer...)."""
    times: dict[str, list[float]] = {name: [] for name in sides}
    for _ in range(rounds):
        for name, run in sides.items():
            if setup is not None:
                setup()
            started = time.perf_counter()
            run()
            times[name].append(time.perf_counter() - started)
    return {name: statistics.median(values) for name, values in times.items()}


def rate(count: float, seconds: float, unit: str) -> str:
    """`123k rows/s`-style figure."""
    per_s = count / seconds if seconds else float("inf")
    if per_s >= 10_000:
        return f"{per_s / 1000:,.0f}k {unit}/s"
    return f"{per_s:,.1f} {unit}/s"


def print_rows(doc: str, rows: Callable[[bool], list[IngestRow]], quick_help: str) -> None:
    """The command line of one ingest bench: `--quick` for a smoke run, the rows as a
    Markdown table."""
    from assets.shared import md_table

    parser = argparse.ArgumentParser(description=doc,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true", help=quick_help)
    print(md_table(HEADERS, [row.cells() for row in rows(parser.parse_args().quick)]))
