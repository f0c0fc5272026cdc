"""Settings from the environment, with secrets kept as references.

A server URL can carry a password (`postgresql://user:secret@host/db`). Resources receive
such values as `dg.EnvVar` references: Dagster resolves them inside a run or a sensor and
shows only the variable's name in the UI. Code that uses a resource outside Dagster (the
demo, the benchmarks, tests) reads the value with `resolve`, and anything written to a
log goes through `redact`.
"""

from __future__ import annotations

import os
from urllib.parse import urlsplit

import dagster as dg

DEFAULT_DATA_DIR = "data/local"


def from_env(name: str) -> dg.EnvVar | None:
    """A reference to `name` when it is set (and not empty), else None (embedded default)."""
    return dg.EnvVar(name) if os.environ.get(name) else None


def resolve(value: str | None) -> str | None:
    """The value behind a setting: an `EnvVar` is read from the environment now."""
    if isinstance(value, dg.EnvVar):
        return value.get_value()
    return value


def redact(url: str) -> str:
    """A URL safe for logs and metadata: scheme, host, port and database, never a password."""
    parts = urlsplit(url)
    if parts.scheme.startswith("sqlite"):
        return f"SQLite file {url.removeprefix('sqlite:///')}"
    host = parts.hostname or "?"
    port = f":{parts.port}" if parts.port else ""
    return f"{parts.scheme.split('+')[0]}://{host}{port}{parts.path}"
