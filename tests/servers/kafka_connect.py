"""One Kafka Connect worker in standalone mode with Debezium's PostgreSQL and MySQL source
connectors, its REST API on a free loopback port.

The jars (Kafka Connect 4.0.0, the same Kafka as the test broker, and Debezium 3.6.1.Final
with their dependencies, Jackson pinned to one version) come from Maven Central through
`docker/kafka-connect/pom.xml`, cached once in
~/.cache/commerce-platform/kafka-connect-<kafka>-debezium-<version>/libs, and run on one
class path: `java -cp 'libs/*' org.apache.kafka.connect.cli.ConnectStandalone`.

Worker settings: JSON converters without schemas (`{"before": ..., "after": ..., "op": ...}`
values, `{"account_id": 1}` keys), source offsets in a file of the fixture's temp dir (a
restarted worker resumes from them), and the `env` config provider
(`EnvVarConfigProvider`): a connector config says `database.password=${env:RETAIL_DB_PASSWORD}`
and the worker reads the value from its own environment, so the password is never in a
registered config. A standalone worker keeps connector configs in memory only: after
`stop()`/`start()` the connectors are registered again (`PUT .../config`, idempotent) and
resume from the stored offsets.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import time
import urllib.error
import urllib.request
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from tests.servers import (
    CACHE_DIR,
    Server,
    free_port,
    make_temp_dir,
    port_open,
    spawn,
    terminate,
    wait_until,
)
from tests.servers.kafka import copy_dependencies, java_bin

# the same pom builds the compose `kafka-connect` image (docker/kafka-connect/Dockerfile)
POM = Path(__file__).resolve().parents[2] / "docker" / "kafka-connect" / "pom.xml"
PASSWORD_ENV = "RETAIL_DB_PASSWORD"
ENV_PROVIDER = "org.apache.kafka.common.config.provider.EnvVarConfigProvider"


def _pom_property(name: str) -> str:
    match = re.search(rf"<{re.escape(name)}>([^<]+)</{re.escape(name)}>", POM.read_text())
    assert match, f"no <{name}> in {POM}"
    return match.group(1)


def connect_version() -> str:
    return _pom_property("kafka.version")


def debezium_version() -> str:
    return _pom_property("debezium.version")


def libs_dir() -> Path:
    return CACHE_DIR / f"kafka-connect-{connect_version()}-debezium-{debezium_version()}" / "libs"


def install_jars(timeout: float = 600) -> Path:
    """Resolve the worker's and the connectors' jars with Maven (cached)."""
    return copy_dependencies(POM, libs_dir(), "Kafka Connect / Debezium", timeout=timeout)


LOG4J2 = (POM.parent / "log4j2.properties").read_text()


class ConnectError(RuntimeError):
    """A Kafka Connect REST call answered with an error status."""


class KafkaConnectServer(Server):
    name = "kafka-connect"

    def __init__(
        self,
        bootstrap: str,
        env: dict[str, str] | None = None,
        start_timeout: float = 120,
        heap: str = "768m",
    ) -> None:
        self.libs = install_jars()
        self.java = java_bin()
        self.version = connect_version()
        self.debezium_version = debezium_version()
        self.bootstrap = bootstrap
        self.extra_env = dict(env or {})  # e.g. RETAIL_DB_PASSWORD for ${env:...}
        self.start_timeout = start_timeout
        self.heap = heap
        self.host = "127.0.0.1"
        self.port = 0
        self.proc: subprocess.Popen[bytes] | None = None
        self.base = make_temp_dir("kafka-connect-")
        self._temp_dirs = [self.base]
        self.offsets_file = self.base / "connect.offsets"
        self.log_path = self.base / "connect.log"
        self.startup_seconds = 0.0

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}"

    def _write_config(self) -> Path:
        props = {
            "bootstrap.servers": self.bootstrap,
            "key.converter": "org.apache.kafka.connect.json.JsonConverter",
            "value.converter": "org.apache.kafka.connect.json.JsonConverter",
            "key.converter.schemas.enable": "false",
            "value.converter.schemas.enable": "false",
            "offset.storage.file.filename": str(self.offsets_file),
            "offset.flush.interval.ms": "1000",
            "listeners": f"http://{self.host}:{self.port}",
            "rest.advertised.host.name": self.host,
            "rest.advertised.port": str(self.port),
            # connectors are on the class path; find them by their service manifests only
            # (no scan of every jar at start)
            "plugin.discovery": "service_load",
            "config.providers": "env",
            "config.providers.env.class": ENV_PROVIDER,
            "task.shutdown.graceful.timeout.ms": "10000",
        }
        path = self.base / "worker.properties"
        path.write_text("".join(f"{k}={v}\n" for k, v in props.items()))
        (self.base / "log4j2.properties").write_text(LOG4J2)
        return path

    def _env(self) -> dict[str, str]:
        env = {k: v for k, v in os.environ.items() if k != PASSWORD_ENV}
        env.update(self.extra_env)
        return env

    def start(self) -> None:
        if self.running:
            return
        t0 = time.monotonic()
        self.port = self.port or free_port()
        config = self._write_config()
        self.proc = spawn(
            [
                self.java,
                f"-Xmx{self.heap}",
                "-Xms128m",
                "-XX:+UseSerialGC",
                "-XX:TieredStopAtLevel=1",
                "-Djava.awt.headless=true",
                f"-Dlog4j2.configurationFile={self.base / 'log4j2.properties'}",
                f"-Dkafka.logs.dir={self.base / 'logs'}",
                "-cp",
                f"{self.libs}/*",
                "org.apache.kafka.connect.cli.ConnectStandalone",
                str(config),
            ],
            self.log_path,
            cwd=self.base,
            env=self._env(),
        )
        self._register()

        def ready() -> bool:
            if not port_open(self.port):
                return False
            plugins = self.request("GET", "/connector-plugins")
            return any("debezium" in p["class"] for p in plugins)

        wait_until(
            ready,
            timeout=self.start_timeout,
            what=f"Kafka Connect on {self.url}",
            proc=self.proc,
            log_path=self.log_path,
            interval=0.3,
        )
        self.startup_seconds = time.monotonic() - t0

    def stop(self) -> None:
        # SIGTERM: the worker stops its tasks and flushes their offsets to the file
        terminate(self.proc, grace=30)
        self.proc = None

    # --- REST ---------------------------------------------------------------------------

    def request(self, method: str, path: str, body: Any = None, timeout: float = 30) -> Any:
        """One REST call; the JSON answer (None for 204). Raises ConnectError on 4xx/5xx."""
        data = None if body is None else json.dumps(body).encode()
        req = urllib.request.Request(
            self.url + path,
            data=data,
            method=method,
            headers={"Content-Type": "application/json", "Accept": "application/json"},
        )
        try:
            with urllib.request.urlopen(req, timeout=timeout) as resp:
                raw = resp.read()
        except urllib.error.HTTPError as exc:
            raise ConnectError(f"{method} {path}: {exc.code} {exc.read().decode()[:500]}") from None
        return json.loads(raw) if raw else None

    def connectors(self) -> list[str]:
        return self.request("GET", "/connectors")

    def status(self, name: str) -> dict:
        return self.request("GET", f"/connectors/{name}/status")

    def config(self, name: str) -> dict:
        return self.request("GET", f"/connectors/{name}/config")

    def delete(self, name: str) -> None:
        try:
            self.request("DELETE", f"/connectors/{name}")
        except ConnectError as exc:
            if " 404 " not in str(exc):
                raise

    def wait_running(self, name: str, timeout: float = 60) -> dict:
        """Wait until the connector and its task run; its status. A FAILED one raises with
        the trace Connect reports."""
        deadline = time.monotonic() + timeout
        status: dict = {}
        while time.monotonic() < deadline:
            try:
                status = self.status(name)
            except ConnectError:
                time.sleep(0.2)
                continue
            states = [status["connector"]["state"], *(t["state"] for t in status["tasks"])]
            for part in [status["connector"], *status["tasks"]]:
                if part["state"] == "FAILED":
                    raise ConnectError(f"connector {name} failed: {part.get('trace', '')[:3000]}")
            if status["tasks"] and all(s == "RUNNING" for s in states):
                return status
            time.sleep(0.2)
        raise ConnectError(f"connector {name} not running after {timeout}s: {status}")


def start_kafka_connect(bootstrap: str, env: dict[str, str] | None = None) -> KafkaConnectServer:
    return KafkaConnectServer(bootstrap, env=env).started()


# --- Reading change events (confluent-kafka), for the CDC tests and their consumers ------


def end_offsets(bootstrap: str, topics: Iterable[str]) -> dict[str, int]:
    """Topic -> its end offset summed over partitions (0 for a topic that does not exist
    yet). A new client each call: a long-lived one caches "unknown topic" for minutes."""
    from confluent_kafka import Consumer, TopicPartition

    consumer = Consumer(
        {"bootstrap.servers": bootstrap, "group.id": "cdc-offsets", "enable.auto.commit": False}
    )
    try:
        meta = consumer.list_topics(timeout=10)
        out = {}
        for topic in topics:
            parts = meta.topics.get(topic)
            if parts is None or parts.error is not None:
                out[topic] = 0
                continue
            out[topic] = sum(
                consumer.get_watermark_offsets(TopicPartition(topic, p), timeout=10)[1]
                for p in parts.partitions
            )
        return out
    finally:
        consumer.close()


def wait_for_offsets(
    bootstrap: str, minimum: dict[str, int], timeout: float = 120
) -> dict[str, int]:
    """Wait until every topic's end offset is at least `minimum[topic]`; the end offsets."""
    deadline = time.monotonic() + timeout
    while True:
        ends = end_offsets(bootstrap, minimum)
        if all(ends[t] >= n for t, n in minimum.items()):
            return ends
        if time.monotonic() > deadline:
            raise TimeoutError(f"topics short of {minimum} after {timeout}s: {ends}")
        time.sleep(0.3)


