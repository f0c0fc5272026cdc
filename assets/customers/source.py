"""The e-commerce source database: its DDL (shared with the seeder) and the extract queries.

One code path for SQLite and PostgreSQL: every query goes through `SqlSource.read_polars`
(DB-API cursor -> Polars). Columns whose driver types differ between the two databases
(DATE, DECIMAL) are `CAST(... AS TEXT)` in SQL and parsed by the cleaning step, so both
backends yield the same raw schema.
"""

from __future__ import annotations

import polars as pl

from resources.sql_source import SqlSource

# Creation order (parents first); drop in reverse.
TABLES: tuple[str, ...] = (
    "categories",
    "products",
    "customers",
    "orders",
    "order_items",
    "reviews",
)

# Portable DDL: the same text runs on SQLite and PostgreSQL.
DDL: dict[str, str] = {
    "categories": """
        CREATE TABLE categories (
            category_id   INTEGER PRIMARY KEY,
            category_name VARCHAR(100)
        )""",
    "products": """
        CREATE TABLE products (
            product_id   INTEGER PRIMARY KEY,
            product_name VARCHAR(200),
            category_id  INTEGER REFERENCES categories (category_id)
        )""",
    "customers": """
        CREATE TABLE customers (
            customer_id INTEGER PRIMARY KEY,
            name        VARCHAR(200),
            email       VARCHAR(320) UNIQUE,
            country     VARCHAR(100)
        )""",
    "orders": """
        CREATE TABLE orders (
            order_id     INTEGER PRIMARY KEY,
            customer_id  INTEGER REFERENCES customers (customer_id),
            order_date   DATE,
            total_amount DECIMAL(10, 2),
            status       VARCHAR(30)
        )""",
    "order_items": """
        CREATE TABLE order_items (
            item_id    INTEGER PRIMARY KEY,
            order_id   INTEGER REFERENCES orders (order_id),
            product_id INTEGER REFERENCES products (product_id),
            quantity   INTEGER,
            price      DECIMAL(10, 2)
        )""",
    "reviews": """
        CREATE TABLE reviews (
            review_id   INTEGER PRIMARY KEY,
            product_id  INTEGER REFERENCES products (product_id),
            customer_id INTEGER REFERENCES customers (customer_id),
            rating      INTEGER CHECK (rating BETWEEN 1 AND 5),
            review_date DATE
        )""",
}

# Indexes a real OLTP schema has on its foreign keys (not needed by the full-table extract).
INDEXES: tuple[str, ...] = (
    "CREATE INDEX ix_orders_customer ON orders (customer_id)",
    "CREATE INDEX ix_items_order ON order_items (order_id)",
    "CREATE INDEX ix_reviews_customer ON reviews (customer_id)",
)

EXTRACT_SQL: dict[str, str] = {
    "categories": "SELECT category_id, category_name FROM categories ORDER BY category_id",
    "products": "SELECT product_id, product_name, category_id FROM products ORDER BY product_id",
    "customers": "SELECT customer_id, name, email, country FROM customers ORDER BY customer_id",
    "orders": (
        "SELECT order_id, customer_id, CAST(order_date AS TEXT) AS order_date,"
        " CAST(total_amount AS TEXT) AS total_amount, status FROM orders ORDER BY order_id"
    ),
    "order_items": (
        "SELECT item_id, order_id, product_id, quantity, CAST(price AS TEXT) AS price"
        " FROM order_items ORDER BY item_id"
    ),
    "reviews": (
        "SELECT review_id, product_id, customer_id, rating,"
        " CAST(review_date AS TEXT) AS review_date FROM reviews ORDER BY review_id"
    ),
}

# The raw schema every backend is coerced to (an all-NULL column comes back as pl.Null).
RAW_SCHEMAS: dict[str, dict[str, pl.DataType]] = {
    "categories": {"category_id": pl.Int64(), "category_name": pl.String()},
    "products": {"product_id": pl.Int64(), "product_name": pl.String(), "category_id": pl.Int64()},
    "customers": {
        "customer_id": pl.Int64(),
        "name": pl.String(),
        "email": pl.String(),
        "country": pl.String(),
    },
    "orders": {
        "order_id": pl.Int64(),
        "customer_id": pl.Int64(),
        "order_date": pl.String(),
        "total_amount": pl.String(),
        "status": pl.String(),
    },
    "order_items": {
        "item_id": pl.Int64(),
        "order_id": pl.Int64(),
        "product_id": pl.Int64(),
        "quantity": pl.Int64(),
        "price": pl.String(),
    },
    "reviews": {
        "review_id": pl.Int64(),
        "product_id": pl.Int64(),
        "customer_id": pl.Int64(),
        "rating": pl.Int64(),
        "review_date": pl.String(),
    },
}


def coerce_raw(table: str, frame: pl.DataFrame) -> pl.DataFrame:
    """Give an extracted frame the raw schema (column order and dtypes) of its table."""
    schema = RAW_SCHEMAS[table]
    return frame.select(
        pl.col(name).cast(dtype, strict=False) if name in frame.columns
        else pl.lit(None, dtype=dtype).alias(name)
        for name, dtype in schema.items()
    )


def extract_table(source: SqlSource, table: str) -> pl.DataFrame:
    """Read one source table with SQL into a frame with the raw schema."""
    return coerce_raw(table, source.read_polars(EXTRACT_SQL[table]))
