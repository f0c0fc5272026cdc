"""The landing mechanism: how every file-driven pipeline sees the files dropped for it.

Producers drop files into `landing/<folder>/` (product views one level deeper, a folder per
platform). For every such folder this module is the one place that decides:

- **readiness**: a file counts only under its final name (no `.`/`_` prefix, no temporary
  suffix such as `.part` or `.tmp`; a symbolic link only when it points inside the folder),
  and a sensor acts on it only once nobody has written it for `settle_seconds`: its mtime
  is that far in the past of this machine's clock, or its stat signature has not changed
  between looks that far apart by this machine's clock (a producer's clock running ahead
  cannot hold its files);
- **identity**: a file is its path relative to the folder plus the SHA-256 of its bytes, so
  the same content twice is one file and new bytes under an old name are a new one;
- **move-aside**: a file that cannot be loaded goes to `_rejected/` (same relative path)
  with `<name>.reason.txt` beside it;
- **lineage**: `run_tags()` names the file(s) (and a single file's hash) on every run they
  cause.

Cost. Files stay where they landed (a sync tool may mirror the folder). An index
(`state/landing.sqlite`, see `landing_index`) remembers each file's stat signature (size,
mtime, ctime, inode), the hash computed under it and a sequence number that moves whenever
the file's content changes; a sensor keeps one number, the last sequence it acted on.
`changes(after)` first stats the folder's directories: while none changed (no file added,
removed or renamed) since the last full look and no file was still being written then, the
files themselves are not even stat'ed. Otherwise, and at least every `sweep_seconds` (a
file rewritten in place leaves its directory unchanged), every file is stat'ed and only the
files whose signature changed are opened and hashed. So an idle tick reads no file, its
cost does not grow with history, and neither does the cursor. A look hashes for at most
`HASH_BUDGET_SECONDS` (at least one file): a backlog (a 1 TB backfill dropped at once) is
taken up over several ticks, each well inside Dagster's 60 s limit for a sensor tick.
"""

from __future__ import annotations

import os
import shutil
import stat
import time
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

from resources.lib import landing_bucket as bucket
from resources.lib.files import atomic_write_text, file_sha256, named_when_full
from resources.lib.landing_bucket import REASON_SUFFIX, REJECTED, TEMP_SUFFIXES
from resources.lib.landing_index import RACY_BUCKET_NS, RACY_NS, LandingIndex
from resources.lib.storage import Location

DEFAULT_SETTLE_SECONDS = 5.0
DEFAULT_SWEEP_SECONDS = 60.0
HASH_BUDGET_SECONDS = 20.0  # per look; the rest waits for the next tick (~1 GB/s hashed)
__all__ = ["REASON_SUFFIX", "REJECTED", "TEMP_SUFFIXES", "Landed", "LandingFolder", "run_tags"]


@dataclass(frozen=True)
class Landed:
    """One ready file: where it is, what its bytes hash to, when the index last saw it change."""

    rel: str  # path relative to the landing folder, '/'-separated
    path: Path  # on a bucket, the object's key (a PurePosixPath: `.name` only)
    size: int
    sha256: str
    seq: int

    @property
    def name(self) -> str:
        return self.path.name

    def tags(self) -> dict[str, str]:
        """Run tags that tie a run to the file it was made for."""
        return {"landing/file": self.rel[:200], "landing/sha256": self.sha256[:16]}


def run_tags(files: list[Landed]) -> dict[str, str]:
    """Run tags that tie a run to the file(s) it was made for (first .. last when many)."""
    if len(files) == 1:
        return files[0].tags()
    return {"landing/files": f"{len(files)} files: {files[0].rel} .. {files[-1].rel}"[:200]}


@dataclass(frozen=True)
class Changes:
    """What `changes(after)` found: files whose content is new since `after`, the sequence
    to remember, and what the look cost."""

    files: list[Landed]
    seq: int
    stated: int  # files stat'ed
    hashed: int  # files opened and hashed
    bytes_hashed: int
    unsettled: int  # files still being written (looked at again next time)




