"""Sample input for industry change scores: order history (JSON Lines) + customer batches.

Deterministic from the seed (and the `end` time, a fixed anchor by default). The data has
the messy cases of spec section 3: repeated order_ids (at-least-once producers), late
orders (in a later arrival file than their hour), a few malformed lines, orders from
customers no batch knows, both header spellings, duplicate customer rows within a batch,
a later batch changing a customer, odd case/spacing in industry names and unknown names.
The story it tells: Cosmetics jumps in the last 24 h, Construction collapses, and Polymer
has only new customers of the second batch, ordering in the last 24 h (zero baseline).
"""

from __future__ import annotations

import csv
import json
import random
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from assets.industries.common import INDUSTRIES
from resources.lib.files import atomic_write

END = datetime(2025, 6, 1, tzinfo=UTC)
JUMP, COLLAPSE, NEW = "Cosmetics", "Construction", "Polymer"
SPELLINGS = {"Oil&Gas": ["Oil&Gas", "oil & gas", " OIL&GAS"], "Colours": ["Colours", "colours "]}


def customer_id(i: int) -> str:
    return f"C{i:05d}"


def make_customers(rng: random.Random, n: int) -> dict[str, list[str]]:
    """customer_id -> industries (the final snapshot); nobody in NEW until batch 2."""
    pool = [i for i in INDUSTRIES if i != NEW]
    return {customer_id(i): rng.sample(pool, rng.choice([1, 1, 2, 3])) for i in range(1, n + 1)}


def make_order(rng: random.Random, order_id: str, cust: str, ts: datetime) -> dict[str, Any]:
    lines = []
    for _ in range(rng.randint(1, 3)):
        volume, price = rng.randint(1, 20), round(rng.uniform(2, 150), 2)
        lines.append({"product_id": f"P{rng.randint(1, 500):04d}", "volume": volume,
                      "price": price})
    amount = round(sum(ln["volume"] * ln["price"] for ln in lines), 2)
    return {"order_id": order_id, "customer_id": cust, "order_lines": lines,
            "amount": amount, "timestamp": ts.strftime("%Y-%m-%dT%H:%M:%S.%fZ")}


def weight(industries: list[str], ts: datetime, end: datetime) -> float:
    """Order-rate multiplier: the story's jump and collapse in the last 24 h."""
    if ts < end - timedelta(hours=24):
        return 0.0 if NEW in industries else 1.0
    if JUMP in industries:
        return 3.0
    if COLLAPSE in industries:
        return 0.15
    return 1.0


def order_history(
    rng: random.Random, customers: dict[str, list[str]], days: int, per_day: int,
    end: datetime, duplicate_share: float = 0.02, late_share: float = 0.01,
) -> tuple[dict[str, list[str]], dict[str, int]]:
    """Arrival-day file name -> JSON lines; with duplicates, late orders and bad lines."""
    ids = list(customers)
    files: dict[str, list[tuple[datetime, str]]] = {}
    counts = {"orders": 0, "duplicates": 0, "late": 0, "malformed": 0, "unknown_customer": 0}
    start = end - timedelta(days=days)
    total_seconds = days * 86400
    n = 0
    for k in range(days * per_day * 3):
        ts = start + timedelta(seconds=rng.uniform(0, total_seconds))
        cust = rng.choice(ids)
        if rng.random() > weight(customers[cust], ts, end) / 3.0:
            continue
        if k % 997 == 0:
            cust, counts["unknown_customer"] = "C99999", counts["unknown_customer"] + 1
        n += 1
        rec = make_order(rng, f"O{n:08d}", cust, ts)
        arrival = ts
        if rng.random() < late_share:
            arrival = min(ts + timedelta(hours=rng.uniform(2, 10)), end - timedelta(seconds=1))
            counts["late"] += arrival > ts
        line = json.dumps(rec)
        files.setdefault(f"orders_{arrival:%Y-%m-%d}.jsonl", []).append((arrival, line))
        counts["orders"] += 1
        if rng.random() < duplicate_share:
            again = min(arrival + timedelta(minutes=rng.uniform(1, 90)), end - timedelta(seconds=1))
            files.setdefault(f"orders_{again:%Y-%m-%d}.jsonl", []).append((again, line))
            counts["duplicates"] += 1
    first = min(files)
    files[first].append((start, "{not json"))
    files[first].append((start, json.dumps({"order_id": "BAD1", "customer_id": "C00001"})))
    counts["malformed"] = 2
    return {name: [ln for _, ln in sorted(rows)] for name, rows in files.items()}, counts


