"""The views lake: landing files -> Parquet under `lake/ctr/views/platform=P/date=D/`, once.

Layout (hive-style, readable by DuckDB/Polars/pyarrow datasets):

    lake/ctr/views/platform=<P>/date=<YYYY-MM-DD>/<source file name>.parquet
    lake/ctr/views/_ledger/<P>/<source file name>.json      # one manifest per source file

A source file is parsed once per content: its manifest holds the sha256 of the bytes it was
parsed from; the same name with the same content is a no-op, new content replaces that
file's parts (and its stale dates are listed in `dates_touched` so their rollups redo).
The manifest is written last (atomically: a rename here, one upload on a bucket), so it is
the commit point of an ingest. Every file of it is read and written through the ctr lake's
`Location` (`PlatformPaths.lake_location("ctr")`: this disk, or LAKE_URL's bucket).

Content is counted once: a file whose bytes are those of another file already in the lake
gets a manifest with `duplicate_of`, no views and one rejected row "same content as
<file>". An array file that stops before its closing `]` leaves a marker
(`_unfinished/<P>/<name>.json`: its hash and mtime) so the sensor waits for its writer
instead of asking again every tick (UNFINISHED_SECONDS, docs/ctr.md).
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path, PurePath, PurePosixPath
from typing import Any, Protocol

import polars as pl

from assets.ctr.serving import canonical_platform
from assets.ctr.views_blocks import parse_view_file
from assets.ctr.views_parse import (
    REJECTED_COLUMNS,
    VIEW_COLUMNS,
    ParsedViews,
    UnfinishedArrayError,
)
from resources.lib.files import file_sha256
from resources.lib.landing import LandingFolder
from resources.lib.storage import Entry, Location, StoreUnavailable


def platform_of(rel: str) -> str | None:
    """The platform of a landed file `<Platform>/<name>` (folder matched ignoring case);
    None for a file outside a known platform folder (reported, never deleted)."""
    folder, _, name = rel.partition("/")
    return canonical_platform(folder) if name and "/" not in name else None


def source_name(path: PurePath, platform: str) -> str:
    """The file's id within its platform: its name, prefixed by its folder when the folder is
    spelled differently (`ios/a.json` and `iOS/a.json` are two files of platform iOS)."""
    return path.name if path.parent.name == platform else f"{path.parent.name}__{path.name}"


def file_id(path: PurePath, platform: str) -> str:
    """`<platform>/<source name>`: how the lake's ledger and the sensor name a file."""
    return f"{platform}/{source_name(path, platform)}"


VIEWS = "views"  # the views lake, under the ctr lake location


def part_rel(platform: str, date: str, source_name: str) -> str:
    """One file's part of one date, relative to the ctr lake."""
    return f"{partition_rel(platform, date)}/{source_name}.parquet"


def partition_rel(platform: str, date: str) -> str:
    return f"{VIEWS}/platform={platform}/date={date}"


def partition_files(lake: Location, platform: str, date: str) -> list[str]:
    """The parts of one (platform, date) slice, relative to the ctr lake (one listing)."""
    folder = partition_rel(platform, date)
    return [f"{folder}/{e.rel}" for e in lake.child(folder).list(recursive=False)
            if e.rel.endswith(".parquet") and e.rel[0] not in "._"]


def ledger_rel(platform: str, source_name: str) -> str:
    return f"{VIEWS}/_ledger/{platform}/{source_name}.json"


def rejected_rel(platform: str, source_name: str) -> str:
    """The file's unusable batches/events (batch_no, reason, detail), kept beside its manifest
    so the warehouse tables can always be (re)loaded from the lake."""
    return f"{VIEWS}/_ledger/{platform}/{source_name}.rejected.parquet"


# An array file without its closing ']' is left for its writer this long after its last
# change; then it is moved aside as unfinished.
UNFINISHED_SECONDS = 600


def unfinished_rel(platform: str, source_name: str) -> str:
    return f"{VIEWS}/_unfinished/{platform}/{source_name}.json"


