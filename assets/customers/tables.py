"""The `customers` warehouse tables (one `Schema`), their checks and their metadata."""

from __future__ import annotations

import dagster as dg
import polars as pl

from assets.customers import cleaning, insights
from assets.shared import asset_key
from resources.sql import Schema

DOMAIN = "customers"
INSIGHT_NAMES = ("top_customers", "top_products", "category_ratings", "monthly_sales")
WAREHOUSE_TABLES = ("customer_aggregates", *INSIGHT_NAMES, "rejected_rows")
WAREHOUSE_KEYS = {name: asset_key(DOMAIN, name) for name in WAREHOUSE_TABLES}

WAREHOUSE_DDL = {
    "customer_aggregates": """(
        customer_id BIGINT PRIMARY KEY, name VARCHAR, email VARCHAR, country VARCHAR,
        total_amount_spent DECIMAL(18, 2) NOT NULL, total_orders BIGINT NOT NULL,
        average_order_value DECIMAL(18, 2), total_products_ordered BIGINT NOT NULL,
        average_rating DOUBLE)""",
    "top_customers": """(
        rank INTEGER, customer_id BIGINT, name VARCHAR, email VARCHAR, country VARCHAR,
        total_amount_spent DECIMAL(18, 2), total_orders BIGINT)""",
    "top_products": """(
        rank INTEGER, product_id BIGINT, product_name VARCHAR, category_name VARCHAR,
        order_count BIGINT, units_sold BIGINT)""",
    "category_ratings": """(
        category_id BIGINT, category_name VARCHAR, average_rating DOUBLE,
        review_count BIGINT)""",
    "monthly_sales": """(
        month DATE, order_count BIGINT, total_sales DECIMAL(18, 2),
        average_order_value DECIMAL(18, 2), customer_count BIGINT)""",
    "rejected_rows": """(
        source_table VARCHAR, source_key BIGINT, reason VARCHAR)""",
}
SCHEMA = Schema(DOMAIN, (
    f"CREATE SCHEMA IF NOT EXISTS {DOMAIN}",
    *(f"CREATE TABLE IF NOT EXISTS {DOMAIN}.{name} {ddl}" for name, ddl in WAREHOUSE_DDL.items()),
))

# (table, check) -> what the check asserts about the freshly computed frames
CHECKS = {
    ("customer_aggregates", "customer_id_unique"): "customer_id is unique",
    ("customer_aggregates", "every_customer_present"): "one row per cleaned customer",
    ("customer_aggregates", "amount_matches_orders"): "Σ amount spent = Σ placed orders",
    ("top_customers", "at_most_five"): "at most five rows",
    ("top_products", "at_most_five"): "at most five rows",
}


def md_preview(frame: pl.DataFrame, rows: int = 5) -> dg.MetadataValue:
    with pl.Config(tbl_formatting="MARKDOWN", tbl_hide_dataframe_shape=True,
                   tbl_hide_column_data_types=True, tbl_rows=rows):
        return dg.MetadataValue.md(str(frame.head(rows)))


def check_results(cleaned: cleaning.Cleaned, results: dict[str, pl.DataFrame]) -> dict:
    """(table, check) -> passed, for the CHECKS, from the frames just computed."""
    aggregates = results["customer_aggregates"]
    placed = insights.placed_orders(cleaned)
    expected_total = placed["total_amount"].sum() if placed.height else 0
    agg_total = aggregates["total_amount_spent"].sum() if aggregates.height else 0
    return {
        ("customer_aggregates", "customer_id_unique"):
            aggregates["customer_id"].n_unique() == aggregates.height,
        ("customer_aggregates", "every_customer_present"):
            aggregates.height == cleaned.customers.height,
        ("customer_aggregates", "amount_matches_orders"): agg_total == expected_total,
        ("top_customers", "at_most_five"): results["top_customers"].height <= 5,
        ("top_products", "at_most_five"): results["top_products"].height <= 5,
    }


def table_metadata(name: str, frame: pl.DataFrame, cleaned: cleaning.Cleaned) -> dict:
    metadata = {"dagster/row_count": frame.height, "preview": md_preview(frame)}
    if name == "rejected_rows":
        metadata["by_table"] = dg.MetadataValue.json(
            dict(frame.group_by("source_table").len().iter_rows())
        )
    if name == "customer_aggregates":
        metadata["cleaning"] = dg.MetadataValue.json(cleaned.stats)
    return metadata
