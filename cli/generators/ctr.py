"""Sample input of the ctr domain: view JSON per platform + orders/order_items in SQL.

- `landing/product_views/MobileWeb/`: the real day (`shared/data/product-views/`) when it is
  present, else a synthetic file of the same shape.
- `landing/product_views/iOS/`: a JSON array of batches with the messy cases (a batch that is
  not an object, a batch without `events`, unknown event types, a product event without
  codeColor); `landing/product_views/Android/`: JSON Lines with one invalid line.
  Every event carries the same `event_id` (as in the real data) and fractional ms.
- `landing/ctr/orders.csv` + `order_items.csv` (spec columns; `order_date` GMT-03:00,
  `device_type` in mixed case/spacing, some items without `code_color`), loaded into the
  purchases database (PURCHASES_DB_URL, else `sources/purchases.sqlite`), replacing it.
Products (`code_color`) are drawn from the real file's products, so CTRs are meaningful.
"""

from __future__ import annotations

import csv
import json
import os
import random
import shutil
from datetime import datetime, timedelta
from pathlib import Path

REAL_FILE = (
    Path(__file__).resolve().parents[3]
    / "shared" / "data" / "product-views" / "MobileWeb" / "productEvent_20160201.json"
)
DAY_START_MS = 1454284800000  # 2016-02-01 00:00 UTC = 2016-01-31 21:00 GMT-03:00
DAY_MS = 86_400_000
EVENT_ID = 679644799952992000
ORDER_COLUMNS = [
    "id", "user_id", "order_date", "order_subtotal", "order_discount", "order_total",
    "order_status", "payment_type", "shipping_cost", "shipping_service", "address_city",
    "address_state", "utm_source_medium", "device_type",
]
ITEM_COLUMNS = ["id", "order_id", "sku", "quantity", "code_color"]
DEVICE_SPELLINGS = {
    "iOS": ["iOS", "ios", " IOS"],
    "Android": ["Android", "android", "ANDROID "],
    "MobileWeb": ["MobileWeb", "mobileweb", "MOBILEWEB"],
}


def real_products(path: Path = REAL_FILE) -> list[str]:
    """Products of the real file, most viewed first (empty when the file is absent)."""
    if not path.exists():
        return []
    counts: dict[str, int] = {}
    for batch in json.loads(path.read_bytes()):
        for ev in batch.get("events", []):
            code = ev.get("data", {}).get("custom_attributes", {}).get("codeColor")
            if code:
                counts[code] = counts.get(code, 0) + 1
    return sorted(counts, key=lambda c: (-counts[c], c))


def _event(rng: random.Random, product: str | None, kind: str = "product") -> dict:
    data: dict = {
        "custom_event_type": "navigation",
        "event_name": kind,
        "timestamp_unixtime_ms": DAY_START_MS + rng.random() * DAY_MS,
        "event_id": EVENT_ID,
        "session_id": rng.randrange(10**18),
    }
    if product is not None:
        data["custom_attributes"] = {"codeColor": product}
    return {"data": data, "event_type": "custom_event"}


def _batch(rng: random.Random, events: list[dict]) -> dict:
    return {
        "events": events,
        "mpid": rng.randrange(10**18),
        "timestamp_unixtime_ms": 1515546904352 + rng.random() * 1e8,
    }


def _views(rng: random.Random, products: list[str], n: int) -> list[dict]:
    weights = [1 / (i + 1) for i in range(len(products))]
    picks = rng.choices(products, weights=weights, k=n)
    return [_batch(rng, [_event(rng, p)]) for p in picks]


def _messy(rng: random.Random, products: list[str]) -> list:
    screen = {"event_type": "screen_view", "data": {"screen_name": "home"}}
    return [
        42,  # a batch that is not an object
        {"mpid": 1, "timestamp_unixtime_ms": 1515546904352},  # no events list
        _batch(rng, [screen, _event(rng, products[0], kind="add_to_cart")]),  # other events
        _batch(rng, [_event(rng, None)]),  # product event without codeColor
        _batch(rng, [_event(rng, products[0]), _event(rng, products[1])]),  # two in a batch
    ]


def _purchases_url(data_dir: Path) -> str:
    default = f"sqlite:///{(data_dir / 'sources' / 'purchases.sqlite').resolve()}"
    return os.environ.get("PURCHASES_DB_URL") or default


def load_purchases(url: str, orders: list[dict], items: list[dict]) -> None:
    """(Re)create `orders` and `order_items` in the purchases database and load the rows."""
    from resources.sql_source import SqlSource

    db = SqlSource(url=url)
    ts = "TIMESTAMP" if db.is_postgres else "TEXT"
    money = "NUMERIC(12,2)" if db.is_postgres else "REAL"
    ph = db.placeholder
    with db.connect() as conn:
        cur = conn.cursor()
        cur.execute("DROP TABLE IF EXISTS order_items")
        cur.execute("DROP TABLE IF EXISTS orders")
        cur.execute(
            f"""CREATE TABLE orders (id BIGINT PRIMARY KEY, user_id BIGINT, order_date {ts},
                order_subtotal {money}, order_discount {money}, order_total {money},
                order_status TEXT, payment_type TEXT, shipping_cost {money},
                shipping_service TEXT, address_city TEXT, address_state TEXT,
                utm_source_medium TEXT, device_type TEXT)"""
        )
        cur.execute(
            """CREATE TABLE order_items (id BIGINT PRIMARY KEY, order_id BIGINT, sku TEXT,
                quantity INTEGER, code_color TEXT)"""
        )
        cur.execute("CREATE INDEX orders_date ON orders (order_date)")
        cur.execute("CREATE INDEX order_items_order ON order_items (order_id)")
        cur.executemany(
            f"INSERT INTO orders VALUES ({', '.join([ph] * len(ORDER_COLUMNS))})",
            [[o[c] for c in ORDER_COLUMNS] for o in orders],
        )
        cur.executemany(
            f"INSERT INTO order_items VALUES ({', '.join([ph] * len(ITEM_COLUMNS))})",
            [[i[c] for c in ITEM_COLUMNS] for i in items],
        )


