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
"""

from __future__ import annotations

import os
from datetime import date

import dagster as dg

POOL = "warehouse"

RETRY = dg.RetryPolicy(
    max_retries=4, delay=3, backoff=dg.Backoff.EXPONENTIAL, jitter=dg.Jitter.PLUS_MINUS
)

# On a run: its input was bad (moved aside with the reason) and asking again cannot help.
NO_REASK_TAG = "platform/no_reask"


def no_reask(context: dg.AssetExecutionContext, why: str) -> None:
    """Mark this run as failed for its input (`why`): the sensors' re-ask rule leaves it be,
    until the same content lands again."""
    context.instance.add_run_tags(context.run_id, {NO_REASK_TAG: why[:200]})


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
