"""Cleaning policy, every aggregate column and the four insights, exact values.

The source is the hand-built dirty SQLite DB of conftest.py, read through the real extract
path (`extract_table`), so the types policy (TEXT dates/amounts) is exercised too.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import polars as pl
import pytest

from assets.customers import cleaning, insights
from assets.customers.insights import AGGREGATE_COLUMNS
from assets.customers.source import TABLES, extract_table


@pytest.fixture
def cleaned(dirty_source) -> cleaning.Cleaned:
    return cleaning.clean({t: extract_table(dirty_source, t) for t in TABLES})


def rows(frame: pl.DataFrame) -> list[dict]:
    return frame.to_dicts()


def D(text: str) -> Decimal:  # noqa: N802 - reads like a literal
    return Decimal(text)


def test_customers_normalised_and_merged(cleaned):
    by_id = {r["customer_id"]: r for r in rows(cleaned.customers)}
    assert sorted(by_id) == [1, 2, 4, 5, 6]  # 3 merged into 1
    assert by_id[1] == {"customer_id": 1, "name": "Alice Smith", "email": "alice@example.com",
                        "country": "United States"}  # country filled from duplicate 3
    assert by_id[2] == {"customer_id": 2, "name": "Bob Jones", "email": "bob@example.com",
                        "country": "United Kingdom"}
    assert by_id[4] == {"customer_id": 4, "name": "Carol", "email": None, "country": None}
    assert by_id[5]["country"] == "Germany"


def test_categories_products_statuses(cleaned):
    assert rows(cleaned.categories) == [
        {"category_id": 1, "category_name": "Electronics"},
        {"category_id": 2, "category_name": "Books"},
        {"category_id": 4, "category_name": None},
    ]
    products = {r["product_id"]: r for r in rows(cleaned.products)}
    assert products[11]["product_name"] == "Novel"
    assert products[12]["category_id"] == 1
    assert products[13]["category_id"] is None and products[14]["category_id"] is None
    statuses = dict(cleaned.orders.select("order_id", "status").iter_rows())
    assert statuses == {100: "completed", 101: "shipped", 103: "pending", 104: "unknown",
                        105: "cancelled", 106: "cancelled", 107: "completed", 111: "returned"}
    assert cleaned.stats["orders_missing_status"] == 1
    assert cleaned.stats["unrecognised_statuses"] == 0


def test_order_types_and_derivations(cleaned):
    orders = {r["order_id"]: r for r in rows(cleaned.orders)}
    assert orders[101]["customer_id"] == 1  # remapped from duplicate customer 3
    assert orders[103]["order_date"] == dt.date(2024, 2, 3)
    assert orders[103]["total_amount"] == D("20.00")
    assert orders[104]["order_date"] is None
    assert orders[107]["total_amount"] == D("14.50")
    assert cleaned.stats["order_totals_derived_from_items"] == 1
    assert cleaned.orders.schema["total_amount"] == pl.Decimal(18, 2)
    assert sorted(cleaned.order_items["item_id"]) == [
        1000, 1001, 1003, 1006, 1007, 1008, 1009, 1010, 1015, 1016]


def test_every_set_aside_row_has_a_reason(cleaned):
    got = {(r["source_table"], r["source_key"]): r["reason"] for r in rows(cleaned.rejected)}
    assert got == {
        ("categories", 3): "duplicate of category 1 (same name after trimming/case)",
        ("customers", 3): "duplicate of customer 1 (same email after normalisation)",
        ("orders", 102): "duplicate of order 100 (same customer, date, amount, status)",
        ("orders", 108): "missing total_amount and no fully priced items to derive it",
        ("orders", 109): "missing customer_id",
        ("orders", 110): "unknown customer 77",
        ("order_items", 1002): "duplicate of item 1001 (same order, product, quantity, price)",
        ("order_items", 1004): "its order 102 was set aside",
        ("order_items", 1005): "its order 102 was set aside",
        ("order_items", 1011): "its order 108 was set aside",
        ("order_items", 1012): "its order 108 was set aside",
        ("order_items", 1013): "missing quantity",
        ("order_items", 1014): "unknown order 999",
        ("reviews", 502): "duplicate of review 500 (same customer, product, rating, date)",
        ("reviews", 504): "missing rating",
        ("reviews", 507): "unknown customer 88",
    }


def test_customer_aggregates_every_column(cleaned):
    agg = insights.customer_aggregates(cleaned)
    assert tuple(agg.columns) == AGGREGATE_COLUMNS
    assert agg.schema["total_amount_spent"] == pl.Decimal(18, 2)
    assert rows(agg) == [
        {"customer_id": 1, "name": "Alice Smith", "email": "alice@example.com",
         "country": "United States", "total_amount_spent": D("157.75"), "total_orders": 3,
         "average_order_value": D("52.58"), "total_products_ordered": 9,
         "average_rating": 4.5},
        {"customer_id": 2, "name": "Bob Jones", "email": "bob@example.com",
         "country": "United Kingdom", "total_amount_spent": D("50.00"), "total_orders": 2,
         "average_order_value": D("25.00"), "total_products_ordered": 4,
         "average_rating": 3.0},
        {"customer_id": 4, "name": "Carol", "email": None, "country": None,
         "total_amount_spent": D("0.00"), "total_orders": 0, "average_order_value": None,
         "total_products_ordered": 0, "average_rating": None},
        {"customer_id": 5, "name": "Dan", "email": "dan@example.com", "country": "Germany",
         "total_amount_spent": D("0.00"), "total_orders": 0, "average_order_value": None,
         "total_products_ordered": 0, "average_rating": 2.5},
        {"customer_id": 6, "name": "Eve", "email": "eve@example.com", "country": "France",
         "total_amount_spent": D("14.50"), "total_orders": 1, "average_order_value": D("14.50"),
         "total_products_ordered": 3, "average_rating": 2.0},
    ]


def test_top_customers(cleaned):
    top = insights.top_customers(insights.customer_aggregates(cleaned))
    assert top.select("rank", "customer_id", "total_amount_spent", "total_orders").rows() == [
        (1, 1, D("157.75"), 3), (2, 2, D("50.00"), 2), (3, 6, D("14.50"), 1)]


def test_top_products(cleaned):
    top = insights.top_products(cleaned)
    assert top.rows() == [
        (1, 12, "Cable", "Electronics", 2, 6),
        (2, 10, "Phone", "Electronics", 2, 3),  # tie with 11: smaller id first
        (3, 11, "Novel", "Books", 2, 3),
        (4, 13, "Mystery", None, 1, 3),
        (5, 14, "Ghost", None, 1, 1),
    ]


def test_category_ratings(cleaned):
    got = insights.category_ratings(cleaned).rows()
    assert got[0] == (None, None, 4.0, 1)  # the product without a category
    assert got[1][:2] == (1, "Electronics") and got[1][2] == pytest.approx(11 / 3)
    assert got[1][3] == 3
    assert got[2] == (2, "Books", 2.0, 2)
    assert got[3] == (4, None, None, 0)


def test_monthly_sales(cleaned):
    assert insights.monthly_sales(cleaned).rows() == [
        (dt.date(2024, 1, 1), 2, D("150.50"), D("75.25"), 1),
        (dt.date(2024, 2, 1), 1, D("20.00"), D("20.00"), 1),
        (dt.date(2024, 3, 1), 2, D("21.75"), D("10.88"), 2),  # 10.875 rounds half-up
    ]


def test_money_mean_rounds_half_up_exactly():
    frame = pl.DataFrame({"t": [D("10.00"), D("0.05"), D("7.01"), D("1.00")], "n": [3, 2, 2, 0]},
                         schema={"t": pl.Decimal(18, 2), "n": pl.Int64})
    got = frame.select(insights.money_mean("t", "n").alias("m"))["m"].to_list()
    assert got == [D("3.33"), D("0.03"), D("3.51"), None]


def test_empty_source_gives_empty_outputs(tmp_path):
    from assets.customers.source import RAW_SCHEMAS

    raw = {t: pl.DataFrame(schema=RAW_SCHEMAS[t]) for t in TABLES}
    cleaned_empty = cleaning.clean(raw)
    agg = insights.customer_aggregates(cleaned_empty)
    assert agg.height == 0 and tuple(agg.columns) == AGGREGATE_COLUMNS
    assert all(f.height == 0 for f in insights.all_insights(cleaned_empty, agg).values())
