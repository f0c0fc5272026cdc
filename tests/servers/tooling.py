"""Install (and cache) what the test servers need, before the tests run.

    python3 -m tests.servers.tooling install   # build FerretDB, resolve the Kafka, Kafka
                                               # Connect + Debezium and Spark jars, fetch
                                               # and unpack Trino
    python3 -m tests.servers.tooling check     # say what is there, change nothing

Standard library only, so `.ci/run` can call it before the virtualenv exists. PostgreSQL
and MariaDB come from Debian's packages (`.ci/run` installs them with apt-get).
"""

from __future__ import annotations

import sys
import time

from cli import spark_cluster
from tests.servers import ServerUnavailable, kafka_connect
from tests.servers.kafka import install_jars, kafka_version, libs_dir
from tests.servers.mariadb import find_binaries as find_mariadb
from tests.servers.mongo import binary_path, ferretdb_version, install_ferretdb
from tests.servers.postgres import find_bin_dir
from tests.servers.trino import (
    can_record_archive,
    cds_archive,
    find_java,
    install_dir,
    install_trino,
    trino_version,
)


def check() -> int:
    missing = 0
    try:
        print(f"postgresql: {find_bin_dir()}")
    except ServerUnavailable as exc:
        print(f"postgresql: MISSING ({exc})")
        missing += 1
    try:
        print(f"mariadb: {find_mariadb()[0]}")
    except ServerUnavailable as exc:
        print(f"mariadb: MISSING ({exc})")
        missing += 1
    for name, path in (
        (f"ferretdb {ferretdb_version()}", binary_path()),
        (f"kafka {kafka_version()}", libs_dir() / ".complete"),
        (f"kafka connect {kafka_connect.connect_version()} + debezium "
         f"{kafka_connect.debezium_version()}", kafka_connect.libs_dir() / ".complete"),
        ("spark extra jars (delta, kafka source, s3a)", spark_cluster.jars_dir() / ".complete"),
    ):
        ok = path.exists()
        missing += not ok
        print(f"{name}: {path.parent if ok else 'MISSING (' + str(path) + ')'}")
    trino = f"trino {trino_version()}"
    if not (install_dir() / ".complete").exists():
        print(f"{trino}: MISSING ({install_dir() / '.complete'})")
        missing += 1
    else:
        try:
            java, version = find_java()
        except ServerUnavailable as exc:
            print(f"{trino}: {install_dir()}, but no Java to run it: {exc}")
            missing += 1
        else:
            archive = ("class archive" if cds_archive(version).exists()
                       else "no class archive" if not can_record_archive(java)
                       else "NO class archive (yet)")
            print(f"{trino}: {install_dir()} (java {version}: {java}; {archive})")
    return 1 if missing else 0


def install(only: list[str] | None = None) -> int:
    """Install every tool, or those named (`install trino`)."""
    for name, step in (("ferretdb", install_ferretdb), ("kafka jars", install_jars),
                       ("kafka connect jars", kafka_connect.install_jars),
                       ("spark extra jars", spark_cluster.install_jars),
                       ("trino", install_trino)):
        if only and name not in only:
            continue
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
        return install(argv[1:])
    if command == "check":
        return check()
    print(__doc__, file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
