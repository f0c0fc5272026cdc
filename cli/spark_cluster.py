"""A local Spark cluster: a standalone master, one worker and a Spark Connect server, run
from the pyspark package's own jars plus Delta Lake, the Kafka source and S3A
(`spark_jars.xml`).

    python -m cli.spark_cluster up      # `make spark-up`: start it, print SPARK_REMOTE
    python -m cli.spark_cluster down    # `make spark-down`
    python -m cli.spark_cluster jars    # resolve the extra jars with Maven (cached)

The test fixture (`tests/servers/spark.py`) starts the same processes from `commands()`.
Standard library only: `.ci/run` resolves the jars before the virtualenv exists.
"""

from __future__ import annotations

import importlib.util
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

POM = Path(__file__).with_name("spark_jars.xml")
CACHE = Path(
    os.environ.get("COMMERCE_PLATFORM_CACHE")
    or Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "commerce-platform"
)
STATE = Path(os.environ.get("SPARK_CLUSTER_DIR", ".spark"))
CONNECT_PORT = 15002  # Spark Connect's usual port, for `make spark-up`


def pom_property(name: str) -> str:
    found = re.search(rf"<{re.escape(name)}>([^<]+)<", POM.read_text())
    if not found:
        raise RuntimeError(f"{POM.name} has no <{name}>")
    return found.group(1)


def jars_dir() -> Path:
    return CACHE / (f"spark-extra-jars-delta-{pom_property('delta.version')}"
                    f"-hadoop-{pom_property('hadoop.version')}"
                    f"-iceberg-{pom_property('iceberg.version')}")


def hadoop_version() -> str:
    """The Hadoop of pyspark's own jars (hadoop-client-api-<version>.jar)."""
    jars = sorted((spark_home() / "jars").glob("hadoop-client-api-*.jar"))
    if not jars:
        raise RuntimeError(f"no hadoop-client-api jar in {spark_home() / 'jars'}")
    return jars[0].name.removeprefix("hadoop-client-api-").removesuffix(".jar")


def check_hadoop() -> None:
    """hadoop-aws must be built for the cluster's Hadoop (S3A calls its internals)."""
    pinned, have = pom_property("hadoop.version"), hadoop_version()
    if pinned != have:
        raise RuntimeError(f"{POM.name} pins hadoop-aws {pinned}, pyspark's Hadoop is {have}")


def install_jars(timeout: float = 900) -> Path:
    """Resolve Delta Lake, the Kafka source, hadoop-aws (with the AWS SDK bundle), Iceberg's
    Spark runtime and the catalog's JDBC drivers, and their dependencies (cached)."""
    target = jars_dir()
    if (target / ".complete").exists():
        return target
    mvn = shutil.which("mvn")
    if not mvn:
        raise RuntimeError("the Spark cluster's extra jars are not cached and `mvn` is missing")
    staging = target.with_name(target.name + ".partial")
    shutil.rmtree(staging, ignore_errors=True)
    staging.parent.mkdir(parents=True, exist_ok=True)
    log_path = target.parent / "spark-mvn.log"
    with log_path.open("w") as log:
        done = subprocess.run(
            [mvn, "-q", "-B", "-f", str(POM), "dependency:copy-dependencies",
             "-DincludeScope=runtime", f"-DoutputDirectory={staging}"],
            stdout=log, stderr=subprocess.STDOUT, timeout=timeout, check=False,
        )
    if done.returncode:
        tail = "\n".join(log_path.read_text(errors="replace").splitlines()[-15:])
        raise RuntimeError(f"mvn could not resolve {POM.name} (log {log_path}):\n{tail}")
    shutil.rmtree(target, ignore_errors=True)
    staging.rename(target)
    (target / ".complete").touch()
    return target


def spark_home() -> Path:
    spec = importlib.util.find_spec("pyspark")
    if spec is None or not spec.origin:
        raise RuntimeError("pyspark is not installed (pip install -e .)")
    return Path(spec.origin).parent


def _artifact(jar: str) -> str:
    return re.sub(r"-\d[\w.\-]*\.jar$", "", jar)


def extra_jars() -> list[Path]:
    """The extra jars whose artifact the pyspark package does not already carry (its own
    versions of shared libraries win, so nothing is on the class path twice), and the
    `commerce` catalog's class (`cli.spark_iceberg`, compiled on first use)."""
    from cli.spark_iceberg import catalog_jar

    check_hadoop()
    spark_jars = spark_home() / "jars"
    have = {_artifact(p.name) for p in spark_jars.glob("*.jar")}
    extra = install_jars()
    return [*sorted(p for p in extra.glob("*.jar") if _artifact(p.name) not in have),
            catalog_jar(extra, spark_jars)]


