"""`late_payments.invoice_features`: one row per invoice, exactly the eight columns of spec §4.

All set-based in DuckDB: one hash aggregate of the line fact per invoice, one join to the
account, and two window counts per account ordered by `date_issued` with RANGE frames
(a RANGE frame counts peers, so same-day invoices count each other in `cum_tot_inv_acct`,
and `[d - 120 days, d)` is `RANGE BETWEEN 120 PRECEDING AND 1 PRECEDING` on a DATE key).
With Spark configured, `SPARK_FEATURES_SQL` computes the table on the cluster (the same
query; the window orders by the day number, as Spark's RANGE frames need a number).
"""

from datetime import date

import dagster as dg

from assets.late_payments import spark_models
from assets.late_payments.common import GROUP, TABLES, key, md_preview
from assets.late_payments.extracts import DOMAIN, SCHEMA
from assets.late_payments.lake import load_table
from assets.late_payments.publish import publish_share
from assets.shared import POOL, LaunchConfig
from assets.shared.catalog import publish_tables
from resources import PlatformPaths, SparkResource, Warehouse
from resources.sql import transaction

FEATURES = f"{SCHEMA}.invoice_features"
FEATURE_COLUMNS = (
    "inv_id", "acct_id", "inv_total", "inv_items", "acct_age",
    "num_inv_120d", "cum_tot_inv_acct", "is_late",
)  # fmt: skip
LATE_AFTER_DAYS = 30  # paid within 30 days (inclusive) is on time
WINDOW_DAYS = 120

BATCH_LINES = f"""SELECT invoice_id, sum(line_total) AS total, sum(quantity) AS items
    FROM {SCHEMA}.fct_invoice_lines WHERE invoice_known GROUP BY invoice_id"""


def features_select(schema: str, lines: str, accounts: str | None = None) -> str:
    """The feature query over `schema`'s staged invoices and accounts and a `lines` query
    (invoice_id, total, items); `accounts`, a query of account ids, narrows it to their
    invoices (whole accounts: the window counts are per account). The batch table and the
    change stream's (`cdc_store`) use it."""
    only = f"WHERE account_id IN ({accounts})" if accounts else ""
    return f"""
WITH lines AS ({lines})
SELECT
    i.invoice_id AS inv_id,
    i.account_id AS acct_id,
    CAST(round(coalesce(l.total, 0), 2) AS DECIMAL(18, 2)) AS inv_total,
    CAST(coalesce(l.items, 0) AS BIGINT) AS inv_items,
    CAST(date_diff('day', a.joining_date, i.date_issued) AS INTEGER) AS acct_age,
    count(*) OVER (PARTITION BY i.account_id ORDER BY i.date_issued
                   RANGE BETWEEN INTERVAL {WINDOW_DAYS} DAYS PRECEDING
                             AND INTERVAL 1 DAY PRECEDING) AS num_inv_120d,
    count(*) OVER (PARTITION BY i.account_id ORDER BY i.date_issued
                   RANGE BETWEEN UNBOUNDED PRECEDING AND CURRENT ROW) AS cum_tot_inv_acct,
    {is_late("i.date_issued", "i.paid_on", "$as_of")} AS is_late
FROM (SELECT * FROM {schema}.stg_invoices {only}) i
LEFT JOIN (SELECT * FROM {schema}.stg_accounts {only}) a ON a.account_id = i.account_id
LEFT JOIN lines l ON l.invoice_id = i.invoice_id"""


def is_late(issued: str, paid_on: str, as_of: str) -> str:
    """`is_late` (spec section 4) in DuckDB SQL: 1/0 when paid, 1 or null when unpaid."""
    return f"""CAST(CASE
        WHEN {paid_on} IS NOT NULL THEN date_diff('day', {issued}, {paid_on}) > {LATE_AFTER_DAYS}
        WHEN date_diff('day', {issued}, {as_of}) > {LATE_AFTER_DAYS} THEN true
    END AS INTEGER)"""


FEATURES_SQL = (
    f"CREATE OR REPLACE TABLE {FEATURES} AS {features_select(SCHEMA, BATCH_LINES)}"
)  # no ORDER BY: a 10M-row sort for nothing (tables are sets; readers order as they need)


_BY_DAY = "PARTITION BY i.account_id ORDER BY i.day"
SPARK_FEATURES_SQL = f"""
WITH lines AS (
    SELECT invoice_id, sum(line_total) AS total, sum(quantity) AS items
    FROM {{fct_invoice_lines}} WHERE invoice_known GROUP BY invoice_id
), inv AS (
    SELECT *, datediff(date_issued, DATE'1970-01-01') AS day FROM {{stg_invoices}}
)
SELECT
    i.invoice_id AS inv_id,
    i.account_id AS acct_id,
    CAST(round(coalesce(l.total, 0), 2) AS DECIMAL(18, 2)) AS inv_total,
    CAST(coalesce(l.items, 0) AS BIGINT) AS inv_items,
    CAST(datediff(i.date_issued, a.joining_date) AS INT) AS acct_age,
    count(*) OVER ({_BY_DAY} RANGE BETWEEN {WINDOW_DAYS} PRECEDING AND 1 PRECEDING)
        AS num_inv_120d,
    count(*) OVER ({_BY_DAY} RANGE BETWEEN UNBOUNDED PRECEDING AND CURRENT ROW)
        AS cum_tot_inv_acct,
    CAST(CASE
        WHEN i.paid_on IS NOT NULL
            THEN datediff(i.paid_on, i.date_issued) > {LATE_AFTER_DAYS}
        WHEN datediff((SELECT as_of FROM {{params}}), i.date_issued) > {LATE_AFTER_DAYS}
            THEN true
    END AS INT) AS is_late
FROM inv i
LEFT JOIN {{stg_accounts}} a ON a.account_id = i.account_id
LEFT JOIN lines l ON l.invoice_id = i.invoice_id
"""
FEATURE_TYPES = dict(zip(FEATURE_COLUMNS, (  # the embedded table's DuckDB types
    "BIGINT", "BIGINT", "DECIMAL(18,2)", "BIGINT", "INTEGER", "BIGINT", "BIGINT", "INTEGER",
), strict=True))  # fmt: skip

