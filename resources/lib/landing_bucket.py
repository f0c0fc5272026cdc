"""The landing mechanism on a bucket: the same contract as a local folder
(`resources.lib.landing`), with what an object store changes (docs/storage.md).

- readiness: an object exists only once its upload completed (PUT and multipart completion
  are atomic), so there is no settle wait; hidden, private and temporary names are still
  ignored;
- identity: the key relative to the folder plus the SHA-256 of its bytes, hashed once when
  a look first sees the object under its (size, Last-Modified) signature; an object replaced
  within the same second as its listing is hashed again on the next look (the `racy` rule
  with a bucket's whole-second clock). ETags are not used: a multipart upload's ETag depends
  on its part size, so the same bytes can carry two ETags;
- cost: one listing of the prefix per look (a LIST call per 1,000 objects), no GET unless
  an object is new or changed; hashing is bounded by the look's budget as on a local disk;
- move-aside: copy to `_rejected/<rel>`, a `<name>.reason.txt` object beside it, then
  delete the original.

The naming rules (`final`, the temporary endings, `_rejected/`) are defined here once and
used by the local folder too.
"""

from __future__ import annotations

import hashlib
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING

from resources.lib.storage import CHUNK, Entry, Location

if TYPE_CHECKING:
    from resources.lib.landing_index import LandingIndex

REJECTED = "_rejected"
REASON_SUFFIX = ".reason.txt"
TEMP_SUFFIXES = (".part", ".tmp", ".partial", ".crdownload", ".filepart", ".download")
NOT_FINAL = (*TEMP_SUFFIXES, REASON_SUFFIX)  # endings of names that are not final


def final(rel: str, depth: int) -> bool:
    """Whether `rel` is a file the folder offers: `depth` folders deep at most, no part of
    its path hidden or private (`.x`, `_rejected`), no temporary ending."""
    parts = rel.split("/")
    return (len(parts) <= depth + 1 and all(p[:1] not in "._" for p in parts if p)
            and not rel.endswith(NOT_FINAL))


def entries(location: Location, depth: int) -> dict[str, Entry]:
    """rel -> listing entry of every final name under the folder (one listing)."""
    return {e.rel: e for e in location.list() if final(e.rel, depth)}


def look(location: Location, depth: int, index: LandingIndex, now: int,
         budget: float) -> tuple[int, list[tuple], int]:
    """List the prefix once; hash the objects whose signature is new (within `budget`
    seconds, at least one); record them and forget the objects gone: (objects listed, rows
    recorded, objects left for the next look)."""
    found = entries(location, depth)
    known = index.signatures()
    moved = [e for rel, e in sorted(found.items()) if known.get(rel, False) != _signature(e)]
    old = index.hashes(e.rel for e in moved)
    hashed, deadline = [], time.monotonic() + budget
    for n, entry in enumerate(moved):
        if hashed and time.monotonic() > deadline:
            return len(found), _record(index, hashed, known, found), len(moved) - n
        try:
            digest = location.sha256(entry.rel)
        except FileNotFoundError:  # deleted since the listing
            continue
        hashed.append((entry.rel, _signature(entry), digest, now, old.get(entry.rel) != digest))
    return len(found), _record(index, hashed, known, found), 0


def _record(index: LandingIndex, hashed: list[tuple], known: dict, found: dict) -> list[tuple]:
    index.record(hashed, gone=[rel for rel in known if rel not in found])
    return hashed


def _signature(entry: Entry) -> tuple[int, int, int, int]:
    return (entry.size, entry.mtime_ns, 0, 0)


def unready(location: Location, depth: int, index: LandingIndex,
            rels: list[str]) -> dict[str, str]:
    """rel -> why it must not be read now: missing, or replaced since it was hashed."""
    found = entries(location, depth)
    known = index.signatures()  # None: hashed within the upload's second (racy)
    why = {}
    for rel in rels:
        if rel not in found:
            why[rel] = "missing"
        elif rel in known and known[rel] is None:
            why[rel] = "hashed within a second of its upload (hashed again on a coming look)"
        elif known.get(rel) != _signature(found[rel]):
            why[rel] = "changed since it was hashed (hashed again on a coming look)"
    return why


def reason_text(reason: str, key: str, rel: str) -> str:
    """What `<name>.reason.txt` holds: the reason (which names the file), where from, when."""
    stamp = datetime.now(UTC).isoformat(timespec="seconds")
    return f"{reason}\nmoved aside from landing/{key}/{rel} at {stamp}\n"


def reject(location: Location, rel: str, reason: str, key: str) -> str:
    """Copy `rel` to `_rejected/<rel>` with its reason beside it, then delete it; returns
    the URI it was moved to."""
    target = f"{REJECTED}/{rel}"
    location.move(rel, target)
    location.write_bytes(target + REASON_SUFFIX, reason_text(reason, key, rel).encode())
    return location.uri(target)


class ContentChanged(OSError):
    """The object's bytes are not the ones the sensor saw (replaced since)."""


@contextmanager
def downloaded(location: Location, rel: str, sha256: str | None = None) -> Iterator[Path]:
    """`rel` copied to a temporary file on this disk (one GET, streamed), for readers that
    take a path (DuckDB, the csv module); checked against `sha256` when given. Removed
    after the block."""
    with tempfile.TemporaryDirectory(prefix="landed-") as folder:
        target = Path(folder) / Path(rel).name
        digest = hashlib.sha256()
        with location.fs.open_input_stream(location.path(rel)) as stream, \
                target.open("wb") as out:
            while chunk := stream.read(CHUNK):
                digest.update(chunk)
                out.write(chunk)
        if sha256 and digest.hexdigest() != sha256:
            raise ContentChanged(f"{location.uri(rel)}: its content changed since it was "
                                 f"seen (sha256 {digest.hexdigest()[:12]}, expected "
                                 f"{sha256[:12]})")
        yield target
