"""`late_payments.fct_invoice_lines`: one row per line item, priced from the SKU table.

Why a fact of its own: the line grain is where quantity meets price; the feature table then
only aggregates it per invoice (one hash aggregate) instead of re-joining staging tables.
Lines pointing to an unknown invoice or SKU are KEPT with `invoice_known` / `sku_known`
false (and a null price), and the reference check reports how many: never dropped silently.
With Spark configured, `SPARK_FACT_SQL` (the same query in Spark SQL, over the staging
Parquet) computes it on the cluster and the step loads the result into the same table.
"""

import dagster as dg

from assets.late_payments import spark_models
from assets.late_payments.common import GROUP, TABLES, key, md_preview
from assets.late_payments.extracts import DOMAIN, SCHEMA
from assets.late_payments.lake import load_table
from assets.shared import POOL
from assets.shared.catalog import publish_tables
from resources import PlatformPaths, SparkResource, Warehouse
from resources.sql import transaction

FACT = f"{SCHEMA}.fct_invoice_lines"
REF_CHECK = "line_items_reference_known_invoices_and_skus"
FACT_SQL = f"""
CREATE OR REPLACE TABLE {FACT} AS
SELECT l.invoice_id, l.item_id, l.quantity,
       s.item_retail_price AS unit_retail_price,
       s.item_cost_price AS unit_cost_price,
       l.quantity * s.item_retail_price AS line_total,
       i.invoice_id IS NOT NULL AS invoice_known,
       s.item_id IS NOT NULL AS sku_known
FROM {SCHEMA}.stg_invoice_line_items l
LEFT JOIN {SCHEMA}.stg_skus s ON s.item_id = l.item_id
LEFT JOIN (SELECT invoice_id FROM {SCHEMA}.stg_invoices) i ON i.invoice_id = l.invoice_id
"""
# Spark: the product is DECIMAL(38,4) there; DuckDB types BIGINT x DECIMAL(18,4) as (37,4)
SPARK_FACT_SQL = """
SELECT l.invoice_id, l.item_id, l.quantity,
       s.item_retail_price AS unit_retail_price,
       s.item_cost_price AS unit_cost_price,
       CAST(l.quantity * s.item_retail_price AS DECIMAL(37, 4)) AS line_total,
       i.invoice_id IS NOT NULL AS invoice_known,
       s.item_id IS NOT NULL AS sku_known
FROM {stg_invoice_line_items} l
LEFT JOIN {stg_skus} s ON s.item_id = l.item_id
LEFT JOIN (SELECT invoice_id FROM {stg_invoices}) i ON i.invoice_id = l.invoice_id
"""
FACT_TYPES = {  # the embedded table's DuckDB types, which the Spark result is loaded as
    "invoice_id": "BIGINT", "item_id": "VARCHAR", "quantity": "BIGINT",
    "unit_retail_price": "DECIMAL(18,4)", "unit_cost_price": "DECIMAL(18,4)",
    "line_total": "DECIMAL(37,4)", "invoice_known": "BOOLEAN", "sku_known": "BOOLEAN",
}  # fmt: skip


def reference_check(conn) -> dg.AssetCheckResult:
    unknown_inv, unknown_sku, lines = conn.execute(
        f"SELECT count(*) FILTER (NOT invoice_known), count(*) FILTER (NOT sku_known), count(*) "
        f"FROM {FACT}"
    ).fetchone()
    samples = conn.execute(
        f"SELECT list(DISTINCT invoice_id::VARCHAR) FILTER (NOT invoice_known)[:10], "
        f"list(DISTINCT item_id) FILTER (NOT sku_known)[:10] FROM {FACT}"
    ).fetchone()
    return dg.AssetCheckResult(
        check_name=REF_CHECK,
        passed=unknown_inv == 0 and unknown_sku == 0,
        severity=dg.AssetCheckSeverity.WARN,
        metadata={
            "lines": lines,
            "lines_with_unknown_invoice": unknown_inv,
            "lines_with_unknown_sku": unknown_sku,
            "unknown_invoice_ids": ", ".join(samples[0] or []),
            "unknown_item_ids": ", ".join(samples[1] or []),
        },
        description="every line item points to a staged invoice and a staged SKU",
    )


@dg.asset(
    key=key("fct_invoice_lines"),
    deps=[key("stg_invoice_line_items"), key("stg_invoices"), key("stg_skus")],
    group_name=GROUP,
    kinds={"duckdb"},
    pool=POOL,
    check_specs=[dg.AssetCheckSpec(REF_CHECK, asset=key("fct_invoice_lines"))],
)
def fct_invoice_lines(
    context: dg.AssetExecutionContext, paths: PlatformPaths, warehouse: Warehouse,
    spark: SparkResource,
) -> dg.MaterializeResult:
    """Invoice-line fact: quantity × SKU retail price per line, with reference flags."""
    lake = paths.lake_location(DOMAIN)
    if spark.enabled:
        spark_models.run(spark.session(), SPARK_FACT_SQL, lake, "fct_invoice_lines")
    with warehouse.get_connection(TABLES) as conn:
        if spark.enabled:
            load_table(conn, FACT, FACT_TYPES, lake.child("fct_invoice_lines"))
        else:
            with transaction(conn):
                conn.execute(FACT_SQL)
        rows = conn.execute(f"SELECT count(*) FROM {FACT}").fetchone()[0]
        check = reference_check(conn)
        preview = md_preview(conn, f"SELECT * FROM {FACT} LIMIT 5")
        published = publish_tables(context, paths, conn, FACT)
    return dg.MaterializeResult(
        metadata={
            **published,
            "dagster/row_count": rows,
            "engine": spark.describe(),
            "preview": dg.MetadataValue.md(preview),
        },
        check_results=[check],
    )