CHECK_UNIQUE = "unique_inv_id"
CHECK_LATE = "is_late_not_null_for_paid"
CHECK_RANGES = "feature_ranges_sane"


class FeaturesConfig(LaunchConfig):
    """`as_of` (YYYY-MM-DD) decides lateness of unpaid invoices; default: the latest date
    in the invoices extract (issue or payment date)."""

    as_of: str | None = None


def default_as_of(conn) -> date:
    return conn.execute(
        f"SELECT greatest(max(date_issued), max(paid_on)) FROM {SCHEMA}.stg_invoices"
    ).fetchone()[0]


def feature_checks(conn) -> list[dg.AssetCheckResult]:
    rows, distinct, staged = conn.execute(
        f"SELECT count(*), count(DISTINCT inv_id), "
        f"(SELECT count(*) FROM {SCHEMA}.stg_invoices) FROM {FEATURES}"
    ).fetchone()
    null_late_paid = conn.execute(
        f"SELECT count(*) FROM {FEATURES} f JOIN {SCHEMA}.stg_invoices i "
        f"ON i.invoice_id = f.inv_id WHERE i.paid_on IS NOT NULL AND f.is_late IS NULL"
    ).fetchone()[0]
    r = conn.execute(
        f"""SELECT count(*) FILTER (inv_total < 0 OR inv_items < 0),
                   count(*) FILTER (num_inv_120d < 0 OR num_inv_120d >= cum_tot_inv_acct
                                    OR cum_tot_inv_acct < 1),
                   count(*) FILTER (is_late NOT IN (0, 1)),
                   count(*) FILTER (acct_age < 0), count(*) FILTER (acct_age IS NULL),
                   min(acct_age), max(acct_age), max(num_inv_120d), max(cum_tot_inv_acct),
                   max(inv_total)::DOUBLE
            FROM {FEATURES}"""
    ).fetchone()
    impossible = r[0] + r[1] + r[2]
    return [
        dg.AssetCheckResult(
            check_name=CHECK_UNIQUE,
            passed=rows == distinct == staged,
            metadata={"rows": rows, "distinct_inv_id": distinct, "staged_invoices": staged},
            description="one row per staged invoice, inv_id unique",
        ),
        dg.AssetCheckResult(
            check_name=CHECK_LATE,
            passed=null_late_paid == 0,
            metadata={"paid_with_null_is_late": null_late_paid},
        ),
        dg.AssetCheckResult(
            check_name=CHECK_RANGES,
            passed=impossible == 0,
            metadata={
                "negative_totals_or_items": r[0],
                "window_counts_inconsistent": r[1],
                "is_late_not_0_1_null": r[2],
                "negative_acct_age (invoice before joining; reported, allowed)": r[3],
                "null_acct_age (unknown account)": r[4],
                "acct_age_min": r[5],
                "acct_age_max": r[6],
                "num_inv_120d_max": r[7],
                "cum_tot_inv_acct_max": r[8],
                "inv_total_max": r[9],
            },
            description="no negative totals/items, 0 <= num_inv_120d < cum_tot_inv_acct; "
            "negative or unknown acct_age is reported in metadata, not failed",
        ),
    ]


@dg.asset(
    key=key("invoice_features"),
    deps=[key("stg_invoices"), key("stg_accounts"), key("fct_invoice_lines")],
    group_name=GROUP,
    kinds={"duckdb"},
    pool=POOL,
    check_specs=[
        dg.AssetCheckSpec(name, asset=key("invoice_features"))
        for name in (CHECK_UNIQUE, CHECK_LATE, CHECK_RANGES)
    ],
)
def invoice_features(
    context: dg.AssetExecutionContext,
    config: FeaturesConfig,
    paths: PlatformPaths,
    warehouse: Warehouse,
    spark: SparkResource,
) -> dg.MaterializeResult:
    """Late-payment features per invoice (spec §4): the model's training/scoring table."""
    with warehouse.get_connection(TABLES) as conn:
        as_of = date.fromisoformat(config.as_of) if config.as_of else default_as_of(conn)
    lake = paths.lake_location(DOMAIN)
    if spark.enabled:  # the cluster computes (no warehouse lock held meanwhile)
        spark_models.run(spark.session(), SPARK_FEATURES_SQL, lake, "invoice_features", as_of)
    with warehouse.get_connection(TABLES) as conn:
        if spark.enabled:
            load_table(conn, FEATURES, FEATURE_TYPES, lake.child("invoice_features"))
        else:
            with transaction(conn):
                conn.execute(FEATURES_SQL, {"as_of": as_of})
        rows, late_share = conn.execute(f"SELECT count(*), avg(is_late) FROM {FEATURES}").fetchone()
        checks = feature_checks(conn)
        share_days = publish_share(conn, paths.lake_root(), as_of)  # committed: the API may show it
        preview = md_preview(conn, f"SELECT * FROM {FEATURES} LIMIT 5")
        published = publish_tables(context, paths, conn, FEATURES)
    return dg.MaterializeResult(
        metadata={
            **published,
            "dagster/row_count": rows,
            "as_of": str(as_of),
            "engine": spark.describe(),
            "late_share": float(late_share or 0.0),
            "late_share_days_published": share_days,
            "preview": dg.MetadataValue.md(preview),
        },
        check_results=checks,
    )
