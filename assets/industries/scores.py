"""Industry change scores: last 24 h vs the 30-day daily average, from the hourly rollup."""


from datetime import UTC, datetime, timedelta

import dagster as dg
import duckdb

from assets.industries.common import (
    CUSTOMER_HOURLY,
    CUSTOMERS,
    GROUP,
    HISTORY,
    INDUSTRIES,
    SCHEMA,
    SCORES,
)
from assets.industries.schema import SCHEMA as TABLES
from assets.shared import POOL, md_table
from resources import Warehouse
from resources.sql import transaction

SUM_CHECK = "scores_sum_to_rollup"
UNKNOWN_CUSTOMERS_CHECK = "orders_from_known_customers"

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


class ScoreConfig(dg.Config):
    # ISO timestamp (UTC if no zone). Default: end of the latest complete hour of orders.
    as_of: str | None = None


def default_as_of(conn: duckdb.DuckDBPyConnection, now: datetime | None = None) -> datetime:
    """End of the latest complete hour of orders.

    The hour of the newest order is complete once the clock has left it; while it is still
    open, the latest complete hour is the one before it.
    """
    latest = conn.execute(f"SELECT max(hour) FROM {SCHEMA}.customer_hourly").fetchone()[0]
    now = now or datetime.now(UTC)
    current_hour = now.replace(minute=0, second=0, microsecond=0)
    if latest is None:
        return current_hour
    return min(latest.astimezone(UTC) + timedelta(hours=1), current_hour)


def parse_as_of(text: str) -> datetime:
    ts = datetime.fromisoformat(text.replace("Z", "+00:00"))
    return ts if ts.tzinfo else ts.replace(tzinfo=UTC)


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


AUTOMATION = (
    (dg.AutomationCondition.newly_missing() | dg.AutomationCondition.any_deps_updated())
    .since_last_handled()
    .with_label("new orders or customers")
    & ~dg.AutomationCondition.any_deps_in_progress()
    & ~dg.AutomationCondition.in_progress()
)


@dg.multi_asset(
    specs=[
        dg.AssetSpec(
            SCORES, deps=[CUSTOMER_HOURLY, CUSTOMERS], group_name=GROUP, kinds={"duckdb"},
            automation_condition=AUTOMATION,
            description="All ten industries: last 24 h vs the 30-day daily average, ranked.",
        ),
        dg.AssetSpec(
            HISTORY, deps=[SCORES], group_name=GROUP, kinds={"duckdb"},
            automation_condition=AUTOMATION,  # in the same run as the scores it records
            description="Every scoring run's ten rows, with when and by which run.",
        ),
    ],
    check_specs=[
        dg.AssetCheckSpec(SUM_CHECK, asset=SCORES),
        dg.AssetCheckSpec(UNKNOWN_CUSTOMERS_CHECK, asset=SCORES),
    ],
    pool=POOL,
    can_subset=True,
)
def industry_change_scores(
    context: dg.AssetExecutionContext, config: ScoreConfig, warehouse: Warehouse
):
    """Score every industry as of T from the per-customer hourly rollup and the customers.

    Reads only `customer_hourly` rows of [T-24h-30d, T) joined with the customer snapshot,
    never the order history, so a new customer batch rescores in well under a second.
    Replaces the current scores and appends the run to the history in one transaction
    (an identical rerun for the same T adds nothing: idempotent). Either asset can be
    materialized alone: the scores without a history entry, or a history entry of the
    scores as of T without replacing the current ones.
    """
    selected = context.selected_asset_keys
    with warehouse.get_connection(TABLES) as conn:
        as_of = parse_as_of(config.as_of) if config.as_of else default_as_of(conn)
        rows = compute_scores(conn, as_of)
        with transaction(conn):
            if SCORES in selected:
                conn.execute(f"DELETE FROM {SCHEMA}.industry_change_scores")
                conn.executemany(
                    f"INSERT INTO {SCHEMA}.industry_change_scores VALUES (?, ?, ?, ?, ?, ?, ?)",
                    rows,
                )
            appended = HISTORY in selected and append_history(conn, rows, as_of, context.run.run_id)
            history_rows = conn.execute(
                f"SELECT count(*) FROM {SCHEMA}.industry_change_history"
            ).fetchone()[0]
        if SCORES in selected:
            checks = context.selected_asset_check_keys
            for result in score_results(conn, rows, as_of):
                if isinstance(result, dg.AssetCheckResult) and (
                    dg.AssetCheckKey(SCORES, result.check_name) not in checks
                ):
                    continue
                yield result
    if HISTORY in selected:
        yield dg.MaterializeResult(
            asset_key=HISTORY,
            metadata={"dagster/row_count": history_rows, "appended": appended},
        )