def read_json(lake: Location, rel: str) -> dict[str, Any] | None:
    """A JSON file of the lake (None when there is none); a store that cannot be reached
    raises `StoreUnavailable`."""
    try:
        return json.loads(lake.read_bytes(rel))
    except FileNotFoundError:
        return None
    except OSError as exc:
        if lake.is_local:
            raise
        raise StoreUnavailable(f"reading {lake.describe(rel)} failed: {exc}") from exc


def landed_entry(folder: LandingFolder, rel: str) -> Entry | None:
    """Size and mtime of a landed file (None when it is gone): a stat here, a HEAD on a
    bucket."""
    return folder.location.info(rel)


def unfinished_state(lake: Location, folder: LandingFolder, rel: str, platform: str,
                     name: str, sha256: str) -> str | None:
    """None unless an ingest found this content of the file unfinished; then 'waiting' while
    the file was written less than UNFINISHED_SECONDS ago, 'expired' after that."""
    mark = read_json(lake, unfinished_rel(platform, name))
    if mark is None or mark["sha256"] != sha256:
        return None
    entry = landed_entry(folder, rel)
    if entry is None:
        return None
    age_ns = time.time_ns() - entry.mtime_ns
    return "waiting" if age_ns < UNFINISHED_SECONDS * 1e9 else "expired"


def original_files(ledger: dict[str, dict[str, Any]]) -> dict[str, str]:
    """content hash -> the file (`<platform>/<name>`) whose views the lake holds for it."""
    return {m["sha256"]: key for key, m in sorted(ledger.items()) if not m.get("duplicate_of")}


def duplicate(original: str, sha256: str) -> ParsedViews:
    """What a file with the same bytes as `original` contributes: no view, one reason."""
    rejected = pl.DataFrame(
        [(None, f"same content as {original}", f"sha256 {sha256}: counted once, as {original}")],
        schema=REJECTED_COLUMNS, orient="row",
    )
    return ParsedViews(pl.DataFrame(schema=VIEW_COLUMNS), rejected, parser="duplicate")


def read_manifest(lake: Location, platform: str, name: str) -> dict[str, Any] | None:
    """One file's manifest (None when the file was never ingested)."""
    return read_json(lake, ledger_rel(platform, name))


def read_ledger(lake: Location) -> dict[str, dict[str, Any]]:
    """Every manifest, keyed `<platform>/<file name>` (one listing, then one read each)."""
    out: dict[str, dict[str, Any]] = {}
    ledger = f"{VIEWS}/_ledger"
    for entry in lake.child(ledger).list():
        platform, _, name = entry.rel.partition("/")
        if "/" in name or not name.endswith(".json") or name[0] in "._":
            continue
        m = read_json(lake, f"{ledger}/{entry.rel}")
        if m is not None:
            out[f"{m['platform']}/{m['file']}"] = m
    return out


class Parsed(Protocol):
    """What a parser made of one file (its view parts are already in the lake)."""

    dates: list[str]
    view_count: int
    rejected: pl.DataFrame
    batches: int
    events: int
    malformed_batches: int
    other_events: dict[str, int]
    parser: str


# (landed file on this disk, ctr lake, platform, source name) -> what it parsed; writes the
# file's view parts
Parser = Callable[[Path, Location, str, str], Parsed]


def parse_embedded(path: Path, lake: Location, platform: str, name: str) -> ParsedViews:
    """Parse in this process (Polars, or the tolerant parser; a file over
    `LANDING_MAX_LINE_BYTES` a block at a time) and write one part per date."""
    parsed = parse_view_file(path)
    for (day,), frame in parsed.views.partition_by("date", as_dict=True).items():
        lake.write(
            part_rel(platform, str(day), name),
            lambda tmp, frame=frame: frame.drop("date").write_parquet(tmp, statistics=True),
        )
    return parsed


