"""The file side of the order stream: JSON Lines files in `landing/orders/`, followed by offset.

Order files are streams (appended to), so a position in one is a byte offset, stored in the
batch files' footers. An offset only means something for the bytes it was taken on, so
each file's position is tied to its content: per file the stream stores
`[bytes, lines, sha256 of those bytes, stat signature]`.

- The **signature** (inode, mtime, ctime, size; on a bucket the object's Last-Modified and
  size, whole seconds) tells the sensor a file changed even when its size did not (a
  same-size replacement), so a run is asked for.
- The **digest** of the consumed prefix tells the run whether it may resume: the prefix is
  hashed again (while reading, no extra pass), and a file whose first `bytes` no longer hash
  the same was replaced, so it is read again from its start. Orders already ingested come
  again under their `order_id` and are removed by the existing dedup; the replacement's new
  orders are all read. Nothing is lost, nothing counted twice.
- A file that shrank was replaced as well: read again from the start.

Only complete lines are read (a trailing line without its newline is still being written),
at most `LANDING_MAX_LINE_BYTES` of one line held (a longer one is a rejected order),
and only up to the size the file had when the run looked at it, so the stored offset, digest
and signature describe the same bytes. A UTF-8 byte-order mark at the start of a file is not
part of its first order (editors on Windows write one).
"""

from __future__ import annotations

import codecs
import hashlib
import os
from collections.abc import Iterable
from dataclasses import dataclass
from typing import IO, Any

from assets.industries.records import RawRecord
from assets.industries.stream import StreamState
from resources.lib.landing import LandingFolder
from resources.lib.landing_bucket import entries
from resources.lines import TooLong, bounded_lines, max_line_bytes

ORDERS_LANDING = "orders"  # landing/orders/: history files, and the stream without Kafka
ORDER_FILE_SUFFIXES = (".jsonl", ".json", ".ndjson")
CHUNK = 1 << 20


@dataclass(frozen=True)
class OrderFile:
    """An order file as one look saw it: its name, size and signature."""

    rel: str
    size: int
    signature: str


def order_files(folder: LandingFolder) -> list[OrderFile]:
    """JSON Lines files at the top of landing/orders/, under their final names. On a bucket
    one listing gives them all; the signature is then the object's Last-Modified and size
    (an object is replaced whole, never written in place)."""
    if folder.on_bucket:
        return [OrderFile(rel, e.size, f"{e.mtime_ns}:{e.size}")
                for rel, e in sorted(entries(folder.location, folder.depth).items())
                if is_order_file(rel)]
    return [OrderFile(rel, st.st_size, signature(st))
            for rel, path in folder.present() if is_order_file(rel) for st in [path.stat()]]


def is_order_file(rel: str) -> bool:
    return "/" not in rel and rel.endswith(ORDER_FILE_SUFFIXES)


def signature(st: os.stat_result) -> str:
    """What changes when a file is written or replaced, even at the same size."""
    return f"{st.st_ino}:{st.st_mtime_ns}:{st.st_ctime_ns}:{st.st_size}"


def stored(state: StreamState, name: str) -> tuple[int, int, str | None, str | None]:
    """(bytes, lines, digest, signature) stored for a file; older batches stored only the
    first two (their position is trusted once, then tied to the content)."""
    entry: list[Any] = list(state.files.get(name, [0, 0]))
    entry += [None] * (4 - len(entry))
    return int(entry[0]), int(entry[1]), entry[2], entry[3]


def file_lag(folder: LandingFolder, state: StreamState) -> dict[str, tuple[int, int]]:
    """Files that changed since their stored position (grew, shrank, or were rewritten
    under the same size): name -> (stored bytes, size)."""
    out = {}
    for found in order_files(folder):
        start, _, _, sig = stored(state, found.rel)
        if found.size != start or (sig is not None and sig != found.signature):
            out[found.rel] = (start, found.size)
    return out


def read_files(
    folder: LandingFolder, state: StreamState, max_records: int
) -> Iterable[RawRecord]:
    """Complete new lines of every order file after its stored position; advances `state`.

    A file whose consumed prefix no longer hashes the same (or that shrank) was replaced:
    it is read again from the start (dedup on `order_id` makes the repeat harmless). On a
    bucket a changed file is read from a local copy (`LandingFolder.local_copy`).
    """
    count, limit = 0, max_line_bytes()
    for found in order_files(folder):
        start, lines, digest, sig = stored(state, found.rel)
        if found.size == start and found.signature == sig:
            continue
        with folder.local_copy(found.rel) as path, open(path, "rb") as fh:
            size = min(found.size, os.fstat(fh.fileno()).st_size)  # the bytes this look saw
            hasher, pos, lines = _resume(fh, start, lines, digest)
            try:
                for raw in bounded_lines(fh, limit, lines + 1):
                    length = raw.size if isinstance(raw, TooLong) else len(raw)
                    done = raw.complete if isinstance(raw, TooLong) else raw.endswith(b"\n")
                    if not done or pos + length > size:
                        break  # still being written: the next batch reads it
                    record = _record(fh, hasher, raw, pos, found.rel, lines + 1, limit)
                    pos += length
                    lines += 1
                    if record is not None:
                        yield record
                        count += 1
                        if count >= max_records:
                            return
            finally:  # the position after the last line handed out, tied to its bytes
                state.files[found.rel] = [pos, lines, hasher.hexdigest(), found.signature]


def _record(fh: IO[bytes], hasher: Any, raw: bytes | TooLong, pos: int, name: str,
            line: int, limit: int) -> RawRecord | None:
    """The record of one complete line at `pos` (None for a blank line), its bytes added to
    the prefix digest. A line over `limit` is hashed again from the file in chunks (it was
    read through, never held) and becomes a record rejected with that reason."""
    if isinstance(raw, TooLong):
        after = fh.tell()
        fh.seek(pos)
        left = raw.size
        while left > 0 and (chunk := fh.read(min(CHUNK, left))):
            hasher.update(chunk)
            left -= len(chunk)
        fh.seek(after)
        return RawRecord(raw.head, name, line, too_long=raw.reason(limit))
    hasher.update(raw)
    value = _without_bom(raw) if pos == 0 else raw
    return RawRecord(value, name, line) if value.strip() else None


def _without_bom(first_line: bytes) -> bytes:
    """A file's first line without the UTF-8 byte-order mark some editors put there."""
    return first_line.removeprefix(codecs.BOM_UTF8)


def _resume(
    fh: IO[bytes], start: int, lines: int, digest: str | None
) -> tuple[Any, int, int]:
    """(hasher over the prefix, position, lines) to continue from: the stored position when
    the file's first `start` bytes still hash to `digest` (or no digest was stored), else
    the start of the file. Leaves `fh` at the returned position."""
    hasher = hashlib.sha256()
    left = start
    while left > 0 and (chunk := fh.read(min(CHUNK, left))):
        hasher.update(chunk)
        left -= len(chunk)
    if left == 0 and (digest is None or hasher.hexdigest() == digest):
        return hasher, start, lines
    fh.seek(0)
    return hashlib.sha256(), 0, 0
