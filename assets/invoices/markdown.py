"""Date ranges: contiguous runs of dates (partition ranges) and their short description."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date, timedelta


def date_ranges(dates: Iterable[date]) -> list[tuple[date, date]]:
    """Contiguous runs of dates, e.g. [1, 2, 3, 7] -> [(1, 3), (7, 7)]."""
    ranges: list[tuple[date, date]] = []
    for day in sorted(set(dates)):
        if ranges and day == ranges[-1][1] + timedelta(days=1):
            ranges[-1] = (ranges[-1][0], day)
        else:
            ranges.append((day, day))
    return ranges


def describe_ranges(dates: Iterable[date]) -> str:
    parts = [str(a) if a == b else f"{a}..{b}" for a, b in date_ranges(dates)]
    return ", ".join(parts) if parts else "none"
