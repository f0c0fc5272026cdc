"""Industry change scores: last 24 h vs the 30-day daily average, from the hourly rollup."""

from datetime import UTC, datetime

import dagster as dg
import duckdb

from assets.industries.common import (
    CUSTOMER_HOURLY,
    CUSTOMERS,
    DOMAIN,
    GROUP,
    HISTORY,
    SCHEMA,
    SCORES,
)
from assets.industries.publish import publish_history_day, publish_scores
from assets.industries.schema import SCHEMA as TABLES
from assets.industries.scoring import WarehouseScoring, Window
from assets.industries.spark_scoring import SparkScoring
from assets.shared import POOL, LaunchConfig, md_table
from assets.shared.catalog import publish_partitions, publish_tables
from resources import PlatformPaths, SparkResource, Warehouse
from resources.sql import transaction

SUM_CHECK = "scores_sum_to_rollup"
UNKNOWN_CUSTOMERS_CHECK = "orders_from_known_customers"
COLUMNS = "industry, last_24h, baseline, change_abs, change_pct, rank, as_of, complete"


class ScoreConfig(LaunchConfig):
    # ISO timestamp (UTC if no zone). Default: end of the latest complete hour of orders.
    as_of: str | None = None


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
            automation_condition=AUTOMATION, skippable=True,
            description="All ten industries: last 24 h vs the 30-day daily average, ranked; "
            "`complete` is false when the loaded orders do not cover the whole window.",
        ),
        dg.AssetSpec(
            HISTORY, deps=[SCORES], group_name=GROUP, kinds={"duckdb"},
            automation_condition=AUTOMATION, skippable=True,  # in the scores' run
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
    context: dg.AssetExecutionContext, config: ScoreConfig, warehouse: Warehouse,
    paths: PlatformPaths, spark: SparkResource,
):
    """Score every industry as of T from the per-customer hourly rollup and the customers.

    Reads only `customer_hourly` rows of [T-24h-30d, T) joined with the customer snapshot,
    never the order history, so a new customer batch rescores in well under a second.
    Replaces the current scores and appends the run to the history in one transaction
    (an identical rerun for the same T adds nothing: idempotent). With no loaded order in
    the window nothing is published (the previous answer stays, the reason is recorded);
    a window the loaded orders only partly cover is published with `complete` false.
    Either asset can be materialized alone. With SPARK_REMOTE the facts (window, scores,
    check figures) come from the lake's rollup on the cluster; the tables are the same.
    """
    selected = context.selected_asset_keys
    with warehouse.get_connection(TABLES) as conn:
        source = (SparkScoring(spark.session(), paths.lake_location(DOMAIN), conn)
                  if spark.enabled else WarehouseScoring(conn))
        window = source.window(config.as_of)
        if window.as_of is None:
            context.log.info(f"scores not published: {window.reason}")
            yield dg.AssetObservation(asset_key=SCORES, metadata={
                "skipped": window.reason, "orders_loaded": window.history})
            return
        rows = [(*r, window.complete) for r in source.scores(window.as_of)]
        with transaction(conn):
            if SCORES in selected:
                conn.execute(f"DELETE FROM {SCHEMA}.industry_change_scores")
                conn.executemany(f"INSERT INTO {SCHEMA}.industry_change_scores ({COLUMNS}) "
                                 "VALUES (?, ?, ?, ?, ?, ?, ?, ?)", rows)
            appended = HISTORY in selected and append_history(conn, rows, context.run.run_id)
            history_rows = conn.execute(
                f"SELECT count(*) FROM {SCHEMA}.industry_change_history"
            ).fetchone()[0]
        published = {}
        if SCORES in selected:  # committed: now the API and the catalog may show it
            publish_scores(conn, paths.lake_root())
            published = publish_tables(context, paths, conn, f"{SCHEMA}.industry_change_scores")
        if HISTORY in selected:
            publish_history_day(conn, paths.lake_root(), window.as_of)
            history_published = publish_partitions(
                context, paths, conn, f"{SCHEMA}.industry_change_history", "as_of",
                [window.as_of])
        if SCORES in selected:
            checks = context.selected_asset_check_keys
            for result in score_results(source, rows, window, spark.describe(), published):
                if isinstance(result, dg.AssetCheckResult) and (
                    dg.AssetCheckKey(SCORES, result.check_name) not in checks
                ):
                    continue
                yield result
    if HISTORY in selected:
        yield dg.MaterializeResult(
            asset_key=HISTORY,
            metadata={"dagster/row_count": history_rows, "appended": appended,
                      **history_published},
        )


def append_history(conn: duckdb.DuckDBPyConnection, rows: list[tuple], run_id: str) -> bool:
    """Append the ten rows to the history unless the latest scoring for their T gave the
    same rows (in the caller's transaction); True when appended."""
    previous = conn.execute(
        f"SELECT {COLUMNS} FROM {SCHEMA}.industry_change_history WHERE scored_at = "
        f"(SELECT max(scored_at) FROM {SCHEMA}.industry_change_history WHERE as_of = ?) "
        "ORDER BY rank",
        [rows[0][6]],
    ).fetchall()
    if previous == rows:
        return False
    scored_at = datetime.now(UTC)
    conn.executemany(
        f"INSERT INTO {SCHEMA}.industry_change_history ({COLUMNS}, scored_at, run_id) "
        "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        [(*r, scored_at, run_id) for r in rows],
    )
    return True


def score_results(
    source: WarehouseScoring | SparkScoring, rows: list[tuple], window: Window, engine: str,
    published: dict[str, str],
):
    """The scores' materialization (top 3, the ten rows, how complete, the catalog snapshot)
    and its two checks."""
    as_of = window.as_of
    want_last, want_base = source.totals(as_of)
    unknown = source.unknown()
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
            "complete": window.complete,
            "orders_loaded": window.history,
            "engine": engine,
            **({"partial_because": window.reason} if window.reason else {}),
            "top_1": top3[0],
            "top_2": top3[1],
            "top_3": top3[2],
            "preview": dg.MetadataValue.md(table),
            **published,
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
