"""A small real filesystem to fill: a tmpfs mounted under the test's folder.

A full disk is a real condition the platform must survive (issue 21: a data root filling
mid-run), and a tmpfs of a few MB reaches it in microseconds and in RAM. Mounting needs
root (CAP_SYS_ADMIN), as in CI; elsewhere the fixture skips, and with CI=true it fails.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

from tests.servers import ServerUnavailable

BALLAST = ".ballast"


class SmallDisk:
    """`path`: the mount point; `fill(leave)` takes all but `leave` bytes, `free()` gives
    them back, `unmount()`."""

    def __init__(self, path: Path, size_mb: int) -> None:
        self.path = path
        path.mkdir(parents=True, exist_ok=True)
        done = subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={size_mb}m", "tmpfs",
                               str(path)], capture_output=True, text=True)
        if done.returncode != 0:
            raise ServerUnavailable(f"cannot mount a tmpfs at {path}: {done.stderr.strip()}")

    @property
    def free_bytes(self) -> int:
        return shutil.disk_usage(self.path).free

    def fill(self, leave: int = 0) -> None:
        """Take the free space but `leave` bytes (in whole pages) with one ballast file."""
        ballast = self.path / BALLAST
        size = (ballast.stat().st_size if ballast.exists() else 0) + self.free_bytes - leave
        size -= size % 4096
        with ballast.open("ab") as handle:
            handle.truncate(0)
            os.posix_fallocate(handle.fileno(), 0, max(size, 4096))

    def free(self) -> None:
        (self.path / BALLAST).unlink(missing_ok=True)

    def unmount(self) -> None:
        subprocess.run(["umount", "-l", str(self.path)], capture_output=True)
