"""The landing index (`state/landing.sqlite`): what the landing mechanism knows of each file.

Per landing folder and file: the stat signature (size, mtime, ctime, inode) under which the
file was hashed, the hash, when it was hashed, and `seq`, a number drawn from one counter
each time the file's content changes; and, for a file not settled yet, the signature a look
saw and when (this machine's clock), to judge readiness across looks. A `generation`
counter moves on every write, so a process keeps the signatures of a folder in memory and
re-reads them only after a change: an idle look costs one small query, not a read of the
whole index.
"""

from __future__ import annotations

import sqlite3
import threading
from collections.abc import Iterable, Iterator
from contextlib import closing, contextmanager
from pathlib import Path

from resources.lib.files import named_when_full
from resources.sql import Schema, database_identity, ensure_schemas, transaction

# A hash taken this soon after the file's last write may have raced another write within the
# same mtime tick: such a file is hashed again on the next look (as git does).
RACY_NS = 100_000_000
# An object's Last-Modified on a bucket has whole seconds: the same window, that coarse.
RACY_BUCKET_NS = 2_000_000_000

INDEX = Schema("landing", (
    """CREATE TABLE IF NOT EXISTS landed (
        folder TEXT NOT NULL, rel TEXT NOT NULL,
        size INTEGER NOT NULL, mtime_ns INTEGER NOT NULL, ctime_ns INTEGER NOT NULL,
        ino INTEGER NOT NULL, sha256 TEXT NOT NULL, hashed_ns INTEGER NOT NULL,
        seq INTEGER NOT NULL, PRIMARY KEY (folder, rel))""",
    "CREATE INDEX IF NOT EXISTS landed_by_seq ON landed (folder, seq)",
    """CREATE TABLE IF NOT EXISTS counters (
        id INTEGER PRIMARY KEY CHECK (id = 1), seq INTEGER NOT NULL,
        generation INTEGER NOT NULL)""",
    "INSERT OR IGNORE INTO counters VALUES (1, 0, 0)",
    # files stat'ed but not yet settled: the signature they had and when (this machine's
    # clock) a look first saw it; readiness across looks, whatever the file's mtime says
    """CREATE TABLE IF NOT EXISTS waiting (
        folder TEXT NOT NULL, rel TEXT NOT NULL,
        size INTEGER NOT NULL, mtime_ns INTEGER NOT NULL, ctime_ns INTEGER NOT NULL,
        ino INTEGER NOT NULL, seen_ns INTEGER NOT NULL, PRIMARY KEY (folder, rel))""",
    # per folder: its directories' signatures at the last look, when, when every file was
    # last stat'ed (the sweep), and how many files were still being written then
    """CREATE TABLE IF NOT EXISTS folders (
        folder TEXT PRIMARY KEY, dirs TEXT NOT NULL, looked_ns INTEGER NOT NULL,
        swept_ns INTEGER NOT NULL, unsettled INTEGER NOT NULL)""",
))

Signature = tuple[int, int, int, int]  # size, mtime_ns, ctime_ns, inode
# (index file, folder) -> (generation, rel -> signature; None when the hash was racy)
_signatures: dict[tuple[str, str], tuple[int, dict[str, Signature | None]]] = {}
_lock = threading.Lock()


