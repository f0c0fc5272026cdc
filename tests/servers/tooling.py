"""Install (and cache) what the test servers need, before the tests run.

    python3 -m tests.servers.tooling install   # build FerretDB, resolve the Kafka and Spark jars
    python3 -m tests.servers.tooling check     # say what is there, change nothing

Standard library only, so `.ci/run` can call it before the virtualenv exists. PostgreSQL
comes from Debian's package (`.ci/run` installs it with apt-get).
"""

from __future__ import annotations

import sys
import time

from cli import spark_cluster
from tests.servers import ServerUnavailable
from tests.servers.kafka import install_jars, kafka_version, libs_dir
from tests.servers.mongo import binary_path, ferretdb_version, install_ferretdb
from tests.servers.postgres import find_bin_dir


def check() -> int:
    missing = 0
    try:
        print(f"postgresql: {find_bin_dir()}")
    except ServerUnavailable as exc:
        print(f"postgresql: MISSING ({exc})")
        missing += 1
    for name, path in (
        (f"ferretdb {ferretdb_version()}", binary_path()),
        (f"kafka {kafka_version()}", libs_dir() / ".complete"),
        ("spark extra jars (delta, kafka source, s3a)", spark_cluster.jars_dir() / ".complete"),
    ):
        ok = path.exists()
        missing += not ok
        print(f"{name}: {path.parent if ok else 'MISSING (' + str(path) + ')'}")
    return 1 if missing else 0


def install() -> int:
    for name, step in (("ferretdb", install_ferretdb), ("kafka jars", install_jars),
                       ("spark extra jars", spark_cluster.install_jars)):
        t0 = time.monotonic()
        try:
            where = step()
        except (ServerUnavailable, RuntimeError) as exc:
            print(f"{name}: FAILED: {exc}", file=sys.stderr)
            return 1
        print(f"{name}: {where} ({time.monotonic() - t0:.1f}s)")
    return 0


def main(argv: list[str]) -> int:
    command = argv[0] if argv else "check"
    if command == "install":
        return install()
    if command == "check":
        return check()
    print(__doc__, file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
