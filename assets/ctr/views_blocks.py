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
    read through and added to `too_long` instead. One read per block (then a seek back
    to the last line end): no bytes copied around."""
    number = 1
    while True:
        pos, want = fh.tell(), block
        piece = fh.read(want)
        if not piece:
            return
        nl = piece.find(b"\n")
        if nl < 0 and len(piece) == want:  # a line longer than a block: up to the limit
            fh.seek(pos)
            want = limit + 1
            piece = fh.read(want)
            nl = piece.find(b"\n")
        if (nl < 0 and len(piece) > limit) or nl + 1 > limit:
            _through(fh, pos, number, limit, too_long)
            number += 1
            continue
        cut = len(piece) if len(piece) < want else piece.rfind(b"\n") + 1
        fh.seek(pos + cut)
        yield number, piece if cut == len(piece) else piece[:cut]
        number += piece.count(b"\n", 0, cut)


def _through(fh: IO[bytes], pos: int, number: int, limit: int, too_long: Rejected) -> None:
    """Read through the too-long line at `pos` (never held; the file left after it)."""
    fh.seek(pos)
    head, size, complete = b"", 0, False
    while piece := fh.read(min(CHUNK, limit)):
        head = head or piece[:HEAD]
        nl = piece.find(b"\n")
        if nl >= 0:
            size, complete = size + nl + 1, True
            break
        size += len(piece)
    fh.seek(pos + size)
    line = TooLong(number, head, size, complete)
    too_long.append((number, f"malformed batch: {line.reason(limit)}", repr(head[:120])))


def _lines(path: Path, limit: int, block: int, tolerant: bool = False) -> ParsedViews:
    """JSON Lines parsed a block of lines at a time, the results added up; once one block
    needs the tolerant parser (a bad line, a blank one, one over the limit), all of them."""
    too_long: Rejected = []
    parts: list[ParsedViews] = []
    with path.open("rb") as fh:
        for first, data in _line_blocks(fh, limit, block, too_long):
            empty = data.isspace()
            blank = first > 1 and data[:1] in (b"\n", b"\r") or empty
            if not tolerant and (too_long or blank):
                return _lines(path, limit, block, tolerant=True)
            if not empty:
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
