"""The resource bindings of the code location, from the environment (`build_resources`)."""

from __future__ import annotations

import os
from typing import Any

from resources.docstore import DocumentStore
from resources.env import DEFAULT_DATA_DIR, from_env
from resources.invoices_db import InvoicesDb
from resources.kafka import KafkaResource
from resources.landing import DEFAULT_SETTLE_SECONDS, DEFAULT_SWEEP_SECONDS
from resources.paths import PlatformPaths
from resources.spark import SparkResource
from resources.sql_source import SqlSource
from resources.warehouse import Warehouse


def build_resources() -> dict[str, Any]:
    """The resource bindings of the code location, from environment variables."""
    paths = PlatformPaths(
        data_dir=os.path.abspath(os.environ.get("PLATFORM_DATA_DIR") or DEFAULT_DATA_DIR),
        landing_settle_seconds=float(
            os.environ.get("LANDING_SETTLE_SECONDS") or DEFAULT_SETTLE_SECONDS
        ),
        landing_sweep_seconds=float(
            os.environ.get("LANDING_SWEEP_SECONDS") or DEFAULT_SWEEP_SECONDS
        ),
    )
    warehouse = str(paths.warehouse)
    return {
        "paths": paths,
        "warehouse": Warehouse(database=warehouse),
        "invoices_db": InvoicesDb(url=from_env("INVOICES_DB_URL"), warehouse_path=warehouse),
        "purchases_db": SqlSource(
            url=from_env("PURCHASES_DB_URL") or f"sqlite:///{paths.sources / 'purchases.sqlite'}"
        ),
        "ecommerce_db": SqlSource(
            url=from_env("ECOMMERCE_DB_URL") or f"sqlite:///{paths.sources / 'ecommerce.sqlite'}"
        ),
        "kafka": KafkaResource(
            bootstrap_servers=from_env("KAFKA_BOOTSTRAP_SERVERS"),
            topic=os.environ.get("ORDERS_TOPIC") or "orders",
        ),
        "spark": SparkResource(remote=from_env("SPARK_REMOTE")),
        "docstore": DocumentStore(
            uri=from_env("MONGODB_URI"),
            database=os.environ.get("MONGODB_DATABASE") or "commerce",
            path=str(paths.docstore),
        ),
    }
