"""The landing mechanism: how every file-driven pipeline sees the files dropped for it.

Producers drop files into `landing/<folder>/` (product views one level deeper, a folder per
platform). For every such folder this module is the one place that decides:

- **readiness**: a file counts only under its final name (no `.`/`_` prefix, no temporary
  suffix such as `.part` or `.tmp`; a symbolic link only when it points inside the folder),
  and a sensor acts on it only once nobody has written it for `settle_seconds`;
- **identity**: a file is its path relative to the folder plus the SHA-256 of its bytes, so
  the same content twice is one file and new bytes under an old name are a new one;
- **move-aside**: a file that cannot be loaded goes to `_rejected/` (same relative path)
  with `<name>.reason.txt` beside it;
- **lineage**: `Landed.tags()` names the file and its hash on every run it causes.

Cost. Files stay where they landed (a sync tool may mirror the folder). An index
(`state/landing.sqlite`) remembers each file's stat signature (size, mtime, ctime, inode),
the hash computed under that signature and a sequence number that moves whenever the file's
content changes. `changes(after)` lists the folder and stats each entry, opening only the
files whose signature changed; a sensor keeps one number, the last sequence it acted on.
So an idle tick hashes nothing and the cursor does not grow with history.
"""

from __future__ import annotations

import os
import shutil
import sqlite3
import time
from collections.abc import Iterator
from contextlib import closing, contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from resources.files import atomic_write_text, file_sha256

DEFAULT_SETTLE_SECONDS = 5.0
TEMP_SUFFIXES = (".part", ".tmp", ".partial", ".crdownload", ".filepart", ".download")
REASON_SUFFIX = ".reason.txt"
REJECTED = "_rejected"
# A hash taken this soon after the file's last write may have raced another write within
# the same mtime tick: such an entry is hashed again on the next look (as git does).
_RACY_NS = 100_000_000

_INDEX_DDL = (
    """CREATE TABLE IF NOT EXISTS landed (
        folder TEXT NOT NULL, rel TEXT NOT NULL,
        size INTEGER NOT NULL, mtime_ns INTEGER NOT NULL, ctime_ns INTEGER NOT NULL,
        ino INTEGER NOT NULL, sha256 TEXT NOT NULL, hashed_ns INTEGER NOT NULL,
        seq INTEGER NOT NULL, PRIMARY KEY (folder, rel))""",
    "CREATE INDEX IF NOT EXISTS landed_by_seq ON landed (folder, seq)",
    "CREATE TABLE IF NOT EXISTS sequence (id INTEGER PRIMARY KEY CHECK (id = 1), seq INTEGER)",
    "INSERT OR IGNORE INTO sequence VALUES (1, 0)",
)


@dataclass(frozen=True)
class Landed:
    """One ready file: where it is, what its bytes hash to, when the index last saw it change."""

    rel: str  # path relative to the landing folder, '/'-separated
    path: Path
    size: int
    sha256: str
    seq: int

    @property
    def name(self) -> str:
        return self.path.name

    def tags(self) -> dict[str, str]:
        """Run tags that tie a run to the file it was made for."""
        return {"landing/file": self.rel[:200], "landing/sha256": self.sha256[:16]}


@dataclass(frozen=True)
class Changes:
    """What `changes(after)` found: files whose content is new since `after`, the sequence
    to remember, and what the look cost."""

    files: list[Landed]
    seq: int
    listed: int  # ready entries stat'ed
    hashed: int  # files opened and hashed
    bytes_hashed: int
    unsettled: int  # files still being written (looked at again next time)


def is_candidate(name: str) -> bool:
    """A final name: not hidden, not private (`_rejected`), not a temporary upload."""
    return not (
        name.startswith((".", "_")) or name.endswith(TEMP_SUFFIXES) or name.endswith(REASON_SUFFIX)
    )


