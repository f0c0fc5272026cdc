"""A MongoDB wire-protocol server for the tests: FerretDB v1.24 on its SQLite backend.

`tests/servers/ferretdb/` is a tiny Go module that runs FerretDB v1.24.2 through its
embeddable package (`github.com/FerretDB/FerretDB/ferretdb`). It is built once with
`go build` (modules from the Go module proxy, cached in ~/go/pkg/mod) into
~/.cache/commerce-platform/ferretdb-<version>-<hash>/ferretdb-test.
`.ci/run` builds it before the tests; on a developer machine the first fixture use builds it.

The server can be stopped and started again on the same port with the same data
(`stop()`, `start()`, or `with server.stopped(): ...`) for tests of connection failures.
"""

from __future__ import annotations

import hashlib
import os
import re
import shutil
import subprocess
import time
from pathlib import Path

from tests.servers import (
    CACHE_DIR,
    Server,
    ServerUnavailable,
    free_port,
    make_temp_dir,
    port_open,
    run_checked,
    spawn,
    terminate,
    wait_until,
)

MODULE_DIR = Path(__file__).parent / "ferretdb"


def ferretdb_version() -> str:
    go_mod = (MODULE_DIR / "go.mod").read_text()
    match = re.search(r"github.com/FerretDB/FerretDB (v[0-9.]+)", go_mod)
    assert match, "FerretDB requirement missing from tests/servers/ferretdb/go.mod"
    return match.group(1)


def binary_path() -> Path:
    digest = hashlib.sha256()
    for name in ("go.mod", "go.sum", "main.go"):
        digest.update((MODULE_DIR / name).read_bytes())
    return CACHE_DIR / f"ferretdb-{ferretdb_version()}-{digest.hexdigest()[:10]}" / "ferretdb-test"


def go_bin() -> str | None:
    found = shutil.which("go")
    if found:
        return found
    for cand in ("/usr/local/go/bin/go", "/usr/lib/go/bin/go"):
        if Path(cand).exists():
            return cand
    return None


def install_ferretdb(timeout: float = 900) -> Path:
    """Build the FerretDB test server with Go unless it is cached; return the binary."""
    target = binary_path()
    if target.exists():
        return target
    go = go_bin()
    if not go:
        raise ServerUnavailable("FerretDB is not built and Go (`go`) is not installed")
    target.parent.mkdir(parents=True, exist_ok=True)
    partial = target.with_suffix(".partial")
    env = dict(os.environ, CGO_ENABLED="0", GOFLAGS="-mod=readonly -buildvcs=false")
    run_checked(
        [go, "build", "-trimpath", "-o", str(partial), "."],
        target.parent / "build.log",
        cwd=MODULE_DIR,
        env=env,
        timeout=timeout,
    )
    partial.rename(target)
    return target


class MongoServer(Server):
    """FerretDB on 127.0.0.1:PORT; `.uri`, `.stop()`, `.start()`, `.stopped()`."""

    name = "ferretdb"

    def __init__(self, start_timeout: float = 30) -> None:
        self.binary = install_ferretdb()
        self.version = ferretdb_version()
        self.start_timeout = start_timeout
        self.host = "127.0.0.1"
        self.port = free_port()
        self.proc: subprocess.Popen[bytes] | None = None
        self.base = make_temp_dir("ferretdb-")
        self._temp_dirs = [self.base]
        self.data_dir = self.base / "data"
        self.data_dir.mkdir()
        self.log_path = self.base / "ferretdb.log"
        self.startup_seconds = 0.0

    @property
    def uri(self) -> str:
        return f"mongodb://{self.host}:{self.port}/"

    def start(self) -> None:
        if self.running:
            return
        t0 = time.monotonic()
        deadline = t0 + 10
        while port_open(self.port) and time.monotonic() < deadline:  # previous run closing
            time.sleep(0.1)
        self.proc = spawn(
            [
                str(self.binary),
                f"-listen-addr={self.host}:{self.port}",
                f"-sqlite-url=file:{self.data_dir}/",
                "-log-level=warn",
            ],
            self.log_path,
            cwd=self.base,
        )
        self._register()

        def ready() -> bool:
            import pymongo

            with pymongo.MongoClient(self.uri, serverSelectionTimeoutMS=1000) as client:
                return client.admin.command("ping").get("ok") == 1.0

        wait_until(
            ready,
            timeout=self.start_timeout,
            what=f"FerretDB on {self.host}:{self.port}",
            proc=self.proc,
            log_path=self.log_path,
        )
        self.startup_seconds = time.monotonic() - t0

    def stop(self) -> None:
        terminate(self.proc)
        self.proc = None


def start_mongo() -> MongoServer:
    return MongoServer().started()
