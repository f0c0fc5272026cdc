"""How industry change is scored: the window, T, and the set-based SQL over the hourly rollup.

Pure functions over a warehouse connection (no Dagster): the `industry_change_scores` asset,
the tests and the benchmark call them.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import duckdb

from assets.industries.common import INDUSTRIES, SCHEMA

LAST = timedelta(hours=24)
BASELINE = timedelta(days=30)

# All ten industries, even those without customers or orders (then 0 / 0 / null).
SCORE_SQL = f"""
WITH ind AS (SELECT unnest($industries::VARCHAR[]) AS industry),
per_customer AS (
    SELECT customer_id,
           sum(amount) FILTER (WHERE hour >= $t - INTERVAL 24 HOUR) AS last_amt,
           sum(amount) FILTER (WHERE hour < $t - INTERVAL 24 HOUR) AS base_amt
    FROM {SCHEMA}.customer_hourly
    WHERE hour >= $t - INTERVAL 24 HOUR - INTERVAL 30 DAY AND hour < $t
    GROUP BY customer_id),
agg AS (
    SELECT ind.industry,
           coalesce(sum(p.last_amt), 0)::DECIMAL(18,2) AS last_24h,
           round(coalesce(sum(p.base_amt), 0) / 30, 4)::DECIMAL(18,4) AS baseline
    FROM ind
    LEFT JOIN {SCHEMA}.customer_industries ci ON ci.industry = ind.industry
    LEFT JOIN per_customer p ON p.customer_id = ci.customer_id
    GROUP BY ind.industry),
scored AS (
    SELECT industry, last_24h, baseline, (last_24h - baseline)::DECIMAL(18,4) AS change_abs,
           CASE WHEN baseline = 0 THEN NULL
                ELSE round(((last_24h - baseline) / baseline)::DOUBLE, 6) END AS change_pct
    FROM agg)
SELECT industry, last_24h, baseline, change_abs, change_pct,
       row_number() OVER (ORDER BY abs(change_pct) DESC NULLS LAST, abs(change_abs) DESC,
                          industry)::INTEGER AS rank,
       $t AS as_of
FROM scored ORDER BY rank
"""


@dataclass(frozen=True)
class Window:
    """What can be scored: T (None: nothing), whether the loaded order history covers the
    whole window [T-24h-30d, T), and why not."""

    as_of: datetime | None
    complete: bool
    history: str  # "first hour .. last hour" of the loaded orders, or "none"
    reason: str = ""


def parse_as_of(text: str) -> datetime:
    ts = datetime.fromisoformat(text.replace("Z", "+00:00"))
    return ts if ts.tzinfo else ts.replace(tzinfo=UTC)


def scoring_window(
    conn: duckdb.DuckDBPyConnection, as_of: str | None = None, now: datetime | None = None
) -> Window:
    """T, by default the end of the latest complete hour of loaded orders (the newest order's
    hour once the clock has left it, else the hour before): never the wall clock when the
    history ends earlier, and nothing at all before an order and a customer are loaded."""
    first, last = conn.execute(
        f"SELECT min(hour), max(hour) FROM {SCHEMA}.customer_hourly"
    ).fetchone()
    return decide_window(
        first, last, has_customers(conn),
        lambda start, t: conn.execute(
            f"SELECT count(*) FROM {SCHEMA}.customer_hourly WHERE hour >= ? AND hour < ?",
            [start, t],
        ).fetchone()[0],
        as_of, now,
    )


def has_customers(conn: duckdb.DuckDBPyConnection) -> bool:
    # fetchall: duckdb 2 keeps a fetchone() result open and refuses a later relation (.sql)
    return bool(conn.execute(f"SELECT count(*) FROM {SCHEMA}.customers").fetchall()[0][0])


def decide_window(
    first: datetime | None, last: datetime | None, customers: bool,
    rows_between: Callable[[datetime, datetime], int],
    as_of: str | None = None, now: datetime | None = None,
) -> Window:
    """The window from the rollup's first and last hour, whether customers are loaded and
    how many rollup rows a span holds: the one rule for both engines (`scoring_window`)."""
    if last is None or first is None:
        return Window(None, False, "none", "no order is loaded yet: nothing to score")
    first, last = first.astimezone(UTC), last.astimezone(UTC) + timedelta(hours=1)
    history = f"{first:%Y-%m-%d %H:00} .. {last:%Y-%m-%d %H:00} UTC"
    if not customers:
        return Window(None, False, history, "no customer batch is loaded yet: no order can be "
                      "attributed to an industry (every score would read 0)")
    now = (now or datetime.now(UTC)).replace(minute=0, second=0, microsecond=0)
    t = parse_as_of(as_of) if as_of else min(last, now)
    start = t - LAST - BASELINE
    if not rows_between(start, t):
        return Window(None, False, history, f"no loaded order between {start:%Y-%m-%d %H:00} "
                      f"and {t:%Y-%m-%d %H:00} UTC (orders loaded: {history})")
    gaps = [why for why, missing in (
        (f"the orders start at {first:%Y-%m-%d %H:00}, after the window's start", first > start),
        (f"the orders end at {last:%Y-%m-%d %H:00}, before T", last < t),
    ) if missing]
    return Window(t, not gaps, history, "; ".join(gaps))


def compute_scores(conn: duckdb.DuckDBPyConnection, as_of: datetime) -> list[tuple]:
    """The ten rows (industry, last_24h, baseline, change_abs, change_pct, rank, as_of)."""
    return conn.execute(SCORE_SQL, {"industries": list(INDUSTRIES), "t": as_of}).fetchall()


def rollup_totals(conn: duckdb.DuckDBPyConnection, as_of: datetime) -> tuple[float, float]:
    """Independent recomputation for the sum check: Σ amount × (number of known industries)."""
    row = conn.execute(
        f"""SELECT coalesce(sum(h.amount * len(c.industries))
                     FILTER (WHERE h.hour >= $t - INTERVAL 24 HOUR), 0),
                   coalesce(sum(h.amount * len(c.industries))
                     FILTER (WHERE h.hour < $t - INTERVAL 24 HOUR), 0)
            FROM {SCHEMA}.customer_hourly h JOIN {SCHEMA}.customers c USING (customer_id)
            WHERE h.hour >= $t - INTERVAL 24 HOUR - INTERVAL 30 DAY AND h.hour < $t""",
        {"t": as_of},
    ).fetchone()
    return float(row[0]), float(row[1])


class WarehouseScoring:
    """The facts scoring needs, from the warehouse (the embedded engine); `SparkScoring`
    answers the same questions from the lake on the cluster."""

    def __init__(self, conn: duckdb.DuckDBPyConnection) -> None:
        self.conn = conn

    def window(self, as_of: str | None = None, now: datetime | None = None) -> Window:
        return scoring_window(self.conn, as_of, now)

    def scores(self, as_of: datetime) -> list[tuple]:
        return compute_scores(self.conn, as_of)

    def totals(self, as_of: datetime) -> tuple[float, float]:
        return rollup_totals(self.conn, as_of)

    def unknown(self) -> tuple[int, int]:
        """Distinct customers of the rollup missing from the snapshot, and their orders."""
        customers, orders = self.conn.execute(
            f"SELECT count(DISTINCT h.customer_id), coalesce(sum(h.order_count), 0) "
            f"FROM {SCHEMA}.customer_hourly h ANTI JOIN {SCHEMA}.customers c "
            "USING (customer_id)"
        ).fetchone()
        return int(customers), int(orders)