def write_customer_batch(path: Path, header: str, rows: list[tuple[str, str, str]]) -> None:
    def write(tmp: Path) -> None:
        with open(tmp, "w", newline="") as fh:
            writer = csv.writer(fh)
            writer.writerow(["customer_id", "company_name", header])
            writer.writerows(rows)

    atomic_write(path, write)


def spell(rng: random.Random, name: str) -> str:
    return rng.choice(SPELLINGS.get(name, [name, name.lower(), f" {name.upper()} "]))


def generate(data_dir: Path, seed: int = 42, scale: float = 1.0,
             end: datetime | None = None, days: int = 31) -> dict[str, int]:
    """Write customer batches and `days` days of order history ending at `end`."""
    rng = random.Random(seed)
    end = end or END
    n_customers = max(20, int(300 * scale))
    customers = make_customers(rng, n_customers)
    landing_c = Path(data_dir) / "landing" / "customers"
    landing_o = Path(data_dir) / "landing" / "orders"
    landing_c.mkdir(parents=True, exist_ok=True)
    landing_o.mkdir(parents=True, exist_ok=True)

    # Batch 1 (older, 'specialized'): everyone, some stale industries, duplicate rows, an
    # unknown industry name. Batch 2 (newer, 'specialised'): the final truth for half of
    # them, with a few customers moving into Polymer (zero baseline industry).
    ids = list(customers)
    newcomers = [customer_id(n_customers + i) for i in range(1, max(2, n_customers // 50) + 1)]
    rows1 = []
    for cid in ids:
        names = customers[cid] if rng.random() > 0.1 else rng.sample(INDUSTRIES[:-1], 1)
        rows1.append((cid, f"Company {cid}", ";".join(spell(rng, x) for x in names)))
    for cid in rng.sample(ids, max(2, len(ids) // 20)):  # duplicates: the last row wins
        rows1.append((cid, f"Company {cid} Ltd", ";".join(customers[cid])))
    rows1.append((ids[0], f"Company {ids[0]}", ";".join(customers[ids[0]] + ["Textiles"])))
    rows2 = []
    movers = set(rng.sample(ids, max(2, len(ids) // 30)))
    for cid in newcomers:  # new customers, only ordering in the last 24 h
        customers[cid] = [NEW]
    for cid in ids + newcomers:
        if cid in movers:  # a later batch changes their industries: it wins
            customers[cid] = ["Food"] if customers[cid] != ["Food"] else ["Agriculture"]
        if cid in movers or cid in newcomers or rng.random() < 0.5:
            rows2.append((cid, f"Company {cid}", "; ".join(spell(rng, x) for x in customers[cid])))
    t1, t2 = end - timedelta(days=2), end - timedelta(hours=12)
    write_customer_batch(landing_c / f"customers_{t1:%Y%m%dT%H%M%S}.csv",
                         "specialized_industries", rows1)
    write_customer_batch(landing_c / f"customers_{t2:%Y%m%dT%H%M%S}.csv",
                         "specialised_industries", rows2)

    files, counts = order_history(rng, customers, days, max(50, int(1500 * scale)), end)
    for name, lines in files.items():
        (landing_o / name).write_text("\n".join(lines) + "\n")
    counts.update(customer_batches=2, customer_rows=len(rows1) + len(rows2),
                  order_files=len(files))
    return counts
