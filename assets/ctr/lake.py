"""The views lake: landing files -> Parquet under `lake/ctr/views/platform=P/date=D/`, once.

Layout (hive-style, readable by DuckDB/Polars/pyarrow datasets):

    lake/ctr/views/platform=<P>/date=<YYYY-MM-DD>/<source file name>.parquet
    lake/ctr/views/_ledger/<P>/<source file name>.json      # one manifest per source file

A source file is parsed once per content: its manifest holds the sha256 of the bytes it was
parsed from; the same name with the same content is a no-op, new content replaces that
file's parts (and its stale dates are listed in `dates_touched` so their rollups redo).
The manifest is written last (atomic rename), so it is the commit point of an ingest.

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
from pathlib import Path
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
from resources.lib.files import atomic_write, atomic_write_text, file_sha256


def platform_of(rel: str) -> str | None:
    """The platform of a landed file `<Platform>/<name>` (folder matched ignoring case);
    None for a file outside a known platform folder (reported, never deleted)."""
    folder, _, name = rel.partition("/")
    return canonical_platform(folder) if name and "/" not in name else None


def source_name(path: Path, platform: str) -> str:
    """The file's id within its platform: its name, prefixed by its folder when the folder is
    spelled differently (`ios/a.json` and `iOS/a.json` are two files of platform iOS)."""
    return path.name if path.parent.name == platform else f"{path.parent.name}__{path.name}"


def file_id(path: Path, platform: str) -> str:
    """`<platform>/<source name>`: how the lake's ledger and the sensor name a file."""
    return f"{platform}/{source_name(path, platform)}"


def views_root(lake: Path) -> Path:
    return lake / "views"


def part_path(lake: Path, platform: str, date: str, source_name: str) -> Path:
    return views_root(lake) / f"platform={platform}" / f"date={date}" / f"{source_name}.parquet"


def partition_files(lake: Path, platform: str, date: str) -> list[str]:
    folder = views_root(lake) / f"platform={platform}" / f"date={date}"
    return sorted(str(p) for p in folder.glob("*.parquet")) if folder.exists() else []


def ledger_path(lake: Path, platform: str, source_name: str) -> Path:
    return views_root(lake) / "_ledger" / platform / f"{source_name}.json"


def rejected_path(lake: Path, platform: str, source_name: str) -> Path:
    """The file's unusable batches/events (batch_no, reason, detail), kept beside its manifest
    so the warehouse tables can always be (re)loaded from the lake."""
    return views_root(lake) / "_ledger" / platform / f"{source_name}.rejected.parquet"


# An array file without its closing ']' is left for its writer this long after its last
# change; then it is moved aside as unfinished.
UNFINISHED_SECONDS = 600


def unfinished_path(lake: Path, platform: str, source_name: str) -> Path:
    return views_root(lake) / "_unfinished" / platform / f"{source_name}.json"


def unfinished_state(lake: Path, platform: str, name: str, sha256: str, landed: Path) -> str | None:
    """None unless an ingest found this content of the file unfinished; then 'waiting' while
    the file was written less than UNFINISHED_SECONDS ago, 'expired' after that."""
    path = unfinished_path(lake, platform, name)
    if not path.exists() or json.loads(path.read_text())["sha256"] != sha256:
        return None
    try:
        age_ns = time.time_ns() - landed.stat().st_mtime_ns
    except FileNotFoundError:
        return None
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


def read_manifest(lake: Path, platform: str, name: str) -> dict[str, Any] | None:
    """One file's manifest (None when the file was never ingested)."""
    path = ledger_path(lake, platform, name)
    return json.loads(path.read_text()) if path.exists() else None


def read_ledger(lake: Path) -> dict[str, dict[str, Any]]:
    """Every manifest, keyed `<platform>/<file name>`."""
    out: dict[str, dict[str, Any]] = {}
    root = views_root(lake) / "_ledger"
    if root.exists():
        for f in sorted(root.glob("*/*.json")):
            m = json.loads(f.read_text())
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


