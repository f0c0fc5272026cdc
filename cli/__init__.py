"""Command-line entry points: `python -m cli.demo`, `cli.generate`, `cli.orders_stream`."""

import warnings

# The platform uses `backfill_policy` (single-run backfills) on purpose; Dagster prints a
# beta notice for every asset that sets it, which would drown the CLI's own output.
warnings.filterwarnings("ignore", message="Parameter `backfill_policy`")