def _parse_new(
    path: Path, lake: Location, platform: str, name: str, parse: Parser,
    original: str | None, sha: str, mtime_ns: int,
) -> Parsed:
    """New content of a file: a duplicate of `original` (no views), or parsed into the lake;
    an unfinished array leaves its marker (hash, mtime) for the sensor before re-raising."""
    if original is not None:
        return duplicate(original, sha)
    try:
        return parse(path, lake, platform, name)
    except UnfinishedArrayError:
        mark = {"sha256": sha, "mtime_ns": mtime_ns}
        lake.write_bytes(unfinished_rel(platform, name), json.dumps(mark).encode())
        raise


def _write_json(lake: Location, rel: str, data: dict[str, Any]) -> None:
    lake.write_bytes(rel, json.dumps(data, indent=1).encode())


def ingest_file(
    folder: LandingFolder, rel: str, platform: str, lake: Location,
    parse: Parser = parse_embedded, originals: dict[str, str] | None = None,
    force: bool = False,
) -> tuple[dict[str, Any], Parsed | None]:
    """Parse one landed file (`rel` in `folder`) into the ctr lake unless this content is
    already there (as this file, or as another one of `originals`: then it is recorded as a
    duplicate). `force` reads it again even when its manifest shows this content.

    Returns (manifest, parsed) — parsed is None when the file was unchanged.
    Raises `FileNotFoundError` when the file is gone, `NotJsonError` for a file that is not
    JSON at all (nothing is written), and `UnfinishedArrayError` (after leaving the
    unfinished marker) for an array without `]`.
    """
    name = source_name(PurePosixPath(rel), platform)
    old = read_manifest(lake, platform, name)
    entry = landed_entry(folder, rel)
    if entry is None:
        raise FileNotFoundError(rel)
    signature = (entry.size, entry.mtime_ns)
    if not force and old and (old.get("size_bytes"), old.get("mtime_ns")) == signature:
        return old, None  # same file as last time: not even read again
    with folder.local_copy(rel) as path:  # on a bucket: downloaded once, hashed, parsed
        sha = file_sha256(path)
        if not force and old and old["sha256"] == sha:  # touched: remember the new mtime
            old.update(size_bytes=entry.size, mtime_ns=entry.mtime_ns)
            _write_json(lake, ledger_rel(platform, name), old)
            return old, None
        fid = f"{platform}/{name}"
        original = (originals or {}).get(sha)
        original = original if original != fid else None
        parsed = _parse_new(path, lake, platform, name, parse, original, sha, entry.mtime_ns)
    old_dates = old["dates"] if old else []
    for day in set(old_dates) - set(parsed.dates):
        lake.delete(part_rel(platform, day, name))
    lake.write(rejected_rel(platform, name), parsed.rejected.write_parquet)
    manifest = _manifest(platform, name, rel, sha, entry, old_dates, parsed, original)
    _write_json(lake, ledger_rel(platform, name), manifest)  # the commit point
    lake.delete(unfinished_rel(platform, name))
    if originals is not None and original is None:
        originals[sha] = fid
    return manifest, parsed


def _manifest(platform: str, name: str, rel: str, sha: str, entry: Entry,
              old_dates: list[str], parsed: Parsed, original: str | None) -> dict[str, Any]:
    """What the ledger keeps of one ingested file."""
    return {
        "platform": platform,
        "file": name,
        "sha256": sha,
        "size_bytes": entry.size,
        "mtime_ns": entry.mtime_ns,
        "dates": parsed.dates,
        "dates_touched": sorted(set(old_dates) | set(parsed.dates)),
        "batches": parsed.batches,
        "events": parsed.events,
        "views": parsed.view_count,
        "rejected_rows": parsed.rejected.height,
        "malformed_batches": parsed.malformed_batches,
        "other_events": parsed.other_events,
        "parser": parsed.parser,
        "rel": rel,
        "duplicate_of": original,
        "ingested_at": datetime.now(UTC).isoformat(timespec="seconds"),
    }
