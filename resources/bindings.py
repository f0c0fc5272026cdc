"""The resource bindings of the code location: from the environment (`build_resources`),
and fixed where they are bound (`fixed`, `bind`).

A Pythonic resource bound in `Definitions` can still be reconfigured at launch, field by
field, `{"env": "OTHER_VAR"}` included: a launch could point the document store at another
database or pull the invoices URL, password and all, into the run log. `fixed` binds a
resource so that it takes no config at launch (Dagster refuses any, "Received unexpected
config entry"), and is handed to assets and sensors as the instance built here, `EnvVar`
references unresolved (the resource reads them when it connects, validated, so its errors
name the variable). Its setup and teardown hooks run as Dagster would run them.
"""

from __future__ import annotations

import os
from collections.abc import Iterator, Mapping
from typing import Any

import dagster as dg

from resources.docstore import DocumentStore
from resources.env import DEFAULT_DATA_DIR, from_env, redact
from resources.invoices_db import InvoicesDb
from resources.kafka import KafkaResource
from resources.lib.landing import DEFAULT_SETTLE_SECONDS, DEFAULT_SWEEP_SECONDS
from resources.paths import PlatformPaths
from resources.redaction import guarded, redact_secrets
from resources.retail_changes import RetailChanges
from resources.retail_db import RetailDb
from resources.spark import SparkResource
from resources.sql_source import SqlSource
from resources.warehouse import Warehouse


def store_env() -> dict[str, dg.EnvVar | None]:
    """The object store's `AWS_*` variables, as the `aws_*` fields of a resource."""
    return {f"aws_{name.lower()}": from_env(f"AWS_{name}") for name in (
        "ENDPOINT_URL", "ACCESS_KEY_ID", "SECRET_ACCESS_KEY", "REGION", "SESSION_TOKEN")}


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
        landing_url=os.environ.get("LANDING_URL") or None,
        lake_url=os.environ.get("LAKE_URL") or None,
        iceberg_catalog_url=from_env("ICEBERG_CATALOG_URL"),
        **store_env(),
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
        "retail_changes": RetailChanges(
            topic_prefix=os.environ.get("RETAIL_CDC_TOPIC_PREFIX") or None,
        ),
        "spark": SparkResource(remote=from_env("SPARK_REMOTE"), paths=paths, **store_env()),
        "docstore": DocumentStore(
            uri=from_env("MONGODB_URI"),
            database=os.environ.get("MONGODB_DATABASE") or "commerce",
            path=str(paths.docstore),
        ),
        # the retail point-of-sale database as a live source (docs/cdc.md): bound only when
        # RETAIL_DB_URL is set (the batch pipeline reads its CSV extracts either way)
        **({"retail_db": RetailDb(url=retail)} if (retail := from_env("RETAIL_DB_URL")) else {}),
    }


def described(resource: dg.ConfigurableResource) -> str:
    """What the UI's resource page shows: the class's summary and where each field comes
    from; a variable by its name, never its value."""
    fields = []
    for name in type(resource).model_fields:
        value = getattr(resource, name)
        if isinstance(value, dg.EnvVar):
            fields.append(f"`{name}` from ${value.env_var_name}")
        elif isinstance(value, str) and "://" in value:
            fields.append(f"`{name}` = {redact(value)}")
        elif value is None:
            fields.append(f"`{name}` not set")
        else:
            fields.append(f"`{name}` = {redact_secrets(str(value))}")
    summary = (type(resource).__doc__ or type(resource).__name__).strip().split("\n\n")[0]
    return (f"{' '.join(summary.split())} {type(resource).__name__}: {'; '.join(fields)}. "
            "Bound in definitions.py; takes no config at launch.")


class FixedResource(dg.ResourceDefinition):
    """A Pythonic resource bound as built (`.resource`): no field can be set at launch
    (config schema `{}`); runs and sensors get that instance, set up and torn down by its
    own hooks."""

    def __init__(self, resource: dg.ConfigurableResource) -> None:
        self.resource = resource

        def init(context: dg.InitResourceContext) -> Iterator[Any]:
            with guarded(), resource.yield_for_execution(context) as value:
                yield value

        super().__init__(resource_fn=init, config_schema={}, description=described(resource))


def bind(resources: Mapping[str, Any]) -> dict[str, Any]:
    """The bindings of a code location: every Pythonic resource fixed, others as given."""
    return {key: FixedResource(value) if isinstance(value, dg.ConfigurableResource) else value
            for key, value in resources.items()}


def resource_of(binding: Any) -> Any:
    """The resource instance behind a binding (code outside a run: the demo's answers)."""
    return binding.resource if isinstance(binding, FixedResource) else binding
