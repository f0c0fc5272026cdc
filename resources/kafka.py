"""Apache Kafka (KAFKA_BOOTSTRAP_SERVERS, ORDERS_TOPIC); absent means file-based streams."""

from __future__ import annotations

from typing import Any

import dagster as dg

from resources.env import checked
from resources.redaction import guarded


class KafkaResource(dg.ConfigurableResource):
    """Producer/consumer factory for the order stream; `enabled` is False without servers."""

    bootstrap_servers: str | None = None
    topic: str = "orders"

    @property
    def enabled(self) -> bool:
        return bool(self.bootstrap_servers)

    @property
    def bootstrap(self) -> str:
        """The servers (`host:port[,...]`), validated: what a client (or Spark) is given."""
        servers = checked(self.bootstrap_servers, "kafka", "KafkaResource.bootstrap_servers")
        if not servers:
            raise RuntimeError("Kafka is not configured: set KAFKA_BOOTSTRAP_SERVERS")
        return servers

    def _config(self, extra: dict[str, Any]) -> dict[str, Any]:
        return {"bootstrap.servers": self.bootstrap, **extra}

    def consumer(self, group_id: str, **extra: Any):
        """A consumer with auto-commit off: offsets are committed only after a durable write."""
        from confluent_kafka import Consumer

        config = self._config({"group.id": group_id, "enable.auto.commit": False,
                               "auto.offset.reset": "earliest", **extra})
        with guarded():
            return Consumer(config)

    def producer(self, **extra: Any):
        from confluent_kafka import Producer

        config = self._config({"enable.idempotence": True, **extra})
        with guarded():
            return Producer(config)