class LandingIndex:
    """One folder's rows of the index, on one open connection (`with index.open():`)."""

    def __init__(self, path: Path, folder: str, racy_ns: int = RACY_NS) -> None:
        self.path = path
        self.folder = folder
        self.racy_ns = racy_ns
        self._db: sqlite3.Connection | None = None

    @contextmanager
    def open(self) -> Iterator[LandingIndex]:
        with named_when_full(self.path, "updating the landing index"):
            self.path.parent.mkdir(parents=True, exist_ok=True)
            with closing(sqlite3.connect(self.path, timeout=30, isolation_level=None)) as db:
                db.execute("PRAGMA journal_mode = WAL")
                ensure_schemas(db, database_identity(str(self.path)), [INDEX])
                self._db = db
                try:
                    yield self
                finally:
                    self._db = None

    @property
    def db(self) -> sqlite3.Connection:
        if self._db is None:
            raise RuntimeError("the landing index is not open: use `with index.open():`")
        return self._db

    def signatures(self) -> dict[str, Signature | None]:
        """rel -> signature the file was hashed under (a copy: the caller may change it)."""
        generation = self.db.execute("SELECT generation FROM counters").fetchone()[0]
        key = (str(self.path), self.folder)
        with _lock:
            cached = _signatures.get(key)
        if cached is None or cached[0] != generation:
            rows = self.db.execute(
                "SELECT rel, size, mtime_ns, ctime_ns, ino, hashed_ns FROM landed"
                " WHERE folder = ?",
                (self.folder,),
            )
            cached = (generation, {  # racy: hashed within racy_ns after its mtime
                r[0]: None if 0 <= r[5] - r[2] < self.racy_ns else r[1:5] for r in rows
            })
            with _lock:
                _signatures[key] = cached
        return dict(cached[1])

    def hashed_under(self, rels: Iterable[str]) -> dict[str, Signature]:
        """rel -> the signature its recorded hash was taken under (files the index knows;
        racy or not: a file hashed after it settled cannot be racy)."""
        out = {}
        for rel in rels:
            row = self.db.execute(
                "SELECT size, mtime_ns, ctime_ns, ino FROM landed WHERE folder = ? AND rel = ?",
                (self.folder, rel),
            ).fetchone()
            if row:
                out[rel] = tuple(row)
        return out

    def hashes(self, rels: Iterable[str]) -> dict[str, str]:
        """rel -> the hash recorded for it (files the index knows)."""
        out = {}
        for rel in rels:
            row = self.db.execute(
                "SELECT sha256 FROM landed WHERE folder = ? AND rel = ?", (self.folder, rel)
            ).fetchone()
            if row:
                out[rel] = row[0]
        return out

    def waiting(self, rels: Iterable[str] | None = None) -> dict[str, tuple[Signature, int]]:
        """rel -> (signature, when a look first saw it) of the files not settled yet (all,
        or those of `rels`)."""
        rows = self.db.execute(
            "SELECT rel, size, mtime_ns, ctime_ns, ino, seen_ns FROM waiting WHERE folder = ?",
            (self.folder,),
        ).fetchall()
        wanted = None if rels is None else set(rels)
        return {r[0]: (tuple(r[1:5]), r[5]) for r in rows if wanted is None or r[0] in wanted}

    def record_waiting(self, seen: dict[str, tuple[Signature, int]]) -> None:
        """Replace the folder's not-yet-settled files with `seen` (rel -> signature, since)."""
        with transaction(self.db):
            self.db.execute("DELETE FROM waiting WHERE folder = ?", (self.folder,))
            self.db.executemany(
                "INSERT INTO waiting VALUES (?, ?, ?, ?, ?, ?, ?)",
                [(self.folder, rel, *sig, since) for rel, (sig, since) in seen.items()],
            )

    def last_look(self) -> tuple[str, int, int, int] | None:
        """(directory signatures, when, when swept, files still being written) of the last
        look at the folder's files."""
        return self.db.execute(
            "SELECT dirs, looked_ns, swept_ns, unsettled FROM folders WHERE folder = ?",
            (self.folder,),
        ).fetchone()

    def record_look(self, dirs: str, looked_ns: int, swept_ns: int, unsettled: int) -> None:
        self.db.execute(
            "INSERT OR REPLACE INTO folders VALUES (?, ?, ?, ?, ?)",
            (self.folder, dirs, looked_ns, swept_ns, unsettled),
        )

    def record(self, hashed: list[tuple], gone: Iterable[str] = ()) -> None:
        """Store (rel, signature, sha256, hashed_ns, content_changed) rows (a new `seq` for
        each changed content, in the given order) and forget the files in `gone`."""
        gone = list(gone)
        if not hashed and not gone:
            return
        with transaction(self.db):
            seq = self.db.execute("SELECT seq FROM counters").fetchone()[0]
            for rel, (size, mtime, ctime, ino), digest, hashed_ns, changed in hashed:
                seq += changed
                self.db.execute(
                    "INSERT INTO landed VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)"
                    " ON CONFLICT (folder, rel) DO UPDATE SET size = excluded.size,"
                    " mtime_ns = excluded.mtime_ns, ctime_ns = excluded.ctime_ns,"
                    " ino = excluded.ino, sha256 = excluded.sha256,"
                    " hashed_ns = excluded.hashed_ns,"
                    " seq = CASE WHEN ? THEN excluded.seq ELSE landed.seq END",
                    (self.folder, rel, size, mtime, ctime, ino, digest, hashed_ns, seq, changed),
                )
            self.db.executemany(
                "DELETE FROM landed WHERE folder = ? AND rel = ?",
                [(self.folder, rel) for rel in gone],
            )
            self.db.execute("UPDATE counters SET seq = ?, generation = generation + 1", (seq,))

    def since(self, after: int) -> list[tuple[str, int, str, int]]:
        """(rel, size, sha256, seq) of the files whose content changed after `after`."""
        return self.db.execute(
            "SELECT rel, size, sha256, seq FROM landed WHERE folder = ? AND seq > ?"
            " ORDER BY seq, rel",
            (self.folder, after),
        ).fetchall()

    def last(self) -> int:
        """The highest sequence of the folder's files (0 when none)."""
        row = self.db.execute(
            "SELECT max(seq) FROM landed WHERE folder = ?", (self.folder,)
        ).fetchone()
        return int(row[0] or 0)