def append_history(
    conn: duckdb.DuckDBPyConnection, rows: list[tuple], as_of: datetime, run_id: str
) -> bool:
    """Append the ten rows to the history unless the latest scoring for `as_of` gave the
    same rows (in the caller's transaction); True when appended."""
    previous = conn.execute(
        f"SELECT industry, last_24h, baseline, change_abs, change_pct, rank, as_of "
        f"FROM {SCHEMA}.industry_change_history WHERE scored_at = (SELECT max(scored_at)"
        f" FROM {SCHEMA}.industry_change_history WHERE as_of = ?) ORDER BY rank",
        [as_of],
    ).fetchall()
    if previous == rows:
        return False
    scored_at = datetime.now(UTC)
    conn.executemany(
        f"INSERT INTO {SCHEMA}.industry_change_history VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
        [(*r, scored_at, run_id) for r in rows],
    )
    return True


def score_results(conn: duckdb.DuckDBPyConnection, rows: list[tuple], as_of: datetime):
    """The scores' materialization (top 3, the ten rows) and its two checks."""
    want_last, want_base = rollup_totals(conn, as_of)
    unknown = conn.execute(
        f"SELECT count(DISTINCT h.customer_id), coalesce(sum(h.order_count), 0) "
        f"FROM {SCHEMA}.customer_hourly h ANTI JOIN {SCHEMA}.customers c USING (customer_id)"
    ).fetchone()
    got_last = float(sum(r[1] for r in rows))
    got_base = float(sum(r[2] for r in rows)) * 30
    sum_ok = abs(got_last - want_last) < 0.01 and abs(got_base - want_base) < 0.05
    top3 = [f"{r[0]} {_pct(r[4])} ({float(r[3]):+,.2f})" for r in rows[:3]]
    table = md_table(
        ["rank", "industry", "last_24h", "baseline", "change_abs", "change_pct"],
        [(r[5], r[0], r[1], r[2], r[3], _pct(r[4])) for r in rows],
    )
    yield dg.MaterializeResult(
        asset_key=SCORES,
        metadata={
            "dagster/row_count": len(rows),
            "as_of": as_of.isoformat(),
            "top_1": top3[0],
            "top_2": top3[1],
            "top_3": top3[2],
            "preview": dg.MetadataValue.md(table),
        },
    )
    yield dg.AssetCheckResult(
        asset_key=SCORES,
        check_name=SUM_CHECK,
        passed=sum_ok,
        metadata={
            "last_24h_scores": got_last, "last_24h_rollup": want_last,
            "baseline_x30_scores": got_base, "baseline_x30_rollup": want_base,
        },
    )
    yield dg.AssetCheckResult(
        asset_key=SCORES,
        check_name=UNKNOWN_CUSTOMERS_CHECK,
        passed=unknown[1] == 0,
        severity=dg.AssetCheckSeverity.WARN,
        metadata={"unknown_customers": unknown[0], "orders_from_unknown_customers": unknown[1]},
    )


def _pct(value: float | None) -> str:
    return "n/a (baseline 0)" if value is None else f"{value * 100:+.1f}%"
