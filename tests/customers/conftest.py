"""A hand-built e-commerce source with every kind of dirt the cleaning policy handles.

Expected values (derived by hand) live in the tests; the comments here say which dirt each
row carries. Written with the real DDL; foreign keys are NOT enforced on this SQLite file so
orphans (possible in a real SQLite source) can be represented too.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from assets.customers.source import DDL, TABLES
from resources import SqlSource

CATEGORIES = [
    (1, "Electronics"),
    (2, "Books"),
    (3, " electronics "),  # duplicate of 1 (case/whitespace)
    (4, None),  # missing name
]
PRODUCTS = [
    (10, "Phone", 1),
    (11, "  Novel ", 2),  # stray whitespace
    (12, "Cable", 3),  # category 3 -> 1
    (13, "Mystery", None),  # no category
    (14, "Ghost", 99),  # unknown category (orphan) -> null
]
CUSTOMERS = [
    (1, "Alice Smith", "alice@example.com", None),  # country filled from its duplicate 3
    (2, " Bob  Jones ", " BOB@Example.com", " united kingdom"),
    (3, None, "ALICE@example.com ", " usa"),  # duplicate of 1 (email case/space)
    (4, "Carol", None, "  "),  # no email, blank country, no orders -> zeros
    (5, "Dan", "dan@example.com", "germany"),  # only cancelled orders -> zeros
    (6, "Eve", "eve@example.com", "France"),
]
ORDERS = [
    (100, 1, "2024-01-15", "100.00", "Completed"),
    (101, 3, "2024-01-20", "50.50", " shipped "),  # customer 3 -> 1
    (102, 1, "2024-01-15", "100.00", "COMPLETE"),  # duplicate of 100 under another id
    (103, 2, "2024-02-03 10:00:00", "20.004", "pending"),  # timestamp text, 3 decimals
    (104, 2, None, "30.00", None),  # no date (not in trend), no status (counts)
    (105, 5, "2024-03-01", "99.99", "Canceled"),
    (106, 5, "2024-03-02", "10.00", "CANCELLED "),
    (107, 6, "2024-03-10", None, "delivered"),  # total derived from items: 14.50
    (108, 6, "2024-03-11", None, "completed"),  # no total, an unpriced item -> rejected
    (109, None, "2024-03-12", "5.00", "completed"),  # no customer -> rejected
    (110, 77, "2024-03-12", "5.00", "completed"),  # unknown customer -> rejected
    (111, 1, "2024-03-31", "7.25", "Returned"),  # returned still counts
]
ORDER_ITEMS = [
    (1000, 100, 10, 1, "80.00"),
    (1001, 100, 11, 2, "10.00"),
    (1002, 100, 11, 2, "10.00"),  # duplicate of 1001
    (1003, 101, 12, 5, "10.10"),
    (1004, 102, 10, 1, "80.00"),  # of duplicate order 102
    (1005, 102, 11, 2, "10.00"),  # of duplicate order 102
    (1006, 103, 11, 1, "20.00"),
    (1007, 104, 13, 3, "10.00"),
    (1008, 105, 10, 1, "99.99"),  # cancelled order
    (1009, 107, 10, 2, "5.25"),
    (1010, 107, 12, 1, "4.00"),
    (1011, 108, 10, 1, None),  # of rejected order 108
    (1012, 108, 11, 1, "3.00"),  # of rejected order 108
    (1013, 103, 10, None, "1.00"),  # missing quantity
    (1014, 999, 10, 1, "1.00"),  # unknown order
    (1015, 111, 14, 1, "7.25"),
    (1016, 106, 11, 4, "2.50"),  # cancelled order
]
REVIEWS = [
    (500, 10, 1, 5, "2024-02-01"),
    (501, 10, 3, 4, "2024-02-02"),  # customer 3 -> 1
    (502, 10, 1, 5, "2024-02-01"),  # duplicate of 500
    (503, 11, 2, 3, "2024-02-05"),
    (504, 11, 2, None, "2024-02-06"),  # missing rating
    (505, 12, 6, 2, "2024-03-01"),
    (506, 13, 5, 4, "2024-03-02"),  # product without category
    (507, 10, 88, 5, "2024-03-03"),  # unknown customer
    (508, 11, 5, 1, "2024-03-04"),
]
ROWS = {
    "categories": CATEGORIES,
    "products": PRODUCTS,
    "customers": CUSTOMERS,
    "orders": ORDERS,
    "order_items": ORDER_ITEMS,
    "reviews": REVIEWS,
}


def write_source(source: SqlSource, rows: dict[str, list[tuple]] = ROWS) -> None:
    """Create the six tables with the real DDL and insert `rows` (bound parameters)."""
    with source.connect() as conn:
        cur = conn.cursor()
        for table in reversed(TABLES):
            cur.execute(f"DROP TABLE IF EXISTS {table}" + (" CASCADE" if source.is_postgres
                                                           else ""))
        for table in TABLES:
            cur.execute(DDL[table])
        for table in TABLES:
            marks = ", ".join([source.placeholder] * len(rows[table][0]))
            cur.executemany(f"INSERT INTO {table} VALUES ({marks})", rows[table])


@pytest.fixture
def dirty_source(tmp_path: Path) -> SqlSource:
    source = SqlSource(url=f"sqlite:///{tmp_path / 'sources' / 'ecommerce.sqlite'}")
    write_source(source)
    return source
