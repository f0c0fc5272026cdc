"""Every external system the platform talks to, one `ConfigurableResource` each.

`build_resources()` reads the environment (see the README's table): with nothing set,
everything is embedded under `PLATFORM_DATA_DIR`; a URL switches that part to a server.
"""

from __future__ import annotations

from typing import Any

from resources.docstore import DocumentStore
from resources.invoices_db import InvoicesDb
from resources.kafka import KafkaResource
from resources.paths import PlatformPaths
from resources.sql_source import SqlSource
from resources.warehouse import Warehouse

__all__ = [
    "DocumentStore",
    "InvoicesDb",
    "KafkaResource",
    "PlatformPaths",
    "SqlSource",
    "Warehouse",
    "build_resources",
]


def build_resources() -> dict[str, Any]:
    """The resource bindings of the code location, from environment variables."""
    return {
        "paths": PlatformPaths.from_env(),
        "warehouse": Warehouse.from_env(),
        "invoices_db": InvoicesDb.from_env(),
        "purchases_db": SqlSource.from_env("PURCHASES_DB_URL", "purchases.sqlite"),
        "ecommerce_db": SqlSource.from_env("ECOMMERCE_DB_URL", "ecommerce.sqlite"),
        "kafka": KafkaResource.from_env(),
        "docstore": DocumentStore.from_env(),
    }
