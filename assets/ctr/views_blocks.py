"""A product-view file read a block at a time, its memory bounded (docs/ctr.md, "Ingest
speed" and "A file over LANDING_MAX_LINE_BYTES").

A file no larger than `BLOCK_BYTES` is parsed whole (`views_parse.parse_views`). A larger
one is never read whole; its blocks' views, rejected rows and counts are added up, to the
answer of a whole read:
- JSON Lines: blocks of whole lines (about `BLOCK_BYTES`), each numbered from its first
  physical line; a line over `LANDING_MAX_LINE_BYTES` is read through in chunks, never
  held, and is one malformed batch with that reason;
- a JSON array: runs of whole batches (`views_array`), each numbered from its first batch.
  When the bytes are not one JSON array, a file within the limit is read whole as before
  (the same reason as ever); a larger one, or one with a batch over the limit, is moved
  aside unread (`NotJsonError`, the reason naming its size and the limit).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import IO

import polars as pl

from assets.ctr.views_array import BadArray, runs
from assets.ctr.views_parse import (
    REJECTED_COLUMNS,
    VIEW_COLUMNS,
    NotJsonError,
    ParsedViews,
    UnfinishedArrayError,
    parse_views,
    sniff_format,
)
from resources.lines import CHUNK, HEAD, MAX_LINE_ENV, TooLong, max_line_bytes

BLOCK_BYTES = 32 * 1024 * 1024
Rejected = list[tuple[int, str, str]]
UNREADABLE = ["malformed batch: invalid JSON", "malformed batch: not UTF-8 text"]


def parse_view_file(path: Path, limit: int | None = None, block: int | None = None
                    ) -> ParsedViews:
    """The views of one landed file, holding about `block` bytes of it (at most `limit`
    for one line or batch)."""
    limit = limit or max_line_bytes()
    block = min(block or BLOCK_BYTES, limit)
    size = path.stat().st_size
    if size <= block:
        return parse_views(path.read_bytes())
    with path.open("rb") as fh:
        fmt = sniff_format(fh.read(4096))
    try:
        parsed = (_lines(path, limit, block) if fmt == "lines"
                  else _array(path, limit, block))
    except (BadArray, NotJsonError) as exc:
        if size <= limit and not getattr(exc, "too_long", False):
            return parse_views(path.read_bytes())  # today's reason, from a whole read
        raise _unread(exc, size, limit) from exc
    return parsed


def _unread(exc: Exception, size: int, limit: int) -> NotJsonError:
    """Why an array file over the limit (or with a batch over it) is not read."""
    if getattr(exc, "too_long", False):
        return NotJsonError(f"a JSON array of {size:,} bytes with a batch over the limit of "
                            f"{limit:,} ({MAX_LINE_ENV}); not read")
    over = f"a file of {size:,} bytes, over the limit of {limit:,} ({MAX_LINE_ENV}) for a " \
        "read whole"
    if getattr(exc, "unfinished", False):
        return UnfinishedArrayError(f"unfinished JSON array: no closing ']' ({over})")
    return NotJsonError(f"not JSON: a JSON array of {size:,} bytes that is not valid JSON "
                        f"({exc}; {over})")


def _array(path: Path, limit: int, block: int, tolerant: bool = False) -> ParsedViews:
    """An array file's runs of batches parsed one at a time, the results added up; once
    one run needs the tolerant parser, all of them (the whole file's answer)."""
    parts: list[ParsedViews] = []
    first = 1
    with path.open("rb") as fh:
        for run in runs(fh, limit, block):
            parts.append(parse_views(run, first, "array", tolerant=tolerant, part=True))
            first += parts[-1].batches
            if parts[-1].parser == "tolerant" and not tolerant:
                return _array(path, limit, block, tolerant=True)
    return _added(parts, [])


def _line_blocks(fh: IO[bytes], limit: int, block: int, too_long: Rejected
                 ) -> Iterator[tuple[int, bytes]]:
    """(first line number, block of whole lines) of JSON Lines; each line over `limit` is
    read through and added to `too_long` instead."""
    number, buf, eof = 1, b"", False
    while buf or not eof:
        nl = buf.find(b"\n")
        if (nl < 0 and len(buf) > limit) or nl + 1 > limit:
            buf, eof = _through(fh, buf, nl, number, limit, too_long)
            number += 1
        elif nl < 0 and not eof:
            piece = fh.read(block)
            buf, eof = buf + piece, not piece
        else:
            cut = len(buf) if eof else buf.rfind(b"\n") + 1
            yield number, buf[:cut]
            number += buf.count(b"\n", 0, cut)
            buf = buf[cut:]
            if not eof and not buf:
                piece = fh.read(block)
                buf, eof = piece, not piece


def _through(fh: IO[bytes], buf: bytes, nl: int, number: int, limit: int,
             too_long: Rejected) -> tuple[bytes, bool]:
    """Skip the too-long first line of `buf` (reading on to its end): (the bytes after
    it, end of file)."""
    head, size, rest, eof = buf[:HEAD], len(buf), b"", False
    if nl >= 0:
        size, rest = nl + 1, buf[nl + 1:]
    while nl < 0:
        piece = fh.read(min(CHUNK, limit))  # then no line after it is over the limit
        if not piece:
            eof = True
            break
        nl = piece.find(b"\n")
        size += nl + 1 if nl >= 0 else len(piece)
        rest = piece[nl + 1:] if nl >= 0 else b""
    line = TooLong(number, head, size, complete=not eof)
    too_long.append((number, f"malformed batch: {line.reason(limit)}", repr(head[:120])))
    return rest, eof and not rest


def _lines(path: Path, limit: int, block: int, tolerant: bool = False) -> ParsedViews:
    """JSON Lines parsed a block of lines at a time, the results added up; once one block
    needs the tolerant parser (a bad line, a blank one, one over the limit), all of them."""
    too_long: Rejected = []
    parts: list[ParsedViews] = []
    with path.open("rb") as fh:
        for first, data in _line_blocks(fh, limit, block, too_long):
            blank = first > 1 and data[:1] in (b"\n", b"\r") or not data.strip()
            if not tolerant and (too_long or blank):
                return _lines(path, limit, block, tolerant=True)
            if data.strip():
                parts.append(parse_views(data, first, "lines", tolerant=tolerant, part=True))
            if parts and parts[-1].parser == "tolerant" and not tolerant:
                return _lines(path, limit, block, tolerant=True)
    parsed = _added(parts, too_long)
    unreadable = parsed.rejected.filter(pl.col("reason").is_in(UNREADABLE)).height
    if parsed.batches == unreadable + len(too_long):
        raise NotJsonError("not JSON: no line is a JSON value")
    return parsed


def _added(parts: list[ParsedViews], too_long: Rejected) -> ParsedViews:
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
