"""Seeder of the e-commerce source DB (spec section 5): six tables, constraints, dirty data.

SQLite `data_dir/sources/ecommerce.sqlite` by default, PostgreSQL when ECOMMERCE_DB_URL is
set. Deterministic from the seed; re-running recreates the tables.

The dirt fits the constraints (PKs, FKs, UNIQUE email, CHECK rating 1..5):
- duplicate customers: the same person under a new id, the email differing only in case or
  stray whitespace (so UNIQUE holds), name/country sometimes missing or respelled;
- duplicate orders: an order replayed under a new order_id with copies of its items;
- duplicate order items and reviews: same content under a new id;
- emails and countries with stray whitespace/case, country aliases (" usa", "UK ");
- missing values: names, emails, countries, order dates, statuses, order totals (some
  derivable from the items, some not), item quantities, review ratings, product categories;
- status spellings: "Completed", "COMPLETE", "delivered", "Canceled", "cancelled ", ...;
- duplicate categories differing in case/whitespace (" electronics").

    python -m cli.generators.customers --scale 1 [--seed 42] [--data-dir DIR]
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import random
from decimal import Decimal
from pathlib import Path
from typing import Any

from assets.customers.source import DDL, INDEXES, TABLES
from resources.sql_source import SqlSource

FIRST = ["Ana", "Ben", "Chloe", "Dev", "Elif", "Farid", "Grace", "Hiro", "Ines", "Jon",
         "Kai", "Lena", "Mateo", "Nia", "Omar", "Priya", "Quinn", "Rosa", "Sven", "Tara"]
LAST = ["Silva", "Okafor", "Muller", "Tanaka", "Dubois", "Rossi", "Novak", "Kim", "Haddad",
        "Larsen", "Garcia", "Smith", "Ivanova", "Chen", "Brown", "Kowalski"]
DOMAINS = ["example.com", "mail.test", "shop.test", "inbox.test"]
COUNTRIES = ["United States", "United Kingdom", "Germany", "France", "Spain", "Brazil",
             "Japan", "India", "Canada", "Australia"]
COUNTRY_DIRT = {"United States": [" usa", "US", "united states ", "U.S.A."],
                "United Kingdom": ["UK ", "uk", "great britain"],
                "Germany": ["germany", " GERMANY", "Deutschland"],
                "France": ["france ", "FRANCE"], "Spain": ["spain", "España"]}
CATEGORIES = ["Electronics", "Books", "Home & Kitchen", "Toys", "Sports", "Beauty",
              "Garden", "Grocery"]
DIRTY_CATEGORIES = [" electronics", "BOOKS "]
ADJECTIVES = ["Smart", "Classic", "Eco", "Pro", "Mini", "Ultra", "Compact", "Deluxe"]
NOUNS = ["Lamp", "Kettle", "Novel", "Puzzle", "Ball", "Serum", "Hose", "Coffee", "Speaker",
         "Backpack", "Blender", "Atlas"]
STATUS_SPELLINGS = [  # (weight, spelling)
    (30, "completed"), (12, "Completed"), (6, "COMPLETE"), (6, "delivered"), (4, " completed"),
    (10, "shipped"), (4, "Shipped"), (6, "pending"), (3, "Pending"), (2, "processing"),
    (4, "cancelled"), (3, "Canceled"), (2, "CANCELLED"), (1, "cancelled "), (4, "returned"),
]
START = dt.date(2023, 1, 1)
DAYS = 730


def _url(data_dir: Path) -> str:
    default = f"sqlite:///{data_dir / 'sources' / 'ecommerce.sqlite'}"
    return os.environ.get("ECOMMERCE_DB_URL") or default


def create_schema(source: SqlSource, conn: Any) -> None:
    """Drop and create the six tables (with constraints) and their FK indexes."""
    cur = conn.cursor()
    for table in reversed(TABLES):
        cur.execute(f"DROP TABLE IF EXISTS {table}" + (" CASCADE" if source.is_postgres else ""))
    for table in TABLES:
        cur.execute(DDL[table])
    for statement in INDEXES:
        cur.execute(statement)


def _money(value: Decimal) -> str:
    return str(value.quantize(Decimal("0.01")))


def build_rows(seed: int, scale: float) -> dict[str, list[tuple]]:
    """All rows of the six tables, deterministic from the seed."""
    rng = random.Random(seed)
    n_customers = max(20, int(1000 * scale))
    n_orders = max(60, int(5000 * scale))
    n_reviews = max(40, int(1500 * scale))
    n_products = max(12, int(60 * min(scale, 10)))

    categories = [(i + 1, name) for i, name in enumerate(CATEGORIES)]
    categories += [(len(CATEGORIES) + i + 1, name) for i, name in enumerate(DIRTY_CATEGORIES)]
    products, base_price = [], {}
    for pid in range(1, n_products + 1):
        name = f"{rng.choice(ADJECTIVES)} {rng.choice(NOUNS)} {pid}"
        if rng.random() < 0.05:
            name = f"  {name} "
        category = rng.randint(1, len(categories)) if rng.random() > 0.03 else None
        products.append((pid, name, category))
        base_price[pid] = Decimal(rng.randint(199, 19999)) / 100

    customers, emails = [], []
    for cid in range(1, n_customers + 1):
        first, last = rng.choice(FIRST), rng.choice(LAST)
        email = f"{first}.{last}{cid}@{rng.choice(DOMAINS)}".lower()
        emails.append(email)
        country = rng.choice(COUNTRIES)
        roll = rng.random()
        if roll < 0.08 and country in COUNTRY_DIRT:
            country = rng.choice(COUNTRY_DIRT[country])
        elif roll < 0.11:
            country = None
        elif roll < 0.13:
            country = "  "
        stored_email: str | None = email
        roll = rng.random()
        if roll < 0.05:
            stored_email = f" {email.capitalize()}"
        elif roll < 0.07:
            stored_email = email.upper()
        elif roll < 0.08:
            stored_email = None
        name = f"{first} {last}" if rng.random() > 0.02 else None
        if name and rng.random() < 0.04:
            name = f" {name}  "
        customers.append((cid, name, stored_email, country))
    # Duplicate customers: same person, email respelled (still UNIQUE), new id.
    next_cid = n_customers + 1
    for original in rng.sample(customers, k=max(2, n_customers * 3 // 100)):
        if original[2] is None:
            continue
        variant = f"{emails[original[0] - 1].upper()} "
        name = original[1] if rng.random() > 0.3 else None
        customers.append((next_cid, name, variant, rng.choice([original[3], None, " usa "])))
        next_cid += 1

    orders, items = [], []
    item_id = 1
    all_cids = [c[0] for c in customers]
    weights, spellings = zip(*STATUS_SPELLINGS, strict=True)
    for oid in range(1, n_orders + 1):
        cid = rng.choice(all_cids)
        date = START + dt.timedelta(days=rng.randrange(DAYS))
        status = rng.choices(spellings, weights)[0] if rng.random() > 0.01 else None
        total = Decimal(0)
        unpriced = rng.random() < 0.005
        for line in range(rng.randint(1, 4)):
            pid = rng.randint(1, n_products)
            qty = rng.randint(1, 5)
            price = base_price[pid]
            total += qty * price
            stored_qty = qty if rng.random() > 0.003 else None
            stored_price = None if unpriced and line == 0 else _money(price)
            items.append((item_id, oid, pid, stored_qty, stored_price))
            item_id += 1
        stored_total = None if (unpriced or rng.random() < 0.01) else _money(total)
        stored_date = None if rng.random() < 0.01 else date.isoformat()
        orders.append((oid, cid, stored_date, stored_total, status))
    # Replayed orders (new id, same content, copies of the items) and replayed item rows.
    next_oid = n_orders + 1
    items_of: dict[int, list[tuple]] = {}
    for item in items:
        items_of.setdefault(item[1], []).append(item)
    for original in rng.sample(orders, k=max(2, n_orders // 50)):
        orders.append((next_oid, *original[1:]))
        for item in items_of[original[0]]:
            items.append((item_id, next_oid, *item[2:]))
            item_id += 1
        next_oid += 1
    for original in rng.sample(items, k=max(2, len(items) // 100)):
        items.append((item_id, *original[1:]))
        item_id += 1

    reviews = []
    for rid in range(1, n_reviews + 1):
        rating = rng.choices([1, 2, 3, 4, 5], [1, 2, 4, 6, 7])[0] if rng.random() > 0.02 else None
        day = (START + dt.timedelta(days=rng.randrange(DAYS))).isoformat()
        reviews.append((rid, rng.randint(1, n_products), rng.choice(all_cids), rating, day))
    for original in rng.sample(reviews, k=max(2, n_reviews // 50)):
        reviews.append((len(reviews) + 1, *original[1:]))

    return {"categories": categories, "products": products, "customers": customers,
            "orders": orders, "order_items": items, "reviews": reviews}


def write_rows(source: SqlSource, rows: dict[str, list[tuple]]) -> None:
    """Create the schema and insert the rows (bound parameters), in one transaction."""
    with source.connect() as conn:
        if not source.is_postgres:
            conn.execute("PRAGMA foreign_keys = ON")
        create_schema(source, conn)
        cur = conn.cursor()
        for table in TABLES:
            if not rows[table]:
                continue
            marks = ", ".join([source.placeholder] * len(rows[table][0]))
            cur.executemany(f"INSERT INTO {table} VALUES ({marks})", rows[table])


def generate(data_dir: Path, seed: int = 42, scale: float = 1.0) -> dict[str, int]:
    """Create the e-commerce source DB with dirty sample data; return rows written per table."""
    source = SqlSource(url=_url(Path(data_dir).resolve()))
    rows = build_rows(seed, scale)
    write_rows(source, rows)
    return {table: len(rows[table]) for table in TABLES}


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scale", type=float, default=1.0)
    parser.add_argument("--seed", type=int, default=42)
    parser.add_argument("--data-dir", default=os.environ.get("PLATFORM_DATA_DIR", "data/local"))
    args = parser.parse_args(argv)
    counts = generate(Path(args.data_dir), seed=args.seed, scale=args.scale)
    target = _url(Path(args.data_dir).resolve())
    print(f"ecommerce source at {target.split('@')[-1]}: "
          + ", ".join(f"{t}={n}" for t, n in counts.items()))


if __name__ == "__main__":
    main()
