"""A JSON array of batches read a run of whole batches at a time (docs/ctr.md, "Ingest speed").

`runs` finds where each top-level batch ends with numpy (quotes, then brackets outside
strings, then their depth: no Python loop over bytes) and hands out each run of whole
batches as a small JSON array of its own, with the position of its first batch. A batch
longer than the limit, or bytes that do not make one JSON array, raise `BadArray`: the
caller then reads the file whole when it may (as before), or rejects it.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import IO

import numpy as np

QUOTE, BACKSLASH, COMMA = 34, 92, 44
OPEN, CLOSE = (91, 123), (93, 125)  # [ {   ] }
WHITESPACE = b" \t\r\n"


class BadArray(ValueError):
    """Not one JSON array of batches, or a batch over the limit (`too_long`)."""

    def __init__(self, why: str, too_long: bool = False, unfinished: bool = False) -> None:
        super().__init__(why)
        self.too_long, self.unfinished = too_long, unfinished


def _unescaped(buf: np.ndarray, quotes: np.ndarray) -> np.ndarray:
    """The quotes not escaped by an odd run of backslashes (a loop over the rare ones)."""
    after_bs = quotes[(quotes > 0) & (buf[np.maximum(quotes - 1, 0)] == BACKSLASH)]
    if not after_bs.size:
        return quotes
    escaped = []
    for q in after_bs.tolist():
        run = 0
        while q - run - 1 >= 0 and buf[q - run - 1] == BACKSLASH:
            run += 1
        if run % 2:
            escaped.append(q)
    return np.setdiff1d(quotes, np.array(escaped, dtype=quotes.dtype), assume_unique=True)


def scan(data: bytes | bytearray) -> tuple[np.ndarray, int]:
    """(offsets just after each top-level value that ends with `}`/`]`, offset of the
    closing `]` or -1) of `data`, which starts inside the array, outside any string."""
    buf = np.frombuffer(data, np.uint8)
    quotes = _unescaped(buf, np.flatnonzero(buf == QUOTE))
    marks = np.flatnonzero((buf == OPEN[0]) | (buf == OPEN[1]) | (buf == CLOSE[0])
                           | (buf == CLOSE[1]))
    marks = marks[(np.searchsorted(quotes, marks) & 1) == 0]  # outside strings
    opens = (buf[marks] == OPEN[0]) | (buf[marks] == OPEN[1])
    depth = np.cumsum(np.where(opens, 1, -1))
    below = np.flatnonzero(depth < 0)
    close = int(marks[below[0]]) if below.size else -1
    ends = marks[(depth == 0) & ~opens] + 1
    return (ends[ends <= close] if close >= 0 else ends), close


def _run(part: bytes, first: bool) -> bytes | None:
    """One run of whole batches as a JSON array (None when it holds none)."""
    body = part.strip(WHITESPACE)
    if not body:
        return None
    if not first:
        if not body.startswith(b","):
            raise BadArray("batches not separated by ','")
        body = body[1:]
        if not body.strip(WHITESPACE):
            raise BadArray("a ',' before the closing ']'")
    return b"[" + body + b"]"


def _rest_blank(fh: IO[bytes], tail: bytes, block: int) -> bool:
    """Whether nothing but whitespace follows the closing `]`."""
    while not tail.strip(WHITESPACE):
        tail = fh.read(block)
        if not tail:
            return True
    return False


def runs(fh: IO[bytes], limit: int, block: int) -> Iterator[bytes]:
    """Runs of whole batches (each a JSON array, about `block` bytes) of the array in
    `fh`, in order; BadArray as the module says."""
    buf = fh.read(block).lstrip(b"\xef\xbb\xbf" + WHITESPACE)
    if not buf.startswith(b"["):
        raise BadArray("not a JSON array")
    buf, first = buf[1:], True
    while True:
        ends, close = scan(buf)
        if close >= 0:
            if not _rest_blank(fh, buf[close + 1:], block):
                raise BadArray("bytes after the closing ']'")
            if (run := _run(buf[:close], first)) is not None:
                yield run
            return
        if ends.size:
            cut = int(ends[-1])
            if (run := _run(buf[:cut], first)) is not None:
                yield run
            buf, first = buf[cut:], False
        if len(buf) > limit:
            raise BadArray(f"a batch over the limit of {limit:,} bytes", too_long=True)
        piece = fh.read(block)
        if not piece:
            raise BadArray("no closing ']'", unfinished=True)
        buf += piece
