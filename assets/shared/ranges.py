"""Contiguous ranges of partition keys: a run per range instead of a run per key."""

from __future__ import annotations

from collections.abc import Callable, Hashable, Iterable, Mapping
from datetime import date, timedelta
from typing import TypeVar

from assets.shared.markdown import md_table

K = TypeVar("K", bound=Hashable)


def contiguous(keys: Iterable[K], joins: Callable[[K, K], bool]) -> list[tuple[K, K]]:
    """Sorted unique keys grouped into (first, last) runs, a key joining the run before it
    when `joins(last of that run, key)`: [1, 2, 3, 7] -> [(1, 3), (7, 7)] for "next"."""
    ranges: list[tuple[K, K]] = []
    for key in sorted(set(keys)):  # type: ignore[type-var]
        if ranges and joins(ranges[-1][1], key):
            ranges[-1] = (ranges[-1][0], key)
        else:
            ranges.append((key, key))
    return ranges


def next_day(last: date, day: date) -> bool:
    return day == last + timedelta(days=1)


def date_ranges(dates: Iterable[date]) -> list[tuple[date, date]]:
    """Contiguous runs of dates, e.g. [1, 2, 3, 7] -> [(1, 3), (7, 7)]."""
    return contiguous(dates, next_day)


def coverage_table(
    counts: Mapping[K, int], joins: Callable[[K, K], bool], limit: int = 12,
    unit: str = "partitions",
) -> str:
    """Where an asset holds data, at a glance: the runs of neighbouring `unit`s (partitions,
    or days of hourly partitions) holding rows (`joins` says which keys neighbour), newest
    first, with their row counts."""
    held = {k: n for k, n in counts.items() if n}
    if not held:
        return "no partition holds data yet"
    runs = contiguous(held, joins)
    keys = sorted(held)  # type: ignore[type-var]
    rows = []
    for first, last in reversed(runs[-limit:]):
        inside = [k for k in keys if first <= k <= last]  # type: ignore[operator]
        rows.append((first, last, len(inside), sum(held[k] for k in inside)))
    title = (f"{len(held)} {unit} hold data in {len(runs)} stretch(es), "
             f"{keys[0]} .. {keys[-1]}" + (f" (newest {limit} shown)" if len(runs) > limit else ""))
    return title + "\n\n" + md_table(["from", "to", unit, "rows"], rows)


def describe_ranges(dates: Iterable[date]) -> str:
    parts = [str(a) if a == b else f"{a}..{b}" for a, b in date_ranges(dates)]
    return ", ".join(parts) if parts else "none"
