"""Files the platform writes or identifies: atomic replacement, content hashes, and a full
disk named as such (`NoSpace`: the path, what was being done, the space left)."""

from __future__ import annotations

import errno
import hashlib
import os
import shutil
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

# What drivers say when the device is full: the OS (ENOSPC, EDQUOT), DuckDB and pyarrow in
# their messages, SQLite as "database or disk is full" (or, in WAL mode, "disk I/O error").
_FULL = ("No space left on device", "database or disk is full", "Disk quota exceeded")
_LOW = 1 << 20  # with less free space than this, SQLite's "disk I/O error" means full


class NoSpace(OSError):
    """The device of a path is full: the message names the path, what was being done and
    the space left, where the driver's own message may name neither."""


def _free(path: Path) -> int | None:
    for folder in (path, *path.parents):
        try:
            return shutil.disk_usage(folder).free
        except OSError:
            continue
    return None


def _is_full(exc: BaseException, path: Path) -> bool:
    if isinstance(exc, OSError) and exc.errno in (errno.ENOSPC, errno.EDQUOT):
        return True
    text = str(exc)
    if any(s in text for s in _FULL):
        return True
    free = _free(path)
    return "disk I/O error" in text and free is not None and free < _LOW


@contextmanager
def named_when_full(path: str | os.PathLike[str], doing: str) -> Iterator[None]:
    """Turn a full-disk error raised inside the block into `NoSpace` naming `path`."""
    try:
        yield
    except NoSpace:
        raise
    except Exception as exc:
        where = Path(path)
        if not _is_full(exc, where):
            raise
        free = _free(where)
        left = "unknown" if free is None else f"{free / 1e6:.1f} MB"
        raise NoSpace(errno.ENOSPC, f"no space left on the device of {where} while {doing} "
                      f"({left} free)") from exc


def file_sha256(path: str | os.PathLike[str]) -> str:
    """Hex SHA-256 of a file's bytes: what run keys, ledgers and the landing index name."""
    with Path(path).open("rb") as handle:
        return hashlib.file_digest(handle, "sha256").hexdigest()


def _fsync(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def atomic_write(path: Path, write: Callable[[Path], Any], durable: bool = False) -> Path:
    """Write `path` through `write(tmp)` to a hidden temporary name beside it, then rename it
    over `path`: a reader sees the old file or the new one, never a half-written one.
    `durable` also fsyncs the file and its folder, so the rename survives a power loss."""
    tmp = path.with_name(f".{path.name}.{os.getpid()}-{threading.get_ident()}.tmp")
    try:
        with named_when_full(path, f"writing {path.name}"):
            path.parent.mkdir(parents=True, exist_ok=True)
            write(tmp)
            if durable:
                _fsync(tmp)
            os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    if durable:
        _fsync(path.parent)
    return path


def atomic_write_text(path: Path, text: str) -> Path:
    return atomic_write(path, lambda tmp: tmp.write_text(text, encoding="utf-8"))
