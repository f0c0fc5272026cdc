"""Conventions every domain follows.

- An asset key is `<domain>/<table>` and the table lives in the warehouse schema `<domain>`,
  so key and table name say the same thing and domains cannot collide.
- Every asset that writes the DuckDB warehouse is in pool `POOL`: `dagster.yaml` allows one
  op of that pool at a time, because DuckDB allows one writing process.
- A domain's partitions start at its history start, `<DOMAIN>_HISTORY_START` (a date;
  the domain gives the default): partition views begin where data can begin, and data
  older than that is rejected with that reason.
- A step that talks to a server retries with `RETRY` (exponential backoff with jitter:
  about 3, 6, 12 and 24 s), so a database or broker that restarts within ~45 s does not
  leave a file or a batch unloaded. A failure retrying cannot fix (a bad file) raises
  `dg.Failure(allow_retries=False)`; when its input is bad (the file moved aside), the step
  also says so with `no_reask`, and the sensors do not ask for that run again
  (`sensors/reask.py`; every other failed run is asked again with backoff).
- Op config (what a person sets at launch) derives from `LaunchConfig`: Dagster lets any
  string of it be read from an environment variable (`{"env": "INVOICES_DB_URL"}`), so a
  value that carries a configured secret is refused at the step's start, naming the field and
  the variable, never the value (and not retried); validation errors do not echo inputs.
  Locations and secrets are not op config: they are the resources, bound in definitions.py.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from datetime import date
from typing import Any

import dagster as dg
from pydantic import ConfigDict, model_validator

from resources.redaction import configured_secrets
from resources.urls import ConfigError

POOL = "warehouse"

# STEP_RETRY_DELAY_SECONDS (default 3): the first wait; then 2x, 4x, 8x that
RETRY = dg.RetryPolicy(
    max_retries=4, delay=float(os.environ.get("STEP_RETRY_DELAY_SECONDS") or 3),
    backoff=dg.Backoff.EXPONENTIAL, jitter=dg.Jitter.PLUS_MINUS,
)

# On a run: the domain it works for. The run queue limits each domain's runs in progress
# (dagster.yaml `tag_concurrency_limits`), so one domain's backlog never fills the queue.
DOMAIN_TAG = "platform/domain"

# On a run: its input was bad (moved aside with the reason) and asking again cannot help.
NO_REASK_TAG = "platform/no_reask"


def no_reask(context: dg.AssetExecutionContext, why: str) -> None:
    """Mark this run as failed for its input (`why`): the sensors' re-ask rule leaves it be,
    until the same content lands again."""
    context.instance.add_run_tags(context.run.run_id, {NO_REASK_TAG: why[:200]})


def history_start(domain: str, default: str) -> str:
    """The first day (YYYY-MM-DD) of `domain`'s partitions: `<DOMAIN>_HISTORY_START` or
    `default`. Read when the definitions load."""
    name = f"{domain.upper()}_HISTORY_START"
    value = os.environ.get(name) or default
    try:
        date.fromisoformat(value)
    except ValueError:
        raise ValueError(f"{name}={value!r}: expected a date, YYYY-MM-DD") from None
    return value


def asset_key(domain: str, *names: str) -> dg.AssetKey:
    """`<domain>/<table>`: the key of the table `<domain>.<table>` (a source outside the
    warehouse adds its own path: `customers/ecommerce_db/orders`)."""
    return dg.AssetKey([domain, *names])


def _strings(value: Any) -> Iterator[str]:
    if isinstance(value, str):
        yield value
    elif isinstance(value, list | tuple | set):
        for item in value:
            yield from _strings(item)
    elif isinstance(value, dict):
        for item in (*value.keys(), *value.values()):
            yield from _strings(item)


class LaunchConfig(dg.Config):
    """Base of every op config: no value may carry a configured secret (see the module)."""

    model_config = ConfigDict(hide_input_in_errors=True)

    @model_validator(mode="after")
    def _no_secret(self) -> LaunchConfig:
        secrets = configured_secrets()
        for name in type(self).model_fields:
            for text in _strings(getattr(self, name)):
                found = max((s for s in secrets if s in text), key=len, default=None)
                if found:
                    raise ConfigError(f"launch config `{name}`", f"carries a secret "
                                      f"({secrets[found].strip('<>')}): op config takes no "
                                      "secret")
        return self
