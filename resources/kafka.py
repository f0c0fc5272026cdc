"""Apache Kafka (KAFKA_BOOTSTRAP_SERVERS, ORDERS_TOPIC); absent means file-based streams."""

from __future__ import annotations

import os
from typing import Any

import dagster as dg


class KafkaResource(dg.ConfigurableResource):
    """Producer/consumer factory for the order stream; `enabled` is False without servers."""

    bootstrap_servers: str | None = None
    topic: str = "orders"

    @classmethod
    def from_env(cls) -> KafkaResource:
        return cls(
            bootstrap_servers=os.environ.get("KAFKA_BOOTSTRAP_SERVERS") or None,
            topic=os.environ.get("ORDERS_TOPIC", "orders"),
        )

    @property
    def enabled(self) -> bool:
        return bool(self.bootstrap_servers)

    def _config(self, extra: dict[str, Any]) -> dict[str, Any]:
        if not self.enabled:
            raise RuntimeError("Kafka is not configured: set KAFKA_BOOTSTRAP_SERVERS")
        return {"bootstrap.servers": self.bootstrap_servers, **extra}

    def consumer(self, group_id: str, **extra: Any):
        """A consumer with auto-commit off: offsets are committed only after a durable write."""
        from confluent_kafka import Consumer

        return Consumer(
            self._config(
                {
                    "group.id": group_id,
                    "enable.auto.commit": False,
                    "auto.offset.reset": "earliest",
                    **extra,
                }
            )
        )

    def producer(self, **extra: Any):
        from confluent_kafka import Producer

        return Producer(self._config({"enable.idempotence": True, **extra}))
