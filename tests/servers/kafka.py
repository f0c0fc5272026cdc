"""One Apache Kafka broker in KRaft mode (combined broker + controller) on loopback ports.

The jars come from Maven Central through `tests/servers/kafka/pom.xml` (`mvn
dependency:copy-dependencies`, cached in ~/.m2 and copied once into
~/.cache/commerce-platform/kafka-<version>/libs). The storage directory is formatted with
`kafka.tools.StorageTool`, then `kafka.Kafka` runs with `java -cp`.
Topics are auto-created with one partition; internal topics have replication factor 1 and
one partition; consumer groups start without the initial rebalance delay.
"""

from __future__ import annotations

import base64
import os
import re
import shutil
import subprocess
import time
import uuid
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

POM = Path(__file__).parent / "kafka" / "pom.xml"


def kafka_version() -> str:
    match = re.search(r"<kafka.version>([^<]+)</kafka.version>", POM.read_text())
    assert match, f"no <kafka.version> in {POM}"
    return match.group(1)


def libs_dir() -> Path:
    return CACHE_DIR / f"kafka-{kafka_version()}" / "libs"


def java_bin() -> str:
    java_home = os.environ.get("JAVA_HOME")
    if java_home and (Path(java_home) / "bin" / "java").exists():
        return str(Path(java_home) / "bin" / "java")
    found = shutil.which("java")
    if not found:
        raise ServerUnavailable("Kafka needs Java 17+ (no `java` on PATH)")
    return found


def install_jars(timeout: float = 600) -> Path:
    """Resolve the broker's jars with Maven (cached); return the directory holding them."""
    return copy_dependencies(POM, libs_dir(), "Kafka", timeout=timeout)


def copy_dependencies(pom: Path, target: Path, what: str, timeout: float = 600) -> Path:
    """The runtime jars of `pom` copied into `target` by Maven, once (a `.complete` marker)."""
    marker = target / ".complete"
    if marker.exists():
        return target
    mvn = shutil.which("mvn")
    if not mvn:
        raise ServerUnavailable(f"{what} jars are not cached and Maven (`mvn`) is not installed")
    java_bin()
    staging = target.with_name(target.name + ".partial")
    shutil.rmtree(staging, ignore_errors=True)
    staging.parent.mkdir(parents=True, exist_ok=True)
    log = target.parent / "mvn.log"
    run_checked(
        [
            mvn, "-q", "-B", "-f", str(pom),
            "dependency:copy-dependencies",
            "-DincludeScope=runtime",
            f"-DoutputDirectory={staging}",
        ],
        log,
        timeout=timeout,
    )
    shutil.rmtree(target, ignore_errors=True)
    staging.rename(target)
    marker.touch()
    return target


LOG4J2 = """\
status = warn
appender.out.type = Console
appender.out.name = out
appender.out.layout.type = PatternLayout
appender.out.layout.pattern = [%d] %p %m (%c)%n
rootLogger.level = warn
rootLogger.appenderRef.out.ref = out
logger.started.name = kafka.server.KafkaRaftServer
logger.started.level = info
"""


class KafkaServer(Server):
    name = "kafka"

    def __init__(self, start_timeout: float = 90, heap: str = "512m") -> None:
        self.libs = install_jars()
        self.java = java_bin()
        self.version = kafka_version()
        self.start_timeout = start_timeout
        self.heap = heap
        self.host = "127.0.0.1"
        self.port = 0
        self.controller_port = 0
        self.proc: subprocess.Popen[bytes] | None = None
        self.base = make_temp_dir("kafka-")
        self._temp_dirs = [self.base]
        self.log_path = self.base / "kafka.log"
        self.startup_seconds = 0.0

    @property
    def bootstrap(self) -> str:
        return f"{self.host}:{self.port}"

    def _java(self, main: str, *args: str) -> list[str]:
        return [
            self.java,
            f"-Xmx{self.heap}",
            "-Xms128m",
            "-XX:+UseSerialGC",
            "-XX:TieredStopAtLevel=1",
            "-Djava.awt.headless=true",
            f"-Dlog4j2.configurationFile={self.base / 'log4j2.properties'}",
            f"-Dkafka.logs.dir={self.base / 'logs'}",
            "-cp", f"{self.libs}/*",
            main, *args,
        ]

    def _write_config(self) -> Path:
        props = {
            "process.roles": "broker,controller",
            "node.id": "1",
            "controller.quorum.voters": f"1@{self.host}:{self.controller_port}",
            "listeners": (
                f"PLAINTEXT://{self.host}:{self.port},CONTROLLER://{self.host}:{self.controller_port}"
            ),
            "advertised.listeners": f"PLAINTEXT://{self.host}:{self.port}",
            "controller.listener.names": "CONTROLLER",
            "inter.broker.listener.name": "PLAINTEXT",
            "listener.security.protocol.map": "CONTROLLER:PLAINTEXT,PLAINTEXT:PLAINTEXT",
            "log.dirs": str(self.base / "data"),
            "auto.create.topics.enable": "true",
            "num.partitions": "1",
            "default.replication.factor": "1",
            "offsets.topic.replication.factor": "1",
            "offsets.topic.num.partitions": "1",
            "transaction.state.log.replication.factor": "1",
            "transaction.state.log.min.isr": "1",
            "transaction.state.log.num.partitions": "1",
            "share.coordinator.state.topic.replication.factor": "1",
            "share.coordinator.state.topic.min.isr": "1",
            "group.initial.rebalance.delay.ms": "0",
            "num.network.threads": "2",
            "num.io.threads": "2",
            "log.retention.check.interval.ms": "3600000",
        }
        path = self.base / "server.properties"
        path.write_text("".join(f"{k}={v}\n" for k, v in props.items()))
        (self.base / "log4j2.properties").write_text(LOG4J2)
        return path

    def start(self) -> None:
        if self.running:
            return
        t0 = time.monotonic()
        if not self.port:
            self.port = free_port()
            self.controller_port = free_port()
            while self.controller_port == self.port:
                self.controller_port = free_port()
            config = self._write_config()
            cluster_id = "-"
            while cluster_id.startswith("-"):  # as Kafka's own Uuid.randomUuid: a leading '-'
                cluster_id = (  # would be read as an option by the storage tool (1 in 64)
                    base64.urlsafe_b64encode(uuid.uuid4().bytes).decode().rstrip("=")
                )
            run_checked(
                self._java(
                    "kafka.tools.StorageTool", "format",
                    "-t", cluster_id, "-c", str(config), "--ignore-formatted",
                ),
                self.base / "format.log",
                cwd=self.base,
            )
        self.proc = spawn(
            self._java("kafka.Kafka", str(self.base / "server.properties")),
            self.log_path,
            cwd=self.base,
        )
        self._register()

        def ready() -> bool:
            from confluent_kafka.admin import AdminClient

            if not port_open(self.port):  # keep librdkafka from logging refused connects
                return False
            admin = AdminClient({"bootstrap.servers": self.bootstrap, "socket.timeout.ms": 2000})
            meta = admin.list_topics(timeout=2)
            return bool(meta.brokers)

        wait_until(
            ready,
            timeout=self.start_timeout,
            what=f"Kafka on {self.bootstrap}",
            proc=self.proc,
            log_path=self.log_path,
            interval=0.3,
        )
        self.startup_seconds = time.monotonic() - t0

    def stop(self) -> None:
        terminate(self.proc, grace=20)
        self.proc = None


def start_kafka() -> KafkaServer:
    return KafkaServer().started()
