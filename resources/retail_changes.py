"""The point-of-sale database's change topics (Debezium on Kafka Connect; docs/cdc.md).

`RETAIL_CDC_TOPIC_PREFIX` is the connector's `topic.prefix` (e.g. `retail`): its topics are
`<prefix>.<schema or database>.<table>`, one per source table. Unset, the change stream is
off and the features come from the CSV extracts only.
"""

from __future__ import annotations

import dagster as dg

DEFAULT_MAX_EVENTS = 200_000


class RetailChanges(dg.ConfigurableResource):
    """The change topics of the retail database, consumed into late_payments_cdc."""

    topic_prefix: str | None = None
    max_events: int = DEFAULT_MAX_EVENTS  # per batch (one run); the rest is the next batch

    @property
    def enabled(self) -> bool:
        return bool(self.topic_prefix)

    def topics(self, consumer, tables: tuple[str, ...], timeout: float = 10.0) -> list[str]:
        """The prefix's topics of `tables` that exist now (`prefix.<schema>.<table>`)."""
        prefix = f"{self.topic_prefix}."
        names = consumer.list_topics(timeout=timeout).topics
        return sorted(
            t for t in names
            if t.startswith(prefix) and t.count(".") == 2 and t.rsplit(".", 1)[1] in tables
        )