class LandingFolder:
    """`landing/<folder>/`, its readiness rules and its index (see the module docstring)."""

    def __init__(
        self, where: Path | Location, index: Path,
        settle_seconds: float = DEFAULT_SETTLE_SECONDS, depth: int = 0,
        sweep_seconds: float = DEFAULT_SWEEP_SECONDS, hash_budget: float = HASH_BUDGET_SECONDS,
    ) -> None:
        self.location = where if isinstance(where, Location) else Location(where)
        self.on_bucket = not self.location.is_local
        self.path = (PurePosixPath(self.location.root) if self.on_bucket  # type: ignore[assignment]
                     else Path(where if isinstance(where, Path) else self.location.root))
        self.key = self.path.name
        self.index = LandingIndex(index, self.key, RACY_BUCKET_NS if self.on_bucket else RACY_NS)
        self.settle_ns = int(settle_seconds * 1e9)
        self.sweep_ns = int(sweep_seconds * 1e9)
        self.depth = depth
        self.hash_budget = hash_budget

    # -- readiness ------------------------------------------------------------------------

    def _listing(self) -> list[tuple[str, str, int]]:
        """(rel, path, inode) of every file under a final name, `depth` folders deep. One
        `scandir` per folder; names, types and inodes come with it, so no file is stat'ed."""
        found: list[tuple[str, str, int]] = []
        folders: list[tuple[str, str]] = [("", str(self.path))]
        for level in range(self.depth + 1):
            deeper: list[tuple[str, str]] = []
            for prefix, folder in folders:
                try:
                    entries = list(os.scandir(folder))
                except (FileNotFoundError, NotADirectoryError):
                    continue
                for entry in entries:
                    name = entry.name
                    if name[0] in "._" or name.endswith(bucket.NOT_FINAL):
                        continue
                    if entry.is_dir(follow_symlinks=False):
                        if level < self.depth:
                            deeper.append((prefix + name + "/", entry.path))
                    elif not entry.is_symlink() or self.inside(Path(entry.path)):
                        found.append((prefix + name, entry.path, entry.inode()))
            folders = deeper
        return found

    def inside(self, path: Path) -> bool:
        """Whether `path`, every symbolic link on the way resolved, is inside the folder. A
        link leading out of it (to /etc/hostname, say) is never read, not even to explain
        why it cannot be loaded: its bytes would end up in logs and reason files."""
        if self.on_bucket:  # no links on a bucket
            return True
        return path.resolve().is_relative_to(self.path.resolve())

    def settled(self, st: os.stat_result, now_ns: int, seen_ns: int | None = None) -> bool:
        """Nobody has written the file for `settle_seconds`: its mtime is that far in the
        past of this machine's clock (a file that landed long ago is ready at the first
        look), or its signature has not changed since a look `seen_ns` that long ago by
        this machine's clock, whatever its mtime says (a producer's clock ahead of ours
        would otherwise hold its files until our clock catches up)."""
        age = now_ns - st.st_mtime_ns
        if 0 <= age and age >= self.settle_ns:
            return True
        return now_ns - (now_ns if seen_ns is None else seen_ns) >= self.settle_ns

    def ahead(self, st: os.stat_result, now_ns: int) -> float:
        """Seconds the file's mtime is ahead of this machine's clock (0 when it is not)."""
        return max(0.0, (st.st_mtime_ns - now_ns) / 1e9)

    def unready(self, rels: Iterable[str]) -> dict[str, str]:
        """rel -> why that file must not be read now: missing, a link out of the folder,
        written less than `settle_seconds` ago, or not hashed in its current state (the
        index's hash is of other bytes: a rewrite in place the last look did not see yet).
        For a sensor that reads a SET of named files: a file that settled earlier does not
        make a half-written neighbour ready. Stats these files only; reads none."""
        rels = list(rels)
        if self.on_bucket:
            with self.index.open() as index:
                return bucket.unready(self.location, self.depth, index, rels)
        with self.index.open() as index:
            known, waiting = index.hashed_under(rels), index.waiting(rels)
        now, why = time.time_ns(), {}
        for rel in rels:
            path = self.path / rel
            try:
                st = os.stat(path)
            except (FileNotFoundError, NotADirectoryError):
                why[rel] = "missing"
                continue
            signature = (st.st_size, st.st_mtime_ns, st.st_ctime_ns, st.st_ino)
            seen = waiting.get(rel)
            if not self.inside(path):
                why[rel] = "a symbolic link to outside the landing folder (never read)"
            elif known.get(rel) == signature:
                continue  # hashed in this very state, once it had settled
            elif not self.settled(st, now, seen[1] if seen and seen[0] == signature else None):
                why[rel] = self._unsettled_reason(st, now)
            else:
                why[rel] = "changed since it was hashed (hashed again on a coming look)"
        return why

    def _unsettled_reason(self, st: os.stat_result, now: int) -> str:
        settle = f"{self.settle_ns / 1e9:g} s"
        if (ahead := self.ahead(st, now)) > 0:
            return (f"its mtime is {ahead:,.0f} s ahead of this machine's clock (the "
                    f"producer's clock?): read once unchanged for {settle} across looks")
        return f"written less than {settle} ago"

    def present(self) -> list[tuple[str, Path]]:
        """(rel, path) of every file under a final name, sorted by rel. Assets read these
        when a run names no file; waiting for a file to settle is the sensors' decision."""
        if self.on_bucket:
            return [(rel, self.path / rel) for rel in bucket.entries(self.location, self.depth)]
        return sorted((rel, Path(path)) for rel, path, _ in self._listing()
                      if os.path.isfile(path))

    # -- the index --------------------------------------------------------------------------

    def _dirs(self) -> tuple[str, int]:
        """(signature of the folder and its sub-folders, newest directory mtime): a file
        added, removed or renamed changes it; a file rewritten in place does not."""
        parts, newest = [], 0
        folders = [("", str(self.path))]
        for level in range(self.depth + 1):
            deeper = []
            for rel, folder in folders:
                try:
                    st = os.stat(folder)
                    entries = list(os.scandir(folder)) if level < self.depth else []
                except (FileNotFoundError, NotADirectoryError):
                    continue
                parts.append(f"{rel}:{st.st_mtime_ns}:{st.st_ctime_ns}:{st.st_ino}")
                newest = max(newest, st.st_mtime_ns)
                deeper += [(rel + e.name + "/", e.path) for e in entries
                           if e.name[0] not in "._" and e.is_dir(follow_symlinks=False)]
            folders = deeper
        return "|".join(sorted(parts)), newest

    def changes(self, after: int = 0) -> Changes:
        """Bring the index up to date with the folder, then return the files whose content
        changed after sequence `after` (oldest change first)."""
        if self.on_bucket:
            return self._bucket_changes(after)
        with self.index.open() as index:
            dirs, newest = self._dirs()
            now = time.time_ns()
            last = index.last_look()  # (dirs, looked_ns, swept_ns, unsettled) or None
            sweep = last is None or now - last[2] >= self.sweep_ns
            # quiet: the same directories, looked at after their last change (not within
            # the same clock tick) with no file still being written, and no sweep due
            quiet = not sweep and (last[0], last[3]) == (dirs, 0) and last[1] - newest >= RACY_NS
            stated = unsettled = 0
            hashed: list[tuple] = []
            if not quiet:
                stated, hashed, unsettled = self._look(index, now, full=sweep)
                index.record_look(dirs, now, now if sweep else last[2], unsettled)
            files = [Landed(rel, self.path / rel, size, sha, seq)
                     for rel, size, sha, seq in index.since(after)]
            return Changes(files, max(after, index.last()), stated, len(hashed),
                           sum(h[1][0] for h in hashed), unsettled)

    def _bucket_changes(self, after: int) -> Changes:
        """`changes` on a bucket: one listing per look, objects hashed when new."""
        with self.index.open() as index:
            listed, hashed, waiting = bucket.look(
                self.location, self.depth, index, time.time_ns(), self.hash_budget)
            files = [Landed(rel, self.path / rel, size, sha, seq)
                     for rel, size, sha, seq in index.since(after)]
            return Changes(files, max(after, index.last()), listed, len(hashed),
                           sum(h[1][0] for h in hashed), waiting)

    def _look(self, index: LandingIndex, now: int, full: bool) -> tuple[int, list[tuple], int]:
        """List the folder; stat the files that are new, whose inode changed (replaced by a
        rename) or, on a `full` sweep, all of them; hash the settled ones whose signature
        changed and record them: (files stat'ed, rows recorded, files still being written)."""
        known = index.signatures()
        stated, moved = 0, []
        for rel, path, inode in self._listing():
            old = known.pop(rel, False)
            if old and old[3] == inode and not full:
                continue  # same name, same file: only a rewrite in place, which the sweep finds
            try:
                st = os.stat(path)
            except FileNotFoundError:  # removed (or a dangling link) meanwhile
                continue
            stated += 1
            signature = (st.st_size, st.st_mtime_ns, st.st_ctime_ns, st.st_ino)
            if stat.S_ISREG(st.st_mode) and old != signature:  # new, changed, or hashed racily
                moved.append((rel, path, st, signature))
        seen = index.waiting()
        hashed, waiting = self._hash(moved, index.hashes(r for r, *_ in moved), seen, now)
        index.record(hashed, gone=known)  # what is left of `known` is no longer there
        if waiting != seen:
            index.record_waiting(waiting)
        return stated, hashed, len(waiting)

    def _hash(
        self, moved: list[tuple], old: dict[str, str], seen: dict[str, tuple], now: int
    ) -> tuple[list[tuple], dict[str, tuple]]:
        """Hash the settled files among `moved` (new files numbered by name) within the
        hashing budget: the rows to record, and the files left for the next look (still
        being written, or past the budget) with the signature seen and since when."""
        hashed, waiting = [], {}
        deadline = time.monotonic() + self.hash_budget
        for rel, path, st, signature in sorted(moved, key=lambda m: m[0]):
            since = seen[rel][1] if rel in seen and seen[rel][0] == signature else now
            if not self.settled(st, now, since) or (hashed and time.monotonic() > deadline):
                waiting[rel] = (signature, since)  # looked at again next time
                continue
            try:
                digest = file_sha256(path)
            except FileNotFoundError:
                continue
            hashed.append((rel, signature, digest, now, old.get(rel) != digest))
        return hashed, waiting

    def files(self) -> list[Landed]:
        """Every indexed file of the folder, as of the last `changes` (no file is read)."""
        with self.index.open() as index:
            return [Landed(rel, self.path / rel, size, sha, seq)
                    for rel, size, sha, seq in index.since(-1)]

    @contextmanager
    def local_copy(self, rel: str, sha256: str | None = None) -> Iterator[Path]:
        """`rel` as a file on this disk for a reader that takes a path: the file itself in
        a local folder; on a bucket a temporary copy (`landing_bucket.downloaded`)."""
        if not self.on_bucket:
            yield self.path / rel
            return
        with bucket.downloaded(self.location, rel, sha256) as path:
            yield path

    def sha256(self, rel: str) -> str:
        """Hex SHA-256 of a landed file's bytes, read now (one GET on a bucket)."""
        return self.location.sha256(rel) if self.on_bucket else file_sha256(self.path / rel)

    def mtime_ns(self, rel: str) -> int:
        """When the file was last written (on a bucket: its Last-Modified)."""
        if self.on_bucket:
            entry = self.location.info(rel)
            return entry.mtime_ns if entry else 0
        return os.stat(self.path / rel).st_mtime_ns

    # -- move-aside -------------------------------------------------------------------------

    def reject(self, path: Path, reason: str) -> Path:
        """Move a file that cannot be loaded to `_rejected/<rel>` with `<name>.reason.txt`
        beside it (the reason, which names the file, then where from and when), and forget
        it in the index."""
        rel = PurePosixPath(path).relative_to(self.path).as_posix()
        if self.on_bucket:
            moved = bucket.reject(self.location, rel, reason, self.key)
            with self.index.open() as index:
                index.record([], gone=[rel])
            return PurePosixPath(moved)  # type: ignore[return-value]
        target = self.path / REJECTED / rel
        with named_when_full(target, f"moving landing/{self.key}/{rel} aside"):
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.move(str(path), target)
            atomic_write_text(target.with_name(target.name + REASON_SUFFIX),
                              bucket.reason_text(reason, self.key, rel))
        with self.index.open() as index:
            index.record([], gone=[rel])
        return target
