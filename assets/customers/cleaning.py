"""Cleaning of the six raw source tables: one written policy per kind of dirt (docs/customers.md).

Pure Polars, no I/O: `clean(raw)` takes the extracted frames (raw schema of `source.py`)
and returns the cleaned frames plus every row it set aside, each with a reason, so nothing
disappears silently. All steps are hash joins / group-bys: O(n) expected time in the rows.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import polars as pl

MONEY = pl.Decimal(18, 2)

# Status spellings seen in the source -> canonical status. Anything else is kept in lower
# case and counted as "unrecognised" (it still counts as a placed order: only `cancelled`
# is excluded from the figures).
STATUS_ALIASES: dict[str, str] = {
    "completed": "completed",
    "complete": "completed",
    "delivered": "completed",
    "done": "completed",
    "shipped": "shipped",
    "in transit": "shipped",
    "pending": "pending",
    "processing": "pending",
    "placed": "pending",
    "cancelled": "cancelled",
    "canceled": "cancelled",
    "cancel": "cancelled",
    "returned": "returned",
}
CANONICAL_STATUSES = frozenset(STATUS_ALIASES.values())
MISSING_STATUS = "unknown"

# Country spellings -> canonical English name; anything else is title-cased.
COUNTRY_ALIASES: dict[str, str] = {
    "us": "United States",
    "usa": "United States",
    "u.s.": "United States",
    "u.s.a.": "United States",
    "united states": "United States",
    "united states of america": "United States",
    "uk": "United Kingdom",
    "u.k.": "United Kingdom",
    "gb": "United Kingdom",
    "great britain": "United Kingdom",
    "united kingdom": "United Kingdom",
    "england": "United Kingdom",
    "deutschland": "Germany",
    "de": "Germany",
    "espana": "Spain",
    "españa": "Spain",
    "fr": "France",
}

REJECTED_SCHEMA = {"source_table": pl.String(), "source_key": pl.Int64(), "reason": pl.String()}


@dataclass
class Cleaned:
    """Cleaned frames (canonical ids everywhere) and the rows set aside with reasons."""

    customers: pl.DataFrame
    orders: pl.DataFrame
    order_items: pl.DataFrame
    products: pl.DataFrame
    categories: pl.DataFrame
    reviews: pl.DataFrame
    rejected: pl.DataFrame
    stats: dict[str, int] = field(default_factory=dict)


def tidy_text(col: str) -> pl.Expr:
    """Trim, collapse inner whitespace; empty becomes null."""
    text = pl.col(col).str.strip_chars().str.replace_all(r"\s+", " ")
    return pl.when(text == "").then(None).otherwise(text)


def normalise_email(col: str = "email") -> pl.Expr:
    return tidy_text(col).str.replace_all(" ", "").str.to_lowercase()


def normalise_country(col: str = "country") -> pl.Expr:
    text = tidy_text(col)
    return text.str.to_lowercase().replace_strict(
        COUNTRY_ALIASES, default=text.str.to_titlecase(), return_dtype=pl.String
    )


def normalise_status(col: str = "status") -> pl.Expr:
    text = tidy_text(col).str.to_lowercase().str.replace_all(r"[_\-]", " ")
    canonical = text.replace_strict(STATUS_ALIASES, default=text, return_dtype=pl.String)
    return canonical.fill_null(MISSING_STATUS)


def parse_money(col: str) -> pl.Expr:
    """Text -> Decimal(18,2), rounded to cents; unparseable becomes null."""
    return (
        pl.col(col).str.strip_chars().cast(pl.Float64, strict=False).round(2).cast(MONEY)
    )


def parse_date(col: str) -> pl.Expr:
    """ISO text (SQLite TEXT or PostgreSQL DATE::text) -> Date; unparseable becomes null."""
    return pl.col(col).str.strip_chars().str.slice(0, 10).str.to_date("%Y-%m-%d", strict=False)


def _reject(frame: pl.DataFrame, table: str, key: str, reason: pl.Expr) -> pl.DataFrame:
    return frame.select(
        pl.lit(table).alias("source_table"),
        pl.col(key).cast(pl.Int64).alias("source_key"),
        reason.cast(pl.String).alias("reason"),
    )


def _first_by_id(frame: pl.DataFrame, key: list[str], id_col: str) -> pl.DataFrame:
    """Mark each row with the smallest id among the rows sharing `key` (`canonical_id`)."""
    return frame.with_columns(pl.col(id_col).min().over(key).alias("canonical_id"))


def clean_categories(raw: pl.DataFrame) -> tuple[pl.DataFrame, pl.DataFrame, pl.DataFrame]:
    """Names trimmed; same name up to case/whitespace -> merged into the smallest id."""
    frame = raw.unique("category_id", keep="first").with_columns(
        tidy_text("category_name").alias("category_name")
    )
    frame = frame.with_columns(pl.col("category_name").str.to_lowercase().alias("_key"))
    named = _first_by_id(frame.filter(pl.col("_key").is_not_null()), ["_key"], "category_id")
    unnamed = frame.filter(pl.col("_key").is_null()).with_columns(
        pl.col("category_id").alias("canonical_id")
    )
    mapping = pl.concat([named, unnamed]).select("category_id", "canonical_id")
    dups = named.filter(pl.col("category_id") != pl.col("canonical_id"))
    rejected = _reject(
        dups, "categories", "category_id",
        pl.format("duplicate of category {} (same name after trimming/case)", "canonical_id"),
    )
    kept = (
        pl.concat([named, unnamed])
        .filter(pl.col("category_id") == pl.col("canonical_id"))
        .select("category_id", "category_name")
        .sort("category_id")
    )
    return kept, mapping, rejected


def clean_products(raw: pl.DataFrame, category_map: pl.DataFrame) -> tuple[pl.DataFrame, int]:
    """Names trimmed; category remapped to its canonical id; unknown category -> null."""
    frame = raw.unique("product_id", keep="first").with_columns(
        tidy_text("product_name").alias("product_name")
    )
    frame = frame.join(category_map, on="category_id", how="left")
    unknown = frame.filter(pl.col("category_id").is_not_null() & pl.col("canonical_id").is_null())
    products = frame.select(
        "product_id", "product_name", pl.col("canonical_id").alias("category_id")
    ).sort("product_id")
    return products, unknown.height


def clean_customers(raw: pl.DataFrame) -> tuple[pl.DataFrame, pl.DataFrame, pl.DataFrame]:
    """Email lower-cased/trimmed, country canonicalised, name trimmed; same email -> one
    customer (the smallest id), its missing fields filled from the duplicates."""
    frame = raw.unique("customer_id", keep="first").with_columns(
        tidy_text("name").alias("name"),
        normalise_email("email").alias("email"),
        normalise_country("country").alias("country"),
    )
    with_email = _first_by_id(frame.filter(pl.col("email").is_not_null()), ["email"], "customer_id")
    no_email = frame.filter(pl.col("email").is_null()).with_columns(
        pl.col("customer_id").alias("canonical_id")
    )
    both = pl.concat([with_email, no_email]).sort("customer_id")
    mapping = both.select("customer_id", "canonical_id")
    # Merge: per canonical customer, the first non-null value of each field by id order.
    merged = both.group_by("canonical_id", maintain_order=True).agg(
        pl.col("name").drop_nulls().first(),
        pl.col("email").drop_nulls().first(),
        pl.col("country").drop_nulls().first(),
    )
    customers = merged.rename({"canonical_id": "customer_id"}).sort("customer_id")
    dups = both.filter(pl.col("customer_id") != pl.col("canonical_id"))
    rejected = _reject(
        dups, "customers", "customer_id",
        pl.format("duplicate of customer {} (same email after normalisation)", "canonical_id"),
    )
    return customers, mapping, rejected


def clean(raw: dict[str, pl.DataFrame]) -> Cleaned:
    """Apply every cleaning policy; see docs/customers.md for the written policy."""
    rejected: list[pl.DataFrame] = []
    stats: dict[str, int] = {}

    categories, category_map, rej = clean_categories(raw["categories"])
    rejected.append(rej)
    products, stats["products_with_unknown_category"] = clean_products(
        raw["products"], category_map
    )
    customers, customer_map, rej = clean_customers(raw["customers"])
    rejected.append(rej)
    stats["duplicate_customers_merged"] = rej.height

    # --- orders: attribute to a canonical customer, normalise status, type the columns.
    orders = raw["orders"].unique("order_id", keep="first").with_columns(
        normalise_status("status").alias("status"),
        parse_date("order_date").alias("order_date"),
        parse_money("total_amount").alias("total_amount"),
    )
    stats["unrecognised_statuses"] = orders.filter(
        ~pl.col("status").is_in(list(CANONICAL_STATUSES | {MISSING_STATUS}))
    ).height
    stats["orders_missing_status"] = orders.filter(pl.col("status") == MISSING_STATUS).height
    orders = orders.join(customer_map, on="customer_id", how="left")
    bad = orders.filter(pl.col("canonical_id").is_null())
    rejected.append(_reject(
        bad, "orders", "order_id",
        pl.when(pl.col("customer_id").is_null()).then(pl.lit("missing customer_id"))
        .otherwise(pl.format("unknown customer {}", "customer_id")),
    ))
    orders = orders.filter(pl.col("canonical_id").is_not_null()).with_columns(
        pl.col("canonical_id").alias("customer_id")
    ).drop("canonical_id")

    # --- order items: exact-content duplicates, orphans, unusable quantity.
    items = raw["order_items"].unique("item_id", keep="first").with_columns(
        parse_money("price").alias("price")
    )
    items = _first_by_id(items, ["order_id", "product_id", "quantity", "price"], "item_id")
    dups = items.filter(pl.col("item_id") != pl.col("canonical_id"))
    rejected.append(_reject(dups, "order_items", "item_id",
                            pl.format("duplicate of item {} (same order, product, quantity, "
                                      "price)", "canonical_id")))
    items = items.filter(pl.col("item_id") == pl.col("canonical_id")).drop("canonical_id")
    known_product = pl.col("product_id").is_in(products["product_id"].implode())
    item_reason = (
        pl.when(pl.col("order_id").is_null()).then(pl.lit("missing order_id"))
        .when(~pl.col("order_id").is_in(raw["orders"]["order_id"].implode()))
        .then(pl.format("unknown order {}", "order_id"))
        .when(pl.col("product_id").is_null()).then(pl.lit("missing product_id"))
        .when(~known_product).then(pl.format("unknown product {}", "product_id"))
        .when(pl.col("quantity").is_null()).then(pl.lit("missing quantity"))
        .when(pl.col("quantity") <= 0).then(pl.format("non-positive quantity {}", "quantity"))
    )
    items = items.with_columns(item_reason.alias("_reason"))
    rejected.append(_reject(items.filter(pl.col("_reason").is_not_null()), "order_items",
                            "item_id", pl.col("_reason")))
    items = items.filter(pl.col("_reason").is_null()).drop("_reason")

    # --- missing order totals: derived from the order's items when every item is priced.
    derived = items.group_by("order_id").agg(
        (pl.col("price") * pl.col("quantity")).sum().cast(MONEY).alias("_derived"),
        pl.col("price").null_count().alias("_unpriced"),
    )
    orders = orders.join(derived, on="order_id", how="left")
    derivable = pl.col("total_amount").is_null() & pl.col("_derived").is_not_null() & (
        pl.col("_unpriced") == 0
    )
    stats["order_totals_derived_from_items"] = orders.filter(derivable).height
    orders = orders.with_columns(
        pl.when(derivable).then(pl.col("_derived")).otherwise(pl.col("total_amount"))
        .alias("total_amount")
    ).drop("_derived", "_unpriced")
    no_total = orders.filter(pl.col("total_amount").is_null())
    rejected.append(_reject(no_total, "orders", "order_id",
                            pl.lit("missing total_amount and no fully priced items to derive it")))
    orders = orders.filter(pl.col("total_amount").is_not_null())
    stats["orders_missing_date"] = orders.filter(pl.col("order_date").is_null()).height

    # --- duplicate orders: same customer, date, amount and status under another id.
    orders = _first_by_id(orders, ["customer_id", "order_date", "total_amount", "status"],
                          "order_id")
    dups = orders.filter(pl.col("order_id") != pl.col("canonical_id"))
    rejected.append(_reject(dups, "orders", "order_id",
                            pl.format("duplicate of order {} (same customer, date, amount, "
                                      "status)", "canonical_id")))
    stats["duplicate_orders_dropped"] = dups.height
    orders = (
        orders.filter(pl.col("order_id") == pl.col("canonical_id"))
        .select("order_id", "customer_id", "order_date", "total_amount", "status")
        .sort("order_id")
    )
    # Items of rejected or duplicate orders go with their order.
    orphaned = items.filter(~pl.col("order_id").is_in(orders["order_id"].implode()))
    rejected.append(_reject(orphaned, "order_items", "item_id",
                            pl.format("its order {} was set aside", "order_id")))
    items = (
        items.filter(pl.col("order_id").is_in(orders["order_id"].implode()))
        .select("item_id", "order_id", "product_id", "quantity", "price")
        .sort("item_id")
    )

    # --- reviews: need a rating 1..5, a known customer (canonical) and product.
    reviews = raw["reviews"].unique("review_id", keep="first").with_columns(
        parse_date("review_date").alias("review_date")
    ).join(customer_map, on="customer_id", how="left")
    review_reason = (
        pl.when(pl.col("rating").is_null()).then(pl.lit("missing rating"))
        .when(~pl.col("rating").is_between(1, 5)).then(pl.format("rating {} outside 1..5",
                                                                 "rating"))
        .when(pl.col("customer_id").is_null()).then(pl.lit("missing customer_id"))
        .when(pl.col("canonical_id").is_null()).then(pl.format("unknown customer {}",
                                                               "customer_id"))
        .when(pl.col("product_id").is_null()).then(pl.lit("missing product_id"))
        .when(~known_product).then(pl.format("unknown product {}", "product_id"))
    )
    reviews = reviews.with_columns(review_reason.alias("_reason"))
    rejected.append(_reject(reviews.filter(pl.col("_reason").is_not_null()), "reviews",
                            "review_id", pl.col("_reason")))
    reviews = reviews.filter(pl.col("_reason").is_null()).with_columns(
        pl.col("canonical_id").alias("customer_id")
    ).drop("canonical_id", "_reason")
    reviews = _first_by_id(reviews, ["customer_id", "product_id", "rating", "review_date"],
                           "review_id")
    dups = reviews.filter(pl.col("review_id") != pl.col("canonical_id"))
    rejected.append(_reject(dups, "reviews", "review_id",
                            pl.format("duplicate of review {} (same customer, product, rating, "
                                      "date)", "canonical_id")))
    reviews = (
        reviews.filter(pl.col("review_id") == pl.col("canonical_id"))
        .select("review_id", "product_id", "customer_id", "rating", "review_date")
        .sort("review_id")
    )

    all_rejected = pl.concat(
        [r.cast(REJECTED_SCHEMA) for r in rejected]
    ).sort("source_table", "source_key")
    stats["rejected_rows"] = all_rejected.height
    return Cleaned(
        customers=customers,
        orders=orders,
        order_items=items,
        products=products,
        categories=categories,
        reviews=reviews,
        rejected=all_rejected,
        stats=stats,
    )
