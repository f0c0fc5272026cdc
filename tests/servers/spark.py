"""A Spark standalone cluster (master, one worker) and a Spark Connect server on loopback.

The processes and their settings are `cli.spark_cluster.commands()` (what `make spark-up`
starts); here they run as children of the test session on free ports, in a temp dir. The
jars are the pyspark package's own plus Delta Lake, the Kafka source and Iceberg, resolved once
with Maven (`cli/spark_jars.xml`, cached), and the `commerce` catalog's class (JDK's javac).
"""

from __future__ import annotations

import shutil
import time

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


class SparkCluster(Server):
    name = "spark"

    def __init__(self, start_timeout: float = 240) -> None:
        if not shutil.which("java"):
            raise ServerUnavailable("Spark needs Java 17+ (no `java` on PATH)")
        try:
            from cli import spark_cluster

            spark_cluster.spark_home()
            spark_cluster.extra_jars()  # resolved with Maven, the catalog's class built
        except Exception as exc:  # noqa: BLE001 - no pyspark, mvn, javac or network
            raise ServerUnavailable(f"Spark cluster tooling: {exc}") from exc
        self.cluster = spark_cluster
        self.start_timeout = start_timeout
        self.base = make_temp_dir("spark-")
        self._temp_dirs = [self.base]
        self.procs: dict = {}
        self.ports = spark_cluster.Ports(master=free_port(), connect=free_port())
        self.startup_seconds = 0.0

    @property
    def remote(self) -> str:
        """The `SPARK_REMOTE` of this cluster."""
        return f"sc://127.0.0.1:{self.ports.connect}"

    def start(self) -> None:
        t0 = time.monotonic()
        env = self.cluster.environment(self.base)
        for name, command in self.cluster.commands(self.ports, self.base).items():
            log = self.base / f"{name}.log"
            self.procs[name] = spawn(command, log, cwd=self.base, env=env)
            self._register()
            if name == "master":
                wait_until(lambda: port_open(self.ports.master), timeout=60,
                           what="the Spark master", proc=self.procs[name], log_path=log)
        wait_until(lambda: port_open(self.ports.connect), timeout=self.start_timeout,
                   what=f"Spark Connect on {self.remote}", proc=self.procs["connect"],
                   log_path=self.base / "connect.log", interval=0.3)
        self.startup_seconds = time.monotonic() - t0

    def stop(self) -> None:
        for name in ("connect", "worker", "master"):
            terminate(self.procs.pop(name, None), grace=20)


def start_spark() -> SparkCluster:
    return SparkCluster().started()
