"""Settings from the environment, with secrets kept as references.

A server URL can carry a password (`postgresql://user:secret@host/db`). Resources receive
such values as `dg.EnvVar` references: Dagster resolves them inside a run or a sensor and
shows only the variable's name in the UI. Code that uses a resource outside Dagster (the
demo, the benchmarks, tests) reads the value with `resolve`, and anything written to a
log goes through `redact`. `checked` also validates a URL (`resources.urls`) before a
driver sees it, naming the variable when it is malformed.
"""

from __future__ import annotations

import os
from urllib.parse import urlsplit

import dagster as dg

from resources.lib.storage import DEFAULT_DATA_DIR
from resources.urls import ConfigError, check_url

__all__ = ["DEFAULT_DATA_DIR"]  # defined with the storage layer; imported from here too



def from_env(name: str) -> dg.EnvVar | None:
    """A reference to `name` when it is set (and not empty), else None (embedded default)."""
    return dg.EnvVar(name) if os.environ.get(name) else None


def resolve(value: str | None) -> str | None:
    """The value behind a setting: an `EnvVar` is read from the environment now (bound
    because it was set, so unset now is a configuration error, not a silent default)."""
    if isinstance(value, dg.EnvVar):
        resolved = value.get_value()
        if not resolved:
            raise ConfigError(value.env_var_name, "is bound to this resource but not set in "
                              "this process' environment")
        return resolved
    return value


def checked(value: str | None, kind: str, field: str) -> str | None:
    """The URL behind a setting, validated as a URL of `kind` (`resources.urls.KINDS`), or
    None when not set. A malformed URL raises `ConfigError` naming the variable (or `field`,
    e.g. `InvoicesDb.url`, for a value given directly), never the value."""
    url = resolve(value)
    if not url:
        return None
    return check_url(value.env_var_name if isinstance(value, dg.EnvVar) else field, url, kind)


def redact(url: str) -> str:
    """A URL safe for logs and metadata: scheme, host, port and database, never a password
    (nor, for a malformed URL, a piece of one: what does not parse is shown as `?`)."""
    if url.startswith("sqlite"):
        return f"SQLite file {url.removeprefix('sqlite:///')}"
    try:
        parts = urlsplit(url)
        host = parts.hostname or "?"
        port = f":{parts.port}" if parts.port else ""
    except ValueError:
        return f"{url.partition(':')[0].split('+')[0]}://?"
    path = "/?" if "@" in parts.path else parts.path  # a password's '/' moved it there
    return f"{parts.scheme.split('+')[0]}://{host}{port}{path}"
