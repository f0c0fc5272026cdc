"""The bottom layer: one `ConfigurableResource` per external system, and the small library
every layer above shares (`env`: secrets as references; `sql`: transactions and schemas;
`files`: atomic writes and content hashes; `landing`: the landing mechanism).

`build_resources()` binds them from the environment (see the README's table): with nothing
set, everything is embedded under `PLATFORM_DATA_DIR`; a URL switches that part to a
server. A URL reaches its resource as a `dg.EnvVar`, so the UI shows the variable's name,
never the value. Building the resources reads the environment and touches no file.
"""

from __future__ import annotations

import importlib
from typing import Any

# Exported names load their module on first use, so that a light consumer of the library
# (the CTR API imports `resources.lib.files` through the serving contract) pulls in neither
# Dagster nor the database drivers.
_EXPORTS = {
    "DocumentStore": "resources.docstore",
    "InvoicesDb": "resources.invoices_db",
    "KafkaResource": "resources.kafka",
    "PlatformPaths": "resources.paths",
    "RetailChanges": "resources.retail_changes",
    "SparkResource": "resources.spark",
    "SqlSource": "resources.sql_source",
    "Warehouse": "resources.warehouse",
    "build_resources": "resources.bindings",
}
__all__ = sorted(_EXPORTS)


def __getattr__(name: str) -> Any:
    if name not in _EXPORTS:
        raise AttributeError(f"module 'resources' has no attribute {name!r}")
    return getattr(importlib.import_module(_EXPORTS[name]), name)
