"""A product-view file read with its memory bounded by `LANDING_MAX_LINE_BYTES`.

A file no larger than the limit is parsed whole, as always (`views_parse.parse_views`: one
pass of Polars' reader). A larger one is never read whole:
- JSON Lines are parsed in blocks of whole lines (at most `BLOCK_BYTES`, or one line), each
  numbered from its first physical line, and the blocks' views, rejected rows and counts
  added up; a line over the limit is read through in chunks, never held, and is one
  malformed batch with that reason;
- a JSON array is one JSON value: over the limit it cannot be parsed without holding it, so
  the file is moved aside unread (`NotJsonError`, the reason naming its size and the limit).
"""

from __future__ import annotations

from collections import Counter
from pathlib import Path
from typing import IO

import polars as pl

from assets.ctr.views_parse import (
    REJECTED_COLUMNS,
    VIEW_COLUMNS,
    NotJsonError,
    ParsedViews,
    parse_views,
    sniff_format,
)
from resources.lines import MAX_LINE_ENV, TooLong, bounded_lines, max_line_bytes

BLOCK_BYTES = 64 * 1024 * 1024


def parse_view_file(path: Path, limit: int | None = None) -> ParsedViews:
    """The views of one landed file, holding at most about `limit` bytes of it."""
    limit = limit or max_line_bytes()
    size = path.stat().st_size
    if size <= limit:
        return parse_views(path.read_bytes())
    with path.open("rb") as fh:
        if sniff_format(fh.read(4096)) == "array":
            raise NotJsonError(
                f"a JSON array of {size:,} bytes, over the limit of {limit:,} ({MAX_LINE_ENV})"
                " for one JSON value; not read (send JSON Lines, or smaller files)")
        fh.seek(0)
        return _blocks(fh, limit)


def _blocks(fh: IO[bytes], limit: int) -> ParsedViews:
    """JSON Lines parsed a block of lines at a time, the results added up."""
    parts: list[ParsedViews] = []
    too_long: list[tuple[int, str, str]] = []
    block: list[bytes] = []
    start = size = 0
    for n, line in enumerate(bounded_lines(fh, limit), 1):
        if isinstance(line, TooLong):
            too_long.append((n, f"malformed batch: {line.reason(limit)}", repr(line.head[:120])))
            line = b"\n"  # the block keeps its numbering: a blank line
        start = start or n
        block.append(line)
        size += len(line)
        if size >= min(limit, BLOCK_BYTES):
            parts.append(parse_views(b"".join(block), start, "lines"))
            block, start, size = [], 0, 0
    if block:
        parts.append(parse_views(b"".join(block), start, "lines"))
    return _added(parts, too_long)


def _added(parts: list[ParsedViews], too_long: list[tuple[int, str, str]]) -> ParsedViews:
    """One file's result from its blocks' and its too-long lines."""
    others: Counter[str] = Counter()
    for part in parts:
        others.update(part.other_events)
    long = pl.DataFrame(too_long, schema=REJECTED_COLUMNS, orient="row")
    views = [p.views for p in parts] or [pl.DataFrame(schema=VIEW_COLUMNS)]
    return ParsedViews(
        views=pl.concat(views),
        rejected=pl.concat([*(p.rejected for p in parts), long]).sort("batch_no"),
        batches=sum(p.batches for p in parts) + len(too_long),
        events=sum(p.events for p in parts),
        malformed_batches=sum(p.malformed_batches for p in parts) + len(too_long),
        other_events=dict(sorted(others.items())),
        parser="tolerant" if any(p.parser == "tolerant" for p in parts) else "fast",
    )