def connect_conf(jars: list[Path]) -> dict[str, str]:
    """Settings of the Connect server's session: Delta's SQL extension and catalog."""
    return {
        "spark.jars": ",".join(str(j) for j in jars),
        "spark.sql.extensions": "io.delta.sql.DeltaSparkSessionExtension",
        "spark.sql.catalog.spark_catalog": "org.apache.spark.sql.delta.catalog.DeltaCatalog",
        "spark.sql.session.timeZone": "UTC",
        "spark.ui.enabled": "false",
        "spark.sql.shuffle.partitions": "8",
    }


@dataclass(frozen=True)
class Ports:
    master: int
    connect: int


def commands(
    ports: Ports, workdir: Path, cores: int | None = None, memory: str = "4g"
) -> dict[str, list[str]]:
    """The three processes, in start order: master, worker (every core of the machine by
    default), Connect server."""
    cores = cores or os.cpu_count() or 1
    home = spark_home()
    master = f"spark://127.0.0.1:{ports.master}"
    conf = {
        **connect_conf(extra_jars()),
        "spark.connect.grpc.binding.address": "127.0.0.1",
        "spark.connect.grpc.binding.port": str(ports.connect),
        "spark.driver.host": "127.0.0.1",
        "spark.executor.memory": os.environ.get("SPARK_EXECUTOR_MEMORY", "3g"),
        "spark.local.dir": str(workdir / "local"),
    }
    return {
        "master": [str(home / "bin/spark-class"), "org.apache.spark.deploy.master.Master",
                   "--host", "127.0.0.1", "--port", str(ports.master), "--webui-port", "0"],
        "worker": [str(home / "bin/spark-class"), "org.apache.spark.deploy.worker.Worker",
                   master, "--host", "127.0.0.1", "--webui-port", "0", "--cores", str(cores),
                   "--memory", memory, "--work-dir", str(workdir / "work")],
        "connect": [str(home / "bin/spark-submit"), "--master", master,
                    "--driver-memory", os.environ.get("SPARK_DRIVER_MEMORY", "2g"),
                    "--class", "org.apache.spark.sql.connect.service.SparkConnectServer",
                    *(a for k, v in conf.items() for a in ("--conf", f"{k}={v}")),
                    "spark-internal"],
    }


def environment(workdir: Path) -> dict[str, str]:
    return {**os.environ, "SPARK_HOME": str(spark_home()), "SPARK_LOG_DIR": str(workdir),
            "SPARK_NO_DAEMONIZE": "1"}


def port_open(port: int) -> bool:
    with socket.socket() as s:
        s.settimeout(0.2)
        return s.connect_ex(("127.0.0.1", port)) == 0


def wait_for_port(port: int, timeout: float, what: str, procs: list[subprocess.Popen]) -> None:
    deadline = time.monotonic() + timeout
    while not port_open(port):
        if any(p.poll() is not None for p in procs):
            raise RuntimeError(f"{what} exited before listening on {port}")
        if time.monotonic() > deadline:
            raise RuntimeError(f"{what} not listening on {port} after {timeout:.0f} s")
        time.sleep(0.2)


def up(workdir: Path = STATE, connect_port: int = CONNECT_PORT, master_port: int = 7077) -> str:
    """Start the cluster detached (logs and pids under `workdir`); the SPARK_REMOTE."""
    workdir = workdir.resolve()
    workdir.mkdir(parents=True, exist_ok=True)
    ports = Ports(master=master_port, connect=connect_port)
    procs = []
    for name, command in commands(ports, workdir).items():
        log = (workdir / f"{name}.log").open("w")
        procs.append(subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT,
                                      env=environment(workdir), start_new_session=True))
        (workdir / f"{name}.pid").write_text(str(procs[-1].pid))
        if name == "master":
            wait_for_port(ports.master, 60, "the Spark master", procs)
    wait_for_port(ports.connect, 180, "the Spark Connect server", procs)
    return f"sc://127.0.0.1:{ports.connect}"


def down(workdir: Path = STATE) -> None:
    for name in ("connect", "worker", "master"):
        pid_file = workdir / f"{name}.pid"
        if pid_file.exists():
            try:
                os.killpg(int(pid_file.read_text()), signal.SIGTERM)
            except ProcessLookupError:
                pass
            pid_file.unlink()


def main(argv: list[str]) -> int:
    command = argv[0] if argv else ""
    if command == "jars":
        print(install_jars())
    elif command == "up":
        remote = up()
        print(f"Spark cluster up (logs in {STATE}/). Point the platform at it:\n"
              f"  export SPARK_REMOTE={remote}")
    elif command == "down":
        down()
        print("Spark cluster stopped")
    else:
        print(__doc__, file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
