"""Apache Kafka (KAFKA_BOOTSTRAP_SERVERS, ORDERS_TOPIC); absent means file-based streams."""

from __future__ import annotations

from typing import Any

import dagster as dg

from resources.env import resolve


class KafkaResource(dg.ConfigurableResource):
    """Producer/consumer factory for the order stream; `enabled` is False without servers."""

    bootstrap_servers: str | None = None
    topic: str = "orders"

    @property
    def enabled(self) -> bool:
        return bool(resolve(self.bootstrap_servers))

    def _config(self, extra: dict[str, Any]) -> dict[str, Any]:
        if not self.enabled:
            raise RuntimeError("Kafka is not configured: set KAFKA_BOOTSTRAP_SERVERS")
        return {"bootstrap.servers": resolve(self.bootstrap_servers), **extra}

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
