"""Sample invoice files: late invoices, re-synced corrections, refunds, duplicates, bad rows."""

from __future__ import annotations

import csv
import os
import random
import time
import uuid
from collections.abc import Iterable, Sequence
from datetime import date, datetime, timedelta
from pathlib import Path

from resources.lib.files import atomic_write

HEADER = ("venue_id", "invoice_id", "datetime_created", "total")


def write_invoice_file(
    path: Path, rows: Iterable[Sequence[object]], age_seconds: float = 60
) -> Path:
    """Write an invoice CSV (header included) and date its mtime `age_seconds` in the past,
    as a finished sync would leave it."""
    def write(tmp: Path) -> None:
        with tmp.open("w", newline="", encoding="utf-8") as handle:
            writer = csv.writer(handle)
            writer.writerow(HEADER)
            writer.writerows(rows)

    atomic_write(path, write)
    past = time.time() - age_seconds
    os.utime(path, (past, past))
    return path


def invoice_row(rng: random.Random, venue: str, created: datetime) -> list[object]:
    total = round(rng.uniform(-20, 400) if rng.random() < 0.05 else rng.uniform(3, 400), 2)
    return [venue, str(uuid.UUID(int=rng.getrandbits(128), version=4)),
            created.isoformat(sep=" ", timespec="seconds"), f"{total:.2f}"]


def generate(data_dir: Path, seed: int = 42, scale: float = 1.0) -> dict[str, int]:
    """Ten daily sync files into `landing/invoices/`; each holds new invoices (most from the
    last days, some months old), corrections of earlier invoices, an in-file duplicate and a
    few malformed rows. The last file is named `YYYYMMDD` style."""
    rng = random.Random(seed)
    venues = [f"venue-{i:03d}" for i in range(max(3, int(20 * scale)))]
    landing = Path(data_dir) / "landing" / "invoices"
    first_sync = date(2024, 3, 1)
    history: list[list[object]] = []
    counts = {"files": 0, "rows": 0, "corrections": 0, "malformed": 0}
    for day in range(10):
        sync = first_sync + timedelta(days=day)
        rows = []
        for _ in range(int(500 * scale)):
            roll = rng.random()  # most invoices are recent; some weeks late; a few a year old
            back = rng.randint(0, 3) if roll < 0.8 else rng.randint(4, 45) if roll < 0.98 \
                else rng.randint(365, 372)
            created = datetime.combine(sync - timedelta(days=back), datetime.min.time())
            created += timedelta(seconds=rng.randint(0, 86399))
            rows.append(invoice_row(rng, rng.choice(venues), created))
        for old in rng.sample(history, min(len(history), int(15 * scale))):
            fixed = list(old)
            fixed[3] = f"{float(old[3]) + rng.choice([-5, 5, 12.5]):.2f}"
            if rng.random() < 0.3:
                fixed[0] = rng.choice(venues)
            rows.append(fixed)
            counts["corrections"] += 1
        if rows:
            rows.append(list(rows[0]))  # the same invoice twice in one file
        seeded = [str(uuid.UUID(int=rng.getrandbits(128), version=4)) for _ in range(2)]
        bad = [["venue-000", "not-a-uuid", "2024-03-01 10:00:00", "1.00"],
               ["venue-001", seeded[0], "yesterday", "2.00"],
               ["venue-002", seeded[1], "2024-03-01 10:00:00"]]
        rows += bad[: 1 + day % 3]
        counts["malformed"] += 1 + day % 3
        history += rows[: int(500 * scale)]
        name = f"invoices_{sync:%Y%m%d}.csv" if day == 9 else f"invoices_{sync}.csv"
        write_invoice_file(landing / name, rows)
        counts["files"] += 1
        counts["rows"] += len(rows)
    return counts
