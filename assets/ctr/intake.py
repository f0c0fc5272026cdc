"""Taking landed view files into the lake, one file at a time, whatever is wrong with one.

Used by the `ctr/view_events` asset. Per file: parsed into the lake (`lake.ingest_file`),
recorded as a duplicate of a file with the same bytes, left in place while it looks
unfinished (an array without its closing `]`, written less than UNFINISHED_SECONDS ago),
or moved aside with its reason (not JSON; unfinished and unchanged for that long). A file
recorded as a duplicate whose original has changed since is loaded on its own, so its
views are never lost.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from pathlib import PurePath
from typing import Any

import dagster as dg

from assets.ctr.lake import (
    UNFINISHED_SECONDS,
    Parser,
    file_id,
    ingest_file,
    landed_entry,
    original_files,
    parse_embedded,
    platform_of,
    read_ledger,
    source_name,
    unfinished_rel,
)
from assets.ctr.views_parse import NotJsonError, UnfinishedArrayError
from resources.lib.landing import LandingFolder
from resources.lib.storage import Location


@dataclass
class Ingested:
    """What one ingest did: manifests of the files parsed now, files already in the lake,
    files outside a platform folder, bad files moved aside (with their reason), files left
    in place because they look unfinished."""

    loaded: list[dict[str, Any]] = field(default_factory=list)
    unchanged: int = 0
    ignored: int = 0
    bad: list[str] = field(default_factory=list)
    unfinished: list[str] = field(default_factory=list)


@dataclass
class Intake:
    """One ingest's surroundings: where files land, the lake, the parser, the log."""

    context: dg.AssetExecutionContext
    folder: LandingFolder
    lake: Location
    parse: Parser
    done: Ingested = field(default_factory=Ingested)

    def one(self, rel: str, path: PurePath, platform: str, originals: dict[str, str],
            force: bool = False) -> None:
        """Take one file in; its failure is recorded and never stops the others."""
        try:
            manifest, parsed = ingest_file(self.folder, rel, platform, self.lake, self.parse,
                                           originals, force)
        except UnfinishedArrayError as exc:
            self.unfinished(rel, path, platform, exc)
            return
        except NotJsonError as exc:
            self.reject(rel, path, str(exc))
            return
        if parsed is None:
            self.done.unchanged += 1
            return
        self.context.log.info(
            f"{file_id(path, platform)}: {manifest['views']} views on {manifest['dates']}, "
            f"{manifest['rejected_rows']} rejected, parser={manifest['parser']}"
            + (f", same content as {manifest['duplicate_of']}" if manifest["duplicate_of"]
               else "")
        )
        self.done.loaded.append(manifest)

    def unfinished(self, rel: str, path: PurePath, platform: str, exc: Exception) -> None:
        """Leave a young unfinished array for its writer; move an old one aside."""
        entry = landed_entry(self.folder, rel)
        if entry is None:
            return
        age = time.time() - entry.mtime_ns / 1e9
        if age < UNFINISHED_SECONDS:
            self.context.log.warning(
                f"{rel}: {exc}; left in place for its writer: read again when it changes, "
                f"moved aside once unchanged for {UNFINISHED_SECONDS // 60} minutes"
            )
            self.done.unfinished.append(rel)
            return
        self.reject(rel, path, f"{exc}; unchanged for {age / 60:.0f} minutes")
        self.lake.delete(unfinished_rel(platform, source_name(path, platform)))

    def reject(self, rel: str, path: PurePath, why: str) -> None:
        target = self.folder.reject(path, f"{rel}: {why}")  # type: ignore[arg-type]
        self.context.log.error(f"{rel}: {why}; moved to {target}")
        self.done.bad.append(f"{rel}: {why}")

    def orphaned_duplicates(self, present: dict[str, PurePath]) -> None:
        """Load on their own the files recorded as duplicates whose content no file of the
        lake holds any more (the original changed since)."""
        ledger = read_ledger(self.lake)
        originals = original_files(ledger)
        for key, m in ledger.items():
            path = present.get(m.get("rel") or "")
            if m.get("duplicate_of") and m["sha256"] not in originals and path is not None:
                self.context.log.info(f"{key}: {m['duplicate_of']} changed; loaded on its own")
                self.one(m["rel"], path, m["platform"], originals, force=True)


def ingest(
    context: dg.AssetExecutionContext, folder: LandingFolder, lake: Location, only: list[str],
    parse: Parser = parse_embedded,
) -> Ingested:
    """Parse the landed files (all, or `only`) into the ctr lake with `parse`."""
    intake = Intake(context, folder, lake, parse)
    present = dict(folder.present())
    originals = original_files(read_ledger(lake))
    for rel in sorted(set(only) - set(present)):
        context.log.warning(f"{rel}: not in {folder.location.describe()} any more; skipped")
    for rel, path in present.items():
        platform = platform_of(rel)
        if only and rel not in only:
            continue
        if platform is None:
            context.log.warning(f"ignored {rel}: not in a platform folder (iOS/Android/MobileWeb)")
            intake.done.ignored += 1
            continue
        intake.one(rel, path, platform, originals)
    if intake.done.loaded:
        intake.orphaned_duplicates(present)
    return intake.done
