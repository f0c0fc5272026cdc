"""Conventions every domain follows.

- An asset key is `<domain>/<table>` and the table lives in the warehouse schema `<domain>`,
  so key and table name say the same thing and domains cannot collide.
- Every asset that writes the DuckDB warehouse is in pool `POOL`: `dagster.yaml` allows one
  op of that pool at a time, because DuckDB allows one writing process.
- A step that talks to a server retries with `RETRY` (exponential backoff with jitter:
  about 3, 6, 12 and 24 s), so a database or broker that restarts within ~45 s does not
  leave a file or a batch unloaded. A failure retrying cannot fix (a bad file) raises
  `dg.Failure(allow_retries=False)`.
"""

from __future__ import annotations

import dagster as dg

POOL = "warehouse"

RETRY = dg.RetryPolicy(
    max_retries=4, delay=3, backoff=dg.Backoff.EXPONENTIAL, jitter=dg.Jitter.PLUS_MINUS
)


def asset_key(domain: str, *names: str) -> dg.AssetKey:
    """`<domain>/<table>`: the key of the table `<domain>.<table>` (a source outside the
    warehouse adds its own path: `customers/ecommerce_db/orders`)."""
    return dg.AssetKey([domain, *names])