class LandingFolder:
    """`landing/<folder>/`, its readiness rules and its index (see the module docstring)."""

    def __init__(
        self, path: Path, index: Path, settle_seconds: float = DEFAULT_SETTLE_SECONDS,
        depth: int = 0,
    ) -> None:
        self.path = path
        self.index = index
        self.key = path.name
        self.settle_ns = int(settle_seconds * 1e9)
        self.depth = depth

    # -- readiness ------------------------------------------------------------------------

    def _entries(self) -> Iterator[tuple[str, Path, os.stat_result]]:
        """(rel, path, stat) of every candidate file, `depth` folders deep, final names only."""
        folders: list[tuple[str, Path]] = [("", self.path)]
        for level in range(self.depth + 1):
            deeper: list[tuple[str, Path]] = []
            for prefix, folder in folders:
                try:
                    entries = list(os.scandir(folder))
                except (FileNotFoundError, NotADirectoryError):
                    continue
                for entry in entries:
                    if not is_candidate(entry.name):
                        continue
                    rel = prefix + entry.name
                    if entry.is_dir(follow_symlinks=False):
                        if level < self.depth:
                            deeper.append((rel + "/", Path(entry.path)))
                        continue
                    if entry.is_symlink() and not self._inside(Path(entry.path)):
                        continue
                    try:
                        st = entry.stat()
                    except FileNotFoundError:  # removed (or a dangling link) meanwhile
                        continue
                    if entry.is_file():
                        yield rel, Path(entry.path), st
            folders = deeper

    def _inside(self, link: Path) -> bool:
        return link.resolve().is_relative_to(self.path.resolve())

    def settled(self, st: os.stat_result, now_ns: int | None = None) -> bool:
        return (now_ns or time.time_ns()) - st.st_mtime_ns >= self.settle_ns

    def present(self) -> list[tuple[str, Path]]:
        """(rel, path) of every file under a final name, sorted by rel. Assets read these
        when a run names no file; waiting for a file to settle is the sensors' decision."""
        return sorted((rel, path) for rel, path, _ in self._entries())

    # -- the index --------------------------------------------------------------------------

    @contextmanager
    def _db(self) -> Iterator[sqlite3.Connection]:
        self.index.parent.mkdir(parents=True, exist_ok=True)
        with closing(sqlite3.connect(self.index, timeout=30, isolation_level=None)) as db:
            db.execute("PRAGMA journal_mode = WAL")
            for statement in _INDEX_DDL:
                db.execute(statement)
            yield db

    def _known(self, db: sqlite3.Connection) -> dict[str, tuple]:
        rows = db.execute(
            "SELECT rel, size, mtime_ns, ctime_ns, ino, sha256, hashed_ns FROM landed"
            " WHERE folder = ?",
            (self.key,),
        )
        return {r[0]: r[1:] for r in rows}

    def changes(self, after: int = 0) -> Changes:
        """Bring the index up to date with the folder, then return the files whose content
        changed after sequence `after` (oldest change first)."""
        with self._db() as db:
            known = self._known(db)
            now = time.time_ns()
            updates: list[tuple] = []
            listed = hashed = nbytes = unsettled = 0
            for rel, path, st in self._entries():
                listed += 1
                signature = (st.st_size, st.st_mtime_ns, st.st_ctime_ns, st.st_ino)
                old = known.pop(rel, None)
                if old and old[:4] == signature and old[5] - signature[1] >= _RACY_NS:
                    continue
                if not self.settled(st, now):
                    unsettled += 1
                    continue
                try:
                    digest = file_sha256(path)
                except FileNotFoundError:
                    continue
                hashed, nbytes = hashed + 1, nbytes + st.st_size
                updates.append((rel, *signature, digest, now, old is None or old[4] != digest))
            self._write(db, sorted(updates), gone=list(known))  # new files numbered by name
            last = max(after, self._last(db))
            return Changes(self._since(db, after), last, listed, hashed, nbytes, unsettled)

    def _write(self, db: sqlite3.Connection, updates: list[tuple], gone: list[str]) -> None:
        if not updates and not gone:
            return
        db.execute("BEGIN IMMEDIATE")
        try:
            seq = db.execute("SELECT seq FROM sequence").fetchone()[0]
            for rel, size, mtime, ctime, ino, digest, hashed_ns, changed in updates:
                if changed:
                    seq += 1
                db.execute(
                    "INSERT INTO landed VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)"
                    " ON CONFLICT (folder, rel) DO UPDATE SET size = excluded.size,"
                    " mtime_ns = excluded.mtime_ns, ctime_ns = excluded.ctime_ns,"
                    " ino = excluded.ino, sha256 = excluded.sha256,"
                    " hashed_ns = excluded.hashed_ns,"
                    " seq = CASE WHEN ? THEN excluded.seq ELSE landed.seq END",
                    (self.key, rel, size, mtime, ctime, ino, digest, hashed_ns, seq, changed),
                )
            db.executemany(
                "DELETE FROM landed WHERE folder = ? AND rel = ?", [(self.key, r) for r in gone]
            )
            db.execute("UPDATE sequence SET seq = ?", (seq,))
            db.execute("COMMIT")
        except BaseException:
            db.execute("ROLLBACK")
            raise

    def _since(self, db: sqlite3.Connection, after: int) -> list[Landed]:
        rows = db.execute(
            "SELECT rel, size, sha256, seq FROM landed WHERE folder = ? AND seq > ?"
            " ORDER BY seq, rel",
            (self.key, after),
        )
        return [Landed(r[0], self.path / r[0], r[1], r[2], r[3]) for r in rows]

    def _last(self, db: sqlite3.Connection) -> int:
        row = db.execute("SELECT max(seq) FROM landed WHERE folder = ?", (self.key,)).fetchone()
        return int(row[0] or 0)

    def files(self) -> list[Landed]:
        """Every indexed file of the folder, as of the last `changes` (no file is read)."""
        with self._db() as db:
            return self._since(db, -1)

    # -- move-aside -------------------------------------------------------------------------

    def reject(self, path: Path, reason: str) -> Path:
        """Move a file that cannot be loaded to `_rejected/<rel>` with `<name>.reason.txt`
        beside it (the reason, which names the file, then where from and when), and forget
        it in the index."""
        rel = path.relative_to(self.path).as_posix()
        target = self.path / REJECTED / rel
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.move(str(path), target)
        stamp = datetime.now(UTC).isoformat(timespec="seconds")
        atomic_write_text(
            target.with_name(target.name + REASON_SUFFIX),
            f"{reason}\nmoved aside from landing/{self.key}/{rel} at {stamp}\n",
        )
        with self._db() as db:
            db.execute("DELETE FROM landed WHERE folder = ? AND rel = ?", (self.key, rel))
        return target