# (landed file, lake, platform, source name) -> what it parsed; writes the file's view parts
Parser = Callable[[Path, Path, str, str], Parsed]


def parse_embedded(path: Path, lake: Path, platform: str, name: str) -> ParsedViews:
    """Parse in this process (Polars, or the tolerant parser; a file over
    `LANDING_MAX_LINE_BYTES` a block at a time) and write one part per date."""
    parsed = parse_view_file(path)
    for (day,), frame in parsed.views.partition_by("date", as_dict=True).items():
        atomic_write(
            part_path(lake, platform, str(day), name),
            lambda tmp, frame=frame: frame.drop("date").write_parquet(tmp, statistics=True),
        )
    return parsed


def _parse_new(
    path: Path, lake: Path, platform: str, name: str, parse: Parser, original: str | None,
    sha: str,
) -> Parsed:
    """New content of a file: a duplicate of `original` (no views), or parsed into the lake;
    an unfinished array leaves its marker (hash, mtime) for the sensor before re-raising."""
    if original is not None:
        return duplicate(original, sha)
    try:
        return parse(path, lake, platform, name)
    except UnfinishedArrayError:
        mark = {"sha256": sha, "mtime_ns": path.stat().st_mtime_ns}
        atomic_write_text(unfinished_path(lake, platform, name), json.dumps(mark))
        raise


def ingest_file(
    path: Path, platform: str, lake: Path, parse: Parser = parse_embedded,
    originals: dict[str, str] | None = None, force: bool = False,
) -> tuple[dict[str, Any], Parsed | None]:
    """Parse one landing file into the lake unless this content is already there (as this
    file, or as another one of `originals`: then it is recorded as a duplicate). `force`
    reads it again even when its manifest shows this content.

    Returns (manifest, parsed) — parsed is None when the file was unchanged.
    Raises `NotJsonError` for a file that is not JSON at all (nothing is written), and
    `UnfinishedArrayError` (after leaving the unfinished marker) for an array without `]`.
    """
    name = source_name(path, platform)
    mpath = ledger_path(lake, platform, name)
    old = read_manifest(lake, platform, name)
    st = path.stat()
    if not force and old and (old.get("size_bytes"), old.get("mtime_ns")) == (
        st.st_size, st.st_mtime_ns
    ):
        return old, None  # same file as last time: not even read again
    sha = file_sha256(path)
    if not force and old and old["sha256"] == sha:  # touched: remember the new mtime
        old.update(size_bytes=st.st_size, mtime_ns=st.st_mtime_ns)
        atomic_write_text(mpath, json.dumps(old, indent=1))
        return old, None
    fid = f"{platform}/{name}"
    original = (originals or {}).get(sha)
    original = original if original != fid else None
    parsed = _parse_new(path, lake, platform, name, parse, original, sha)
    new_dates = parsed.dates
    old_dates = old["dates"] if old else []
    for day in set(old_dates) - set(new_dates):
        part_path(lake, platform, day, name).unlink(missing_ok=True)
    atomic_write(rejected_path(lake, platform, name), parsed.rejected.write_parquet)
    manifest = {
        "platform": platform,
        "file": name,
        "sha256": sha,
        "size_bytes": st.st_size,
        "mtime_ns": st.st_mtime_ns,
        "dates": new_dates,
        "dates_touched": sorted(set(old_dates) | set(new_dates)),
        "batches": parsed.batches,
        "events": parsed.events,
        "views": parsed.view_count,
        "rejected_rows": parsed.rejected.height,
        "malformed_batches": parsed.malformed_batches,
        "other_events": parsed.other_events,
        "parser": parsed.parser,
        "rel": f"{path.parent.name}/{path.name}",
        "duplicate_of": original,
        "ingested_at": datetime.now(UTC).isoformat(timespec="seconds"),
    }
    atomic_write_text(mpath, json.dumps(manifest, indent=1))
    unfinished_path(lake, platform, name).unlink(missing_ok=True)
    if originals is not None and original is None:
        originals[sha] = fid
    return manifest, parsed
