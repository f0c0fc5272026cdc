"""The per-customer aggregate and the four insights, in Polars over the cleaned frames.

Every function is a hash group-by / hash join (O(n) expected) followed, for the top-5
insights, by a `top_k`-style sort of the grouped result (O(g log g) on g groups).
Cancelled orders count in nothing: they are filtered out once, in `placed_orders`.
"""

from __future__ import annotations

import polars as pl

from assets.customers.cleaning import MONEY, Cleaned

AGGREGATE_COLUMNS = (
    "customer_id",
    "name",
    "email",
    "country",
    "total_amount_spent",
    "total_orders",
    "average_order_value",
    "total_products_ordered",
    "average_rating",
)
TOP_N = 5


def placed_orders(cleaned: Cleaned) -> pl.DataFrame:
    """Orders that count: every cleaned order except the cancelled ones."""
    return cleaned.orders.filter(pl.col("status") != "cancelled")


def money_mean(total: str, count: str) -> pl.Expr:
    """total / count rounded half-up to the cent, exactly (integer cents); null when count=0."""
    cents = (pl.col(total) * 100).cast(pl.Int64)
    rounded = (2 * cents + pl.col(count)) // (2 * pl.col(count))
    return (
        pl.when(pl.col(count) > 0)
        .then((rounded.cast(pl.Decimal(20, 2)) / 100).cast(MONEY))
        .otherwise(None)
    )


def customer_aggregates(cleaned: Cleaned) -> pl.DataFrame:
    """One row per (canonical) customer with exactly the spec's columns; zeros without orders."""
    orders = placed_orders(cleaned)
    per_order = orders.group_by("customer_id").agg(
        pl.col("total_amount").sum().cast(MONEY).alias("total_amount_spent"),
        pl.len().cast(pl.Int64).alias("total_orders"),
    )
    per_item = (
        cleaned.order_items.join(orders.select("order_id", "customer_id"), on="order_id")
        .group_by("customer_id")
        .agg(pl.col("quantity").sum().cast(pl.Int64).alias("total_products_ordered"))
    )
    per_review = cleaned.reviews.group_by("customer_id").agg(
        pl.col("rating").mean().alias("average_rating")
    )
    return (
        cleaned.customers.join(per_order, on="customer_id", how="left")
        .join(per_item, on="customer_id", how="left")
        .join(per_review, on="customer_id", how="left")
        .with_columns(
            pl.col("total_amount_spent").fill_null(pl.lit(0).cast(MONEY)),
            pl.col("total_orders").fill_null(0),
            pl.col("total_products_ordered").fill_null(0),
        )
        .with_columns(money_mean("total_amount_spent", "total_orders").alias("average_order_value"))
        .select(AGGREGATE_COLUMNS)
        .sort("customer_id")
    )


def top_customers(aggregates: pl.DataFrame, n: int = TOP_N) -> pl.DataFrame:
    """The n customers who spent most (ties: smaller customer_id first); spenders only."""
    return (
        aggregates.filter(pl.col("total_orders") > 0)
        .sort(["total_amount_spent", "customer_id"], descending=[True, False])
        .head(n)
        .with_row_index("rank", offset=1)
        .select(
            pl.col("rank").cast(pl.Int32),
            "customer_id", "name", "email", "country", "total_amount_spent", "total_orders",
        )
    )


def top_products(cleaned: Cleaned, n: int = TOP_N) -> pl.DataFrame:
    """The n products in most (non-cancelled) orders; ties: more units, then smaller id."""
    orders = placed_orders(cleaned).select("order_id")
    counts = (
        cleaned.order_items.join(orders, on="order_id")
        .group_by("product_id")
        .agg(
            pl.col("order_id").n_unique().cast(pl.Int64).alias("order_count"),
            pl.col("quantity").sum().cast(pl.Int64).alias("units_sold"),
        )
    )
    return (
        counts.sort(["order_count", "units_sold", "product_id"], descending=[True, True, False])
        .head(n)
        .join(cleaned.products, on="product_id", how="left")
        .join(cleaned.categories, on="category_id", how="left")
        .with_row_index("rank", offset=1)
        .select(
            pl.col("rank").cast(pl.Int32),
            "product_id", "product_name", "category_name", "order_count", "units_sold",
        )
    )


def category_ratings(cleaned: Cleaned) -> pl.DataFrame:
    """Mean review rating per category (every category listed; no reviews -> null, 0).

    Reviews of products without a category form one row with a null category.
    """
    per_category = (
        cleaned.reviews.join(cleaned.products.select("product_id", "category_id"),
                             on="product_id")
        .group_by("category_id")
        .agg(
            pl.col("rating").mean().alias("average_rating"),
            pl.len().cast(pl.Int64).alias("review_count"),
        )
    )
    return (
        cleaned.categories.join(per_category, on="category_id", how="full", coalesce=True)
        .with_columns(pl.col("review_count").fill_null(0))
        .select("category_id", "category_name", "average_rating", "review_count")
        .sort(["average_rating", "category_name", "category_id"],
              descending=[True, False, False], nulls_last=True)
    )


def monthly_sales(cleaned: Cleaned) -> pl.DataFrame:
    """Sales per calendar month of order_date, months without sales filled with zeros.

    Orders without a date are left out of the trend (they still count per customer).
    """
    schema = {
        "month": pl.Date(), "order_count": pl.Int64(), "total_sales": MONEY,
        "average_order_value": MONEY, "customer_count": pl.Int64(),
    }
    orders = placed_orders(cleaned).filter(pl.col("order_date").is_not_null())
    if orders.is_empty():
        return pl.DataFrame(schema=schema)
    grouped = orders.group_by(pl.col("order_date").dt.truncate("1mo").alias("month")).agg(
        pl.len().cast(pl.Int64).alias("order_count"),
        pl.col("total_amount").sum().cast(MONEY).alias("total_sales"),
        pl.col("customer_id").n_unique().cast(pl.Int64).alias("customer_count"),
    )
    months = pl.DataFrame({
        "month": pl.date_range(grouped["month"].min(), grouped["month"].max(), "1mo", eager=True)
    })
    return (
        months.join(grouped, on="month", how="left")
        .with_columns(
            pl.col("order_count").fill_null(0),
            pl.col("total_sales").fill_null(pl.lit(0).cast(MONEY)),
            pl.col("customer_count").fill_null(0),
        )
        .with_columns(money_mean("total_sales", "order_count").alias("average_order_value"))
        .select(list(schema))
        .sort("month")
    )


def all_insights(cleaned: Cleaned, aggregates: pl.DataFrame) -> dict[str, pl.DataFrame]:
    """The four insights by their warehouse table / insight name."""
    return {
        "top_customers": top_customers(aggregates),
        "top_products": top_products(cleaned),
        "category_ratings": category_ratings(cleaned),
        "monthly_sales": monthly_sales(cleaned),
    }
