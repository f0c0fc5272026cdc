"""Contiguous ranges of partition keys: a run per range instead of a run per key."""

from __future__ import annotations

from collections.abc import Callable, Hashable, Iterable
from datetime import date, timedelta
from typing import TypeVar

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


def date_ranges(dates: Iterable[date]) -> list[tuple[date, date]]:
    """Contiguous runs of dates, e.g. [1, 2, 3, 7] -> [(1, 3), (7, 7)]."""
    return contiguous(dates, lambda last, d: d == last + timedelta(days=1))


def describe_ranges(dates: Iterable[date]) -> str:
    parts = [str(a) if a == b else f"{a}..{b}" for a, b in date_ranges(dates)]
    return ", ".join(parts) if parts else "none"