def _read_csv(path: Path) -> list[dict]:
    with path.open(newline="") as fh:
        return [{k: (v if v != "" else None) for k, v in row.items()} for row in csv.DictReader(fh)]


def load_purchases_csv(url: str, csv_dir: Path) -> None:
    """Load `orders.csv` and `order_items.csv` (empty field = NULL) into the database."""
    orders = _read_csv(csv_dir / "orders.csv")
    items = _read_csv(csv_dir / "order_items.csv")
    for o in orders:
        o["id"], o["user_id"] = int(o["id"]), int(o["user_id"])
        for c in ("order_subtotal", "order_discount", "order_total", "shipping_cost"):
            o[c] = float(o[c])
    for i in items:
        i["id"], i["order_id"], i["quantity"] = int(i["id"]), int(i["order_id"]), int(i["quantity"])
    load_purchases(url, orders, items)


def generate(data_dir: Path, seed: int = 42, scale: float = 1.0) -> dict[str, int]:
    """Write the ctr sample input under `data_dir`; deterministic from `seed`."""
    rng = random.Random(seed)
    data_dir = Path(data_dir)
    landing = data_dir / "landing" / "product_views"
    products = real_products()
    synthetic_products = not products
    if synthetic_products:
        products = [f"{20000000 + i}_{rng.randrange(1, 100):03d}" for i in range(500)]
    counts: dict[str, int] = {}

    mobile = landing / "MobileWeb"
    mobile.mkdir(parents=True, exist_ok=True)
    if REAL_FILE.exists():
        shutil.copyfile(REAL_FILE, mobile / REAL_FILE.name)
        counts["mobileweb_real_views"] = 47633
    else:
        batches = _views(rng, products, int(20000 * scale))
        (mobile / "productEvent_20160201.json").write_text(json.dumps(batches))
        counts["mobileweb_views"] = len(batches)

    ios = landing / "iOS"
    ios.mkdir(parents=True, exist_ok=True)
    ios_batches = _views(rng, products[:1000], int(8000 * scale)) + _messy(rng, products)
    rng.shuffle(ios_batches)
    (ios / "productEvent_20160201.json").write_text(json.dumps(ios_batches, indent=1))
    counts["ios_batches"] = len(ios_batches)

    android = landing / "Android"
    android.mkdir(parents=True, exist_ok=True)
    lines = [json.dumps(b) for b in _views(rng, products[:1000], int(6000 * scale))]
    lines.insert(len(lines) // 2, '{"events": [ {"truncated": ')  # an invalid line
    (android / "productEvent_20160201.jsonl").write_text("\n".join(lines) + "\n")
    counts["android_lines"] = len(lines)

    # purchases: GMT-03:00 order dates over the same day as the views
    start = datetime(2016, 1, 31, 21, 0, 0)
    orders: list[dict] = []
    items: list[dict] = []
    weights = [1 / (i + 1) for i in range(min(len(products), 1000))]
    for oid in range(1, int(1500 * scale) + 1):
        platform = rng.choice(list(DEVICE_SPELLINGS))
        when = start + timedelta(seconds=rng.randrange(86400))
        subtotal = round(rng.uniform(20, 400), 2)
        discount = round(subtotal * rng.choice([0, 0, 0.1]), 2)
        shipping = round(rng.choice([0, 9.9, 19.9]), 2)
        orders.append(
            {
                "id": oid, "user_id": rng.randrange(1, 5000),
                "order_date": when.strftime("%Y-%m-%d %H:%M:%S"),
                "order_subtotal": subtotal, "order_discount": discount,
                "order_total": round(subtotal - discount + shipping, 2),
                "order_status": rng.choice(["complete", "complete", "processing", "canceled"]),
                "payment_type": rng.choice(["credit_card", "boleto", "paypal"]),
                "shipping_cost": shipping, "shipping_service": rng.choice(["PAC", "SEDEX"]),
                "address_city": rng.choice(["São Paulo", "Rio de Janeiro", "Curitiba"]),
                "address_state": rng.choice(["SP", "RJ", "PR"]),
                "utm_source_medium": rng.choice(["google / cpc", "direct / none", "email"]),
                "device_type": rng.choice(DEVICE_SPELLINGS[platform]),
            }
        )
        for _ in range(rng.choice([1, 1, 2, 3])):
            code = rng.choices(products[: len(weights)], weights=weights)[0]
            roll = rng.random()
            if roll < 0.01:
                code = None  # an item without product: lands in ctr.rejected_purchases
            elif roll < 0.05:
                code = f" {code} "  # stray whitespace
            items.append(
                {
                    "id": len(items) + 1, "order_id": oid, "sku": f"SKU{rng.randrange(10**6)}",
                    "quantity": rng.choice([1, 1, 2]), "code_color": code,
                }
            )
    csv_dir = data_dir / "landing" / "ctr"
    csv_dir.mkdir(parents=True, exist_ok=True)
    tables = (("orders", ORDER_COLUMNS, orders), ("order_items", ITEM_COLUMNS, items))
    for name, cols, rows in tables:
        with (csv_dir / f"{name}.csv").open("w", newline="") as fh:
            writer = csv.DictWriter(fh, fieldnames=cols)
            writer.writeheader()
            writer.writerows(rows)
    load_purchases_csv(_purchases_url(data_dir), csv_dir)
    counts.update(orders=len(orders), order_items=len(items), products=len(products))
    return counts
