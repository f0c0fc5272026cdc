"""Publishing committed industry scores for the API and the page (`resources.lib.serving`).

`industry_change_scores.parquet` is the current table (ten rows); the history is one file
per UTC day of `as_of`, `industry_change_history/<YYYY-MM-DD>.parquet`, holding every
scoring run of that day: a run rewrites only its own day, so the cost follows the run.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import duckdb

from assets.industries.common import SCHEMA
from resources.lib.serving import INDUSTRY_HISTORY, INDUSTRY_SCORES, answer_file, publish_table
from resources.lib.storage import Location

FIELDS = "industry, last_24h, baseline, change_abs, change_pct, rank, as_of, complete"


def publish_scores(conn: duckdb.DuckDBPyConnection, lake: Location) -> None:
    """Replace the published current scores with the committed ones (on a cursor of its
    own: the caller's connection may hold an open result)."""
    with conn.cursor() as cur:
        table = cur.sql(f"SELECT {FIELDS} FROM {SCHEMA}.industry_change_scores ORDER BY rank")
        publish_table(answer_file(lake, INDUSTRY_SCORES), table.to_arrow_table())


def publish_history_day(conn: duckdb.DuckDBPyConnection, lake: Location,
                        as_of: datetime) -> str:
    """Rewrite the history file of `as_of`'s UTC day; the day written."""
    as_of = as_of.replace(tzinfo=UTC) if as_of.tzinfo is None else as_of.astimezone(UTC)
    start = as_of.replace(hour=0, minute=0, second=0, microsecond=0)
    with conn.cursor() as cur:
        table = cur.sql(
            f"SELECT {FIELDS}, scored_at, run_id FROM {SCHEMA}.industry_change_history"
            " WHERE as_of >= $start AND as_of < $end ORDER BY scored_at, as_of, rank",
            params={"start": start, "end": start + timedelta(days=1)},
        ).to_arrow_table()
    day = start.date().isoformat()
    publish_table(answer_file(lake, INDUSTRY_HISTORY, day), table)
    return day