@dataclass(frozen=True)
class Event:
    """One change event: Debezium's envelope (JSON without schema) and its key."""

    topic: str
    offset: int
    key: dict[str, Any]
    value: dict[str, Any]

    @property
    def op(self) -> str:  # "r" snapshot read, "c" insert, "u" update, "d" delete
        return self.value["op"]

    @property
    def before(self) -> dict[str, Any] | None:
        return self.value.get("before")

    @property
    def after(self) -> dict[str, Any] | None:
        return self.value.get("after")


def read_events(
    bootstrap: str,
    topics: Iterable[str],
    start: dict[str, int] | None = None,
    until: dict[str, int] | None = None,
    timeout: float = 60,
) -> dict[str, list[Event]]:
    """Topic -> its events from offset `start[topic]` (default 0) up to `until[topic]`
    (default: the end offset now), in order. One partition per topic (the test broker's
    default). Raises TimeoutError when fewer arrive in time."""
    from confluent_kafka import Consumer, TopicPartition

    topics = list(topics)
    start = start or {}
    until = until or end_offsets(bootstrap, topics)
    out: dict[str, list[Event]] = {t: [] for t in topics}
    wanted = {t for t in topics if until[t] > start.get(t, 0)}
    if not wanted:
        return out
    consumer = Consumer(
        {
            "bootstrap.servers": bootstrap,
            "group.id": "cdc-read",
            "enable.auto.commit": False,
            "fetch.wait.max.ms": 100,
        }
    )
    try:
        consumer.assign([TopicPartition(t, 0, start.get(t, 0)) for t in wanted])
        deadline = time.monotonic() + timeout
        while wanted:
            if time.monotonic() > deadline:
                got = {t: len(v) for t, v in out.items()}
                raise TimeoutError(f"read {got} events, wanted up to offsets {until}")
            for msg in consumer.consume(num_messages=10_000, timeout=0.5):
                if msg.error():
                    continue
                topic = msg.topic()
                if topic not in wanted or msg.offset() >= until[topic]:
                    continue
                out[topic].append(
                    Event(
                        topic,
                        msg.offset(),
                        json.loads(msg.key()) if msg.key() else {},
                        json.loads(msg.value()) if msg.value() else {},
                    )
                )
                if msg.offset() + 1 >= until[topic]:
                    wanted.discard(topic)
        return out
    finally:
        consumer.close()


@dataclass
class CdcSource:
    """A seeded retail database with its connector registered and its snapshot in Kafka.
    Unpacks as `(db_url, topics)`."""

    backend: str  # "postgresql" or "mariadb"
    db_url: str  # with the password (the `retail` account)
    topics: dict[str, str]  # table -> topic
    connector: str  # the connector's name on the worker
    topic_prefix: str
    counts: dict[str, int]  # rows seeded per table = snapshot events per topic
    config: dict[str, str] = field(default_factory=dict)  # as registered

    def __iter__(self) -> Iterator[Any]:
        return iter((self.db_url, self.topics))
