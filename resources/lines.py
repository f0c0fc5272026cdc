"""Reading a landed file one line at a time, with the memory a line may take bounded.

A producer's bug can write a file of one 2 GB line. Iterating a file (`for line in fh`)
or reading it whole holds such a line in memory whole, several times over once decoded
and parsed. `bounded_lines` never holds more than `limit` bytes (or characters, on a text
handle) of one line: a longer line is read through in chunks and handed out as a
`TooLong` (its number, first `HEAD` units and length), for the caller to reject with its
reason. The limit is `LANDING_MAX_LINE_BYTES` (`max_line_bytes()`, default 256 MiB),
the same for every pipeline: far above any real line (an invoice row is ~100 bytes, the
largest product-view file, one JSON array on a line, ~24 MB), far below a worker's memory.

`utf8_problem` says where a line decoded with `errors="surrogateescape"` held bytes that
are not UTF-8, and `escaped` shows such a line storably (`\\xe9` for the byte 0xE9): one bad
byte then rejects its own line, not the file around it.
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import IO, AnyStr, Generic

MAX_LINE_ENV = "LANDING_MAX_LINE_BYTES"
DEFAULT_MAX_LINE_BYTES = 256 * 1024 * 1024
HEAD = 200  # units of a too-long line kept, to show what it was
CHUNK = 1024 * 1024  # read-through step of a too-long line
_ESCAPED = re.compile("[\udc80-\udcff]")  # a byte `surrogateescape` could not decode
_ENDS = ("\n", "\r", b"\n")


def max_line_bytes() -> int:
    """The longest line any pipeline reads (`LANDING_MAX_LINE_BYTES`, default 256 MiB)."""
    raw = os.environ.get(MAX_LINE_ENV, "")
    if not raw.strip():
        return DEFAULT_MAX_LINE_BYTES
    if not (raw.strip().isascii() and raw.strip().isdigit()) or int(raw) < 1:
        raise ValueError(f"{MAX_LINE_ENV} must be a positive number of bytes, not {raw!r}")
    return int(raw)


@dataclass(frozen=True)
class TooLong(Generic[AnyStr]):
    """A line over the limit, read through but not kept: its number (from 1), its first
    `HEAD` units, its whole length with the line end, and whether a line end closed it
    (the last line of a file still being written has none)."""

    number: int
    head: AnyStr
    size: int
    complete: bool

    def reason(self, limit: int) -> str:
        unit = "bytes" if isinstance(self.head, bytes) else "characters"
        return (f"line {self.number} is {self.size:,} {unit} long, over the limit of "
                f"{limit:,} ({MAX_LINE_ENV}); not read")


def bounded_lines(fh: IO[AnyStr], limit: int, first: int = 1
                  ) -> Iterator[AnyStr | TooLong[AnyStr]]:
    """Each line of `fh` (binary: ending at b"\\n"; text opened with newline="": at "\\n",
    "\\r\\n" or "\\r"), as read, or a `TooLong` for a line over `limit` units (bytes, or
    characters on a text handle), of which at most `limit` are ever held. `first` numbers
    the first line (for a file read from an offset)."""
    number = first - 1
    while piece := fh.readline(limit + 1):
        number += 1
        if len(piece) <= limit:
            yield piece
            continue
        head, size = piece[:HEAD], len(piece)
        while piece and piece[-1:] not in _ENDS:
            piece = fh.readline(CHUNK)
            size += len(piece)
        yield TooLong(number, head, size, complete=bool(piece))


def first_too_long(path: Path, limit: int | None = None) -> TooLong[bytes] | None:
    """The first line of a file over `limit` (`LANDING_MAX_LINE_BYTES`), or None: one read
    of the file, at most `limit` bytes of it held. For a reader that cannot reject one such
    line itself (DuckDB drops a line that spans its buffers without a word)."""
    limit = limit or max_line_bytes()
    with path.open("rb") as fh:
        return next((x for x in bounded_lines(fh, limit) if isinstance(x, TooLong)), None)


def utf8_problem(text: str) -> str | None:
    """Why a line read with `errors="surrogateescape"` is not UTF-8 text (the first bad
    byte and its column), or None when it is."""
    if text.isascii():
        return None
    found = _ESCAPED.search(text)
    if found is None:
        return None
    byte = ord(found.group()) - 0xDC00
    return f"not UTF-8 text (byte 0x{byte:02X} at character {found.start() + 1})"


def escaped(text: str) -> str:
    """A line read with `errors="surrogateescape"` as storable text: each byte that is not
    UTF-8 written as `\\xNN`."""
    if text.isascii() or _ESCAPED.search(text) is None:
        return text
    return text.encode("utf-8", "surrogateescape").decode("utf-8", "backslashreplace")
