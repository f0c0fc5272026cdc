"""Publishing committed venue totals for the API and the page (`resources.lib.serving`).

One file per creation month, `venue_daily_totals/<YYYY-MM>.parquet`: every venue's total
of every date of the month, with the files its invoices came from and the file loaded last
(the one that last changed that venue's date). A run republishes the months of the dates it
touched, and the months of files it found already loaded, so re-running after a crash
between the commit and the publication repairs the files. `venues.parquet` lists every
venue with the first and last date it has been published with.

Publication follows the commits, not the end of the run (`Publisher`): the months a file
changed are republished once its transaction commits (batched at most
`INVOICES_PUBLISH_EVERY_SECONDS` apart, default 1 s, so 5,000 one-row files do not write
5,000 times), and a run that fails publishes what it committed before it fails: the API
never shows less than the warehouse holds (docs/reliability.md).
"""

from __future__ import annotations

import os
import time
from datetime import date, timedelta
from decimal import Decimal
from typing import TYPE_CHECKING

import pyarrow as pa
import pyarrow.parquet as pq

from assets.invoices.store import InvoiceStore
from resources.lib.serving import (
    INVOICE_TOTALS,
    INVOICE_VENUES,
    answer_file,
    month_part,
    part_names,
    parts_folder,
    publish_table,
)
from resources.lib.storage import Location

if TYPE_CHECKING:  # pyiceberg loads on the first publication
    from resources.lib.catalog import CatalogTarget

_MONTH = """
SELECT t.venue_id, t.created_date, t.total_amount, t.invoice_count, t.updated_at,
       f.files, f.last_file
FROM invoices.venue_daily_totals t
LEFT JOIN (
    SELECT venue_id, created_date,
           array_agg(DISTINCT source_file ORDER BY source_file) AS files,
           (array_agg(source_file ORDER BY loaded_at DESC, source_file DESC))[1] AS last_file
    FROM invoices.raw_invoices WHERE created_date BETWEEN %s AND %s
    GROUP BY venue_id, created_date
) f ON f.venue_id = t.venue_id AND f.created_date = t.created_date
WHERE t.created_date BETWEEN %s AND %s
ORDER BY t.created_date, t.venue_id
"""
SCHEMA = pa.schema([
    ("venue_id", pa.string()), ("created_date", pa.date32()),
    ("total_amount", pa.decimal128(18, 2)), ("invoice_count", pa.int64()),
    ("updated_at", pa.timestamp("us")), ("files", pa.list_(pa.string())),
    ("last_file", pa.string()),
])
RAW = pa.schema([
    ("invoice_id", pa.string()), ("venue_id", pa.string()), ("created_at", pa.timestamp("us")),
    ("created_date", pa.date32()), ("total", pa.decimal128(18, 2)),
    ("source_file", pa.string()), ("synced_on", pa.date32()),
    ("loaded_at", pa.timestamp("us")),
])
_RAW = f"SELECT {', '.join(RAW.names)} FROM invoices.raw_invoices"  # ids as text below
LEDGER = pa.schema([
    ("content_hash", pa.string()), ("file_name", pa.string()), ("sync_date", pa.date32()),
    ("rows_loaded", pa.int64()), ("rows_rejected", pa.int64()),
    ("rows_unchanged", pa.int64()), ("created_dates_touched", pa.list_(pa.date32())),
    ("loaded_at", pa.timestamp("us")),
])
_LEDGER = f"SELECT {', '.join(LEDGER.names)} FROM invoices.file_ledger ORDER BY loaded_at"
TOTALS = pa.schema(list(SCHEMA)[:5])  # the table's own columns, as the catalog holds them
_TOTALS = f"""SELECT {', '.join(TOTALS.names)} FROM invoices.venue_daily_totals
WHERE created_date BETWEEN %s AND %s ORDER BY created_date, venue_id"""
VENUES = pa.schema([("venue_id", pa.string()), ("first_date", pa.date32()),
                    ("last_date", pa.date32())])


def ledger_dates(store: InvoiceStore, content_hashes: list[str]) -> set[date]:
    """The creation dates the ledger says these (already loaded) files touched."""
    if not content_hashes:
        return set()
    placeholders = ", ".join(["%s"] * len(content_hashes))
    rows = store.execute(
        "SELECT created_dates_touched FROM invoices.file_ledger"
        f" WHERE content_hash IN ({placeholders})", content_hashes).fetchall()
    return {d for (dates,) in rows for d in dates}


def _month_bounds(day: date) -> tuple[date, date]:
    first = day.replace(day=1)
    return first, (first + timedelta(days=32)).replace(day=1) - timedelta(days=1)


def publish_months(store: InvoiceStore, lake: Location, dates: set[date],
                   target: CatalogTarget | None = None) -> list[str]:
    """Republish the month files of `dates` from the committed tables (and with `target`
    the catalog's tables of those dates, `publish_catalog`); the months written."""
    months = sorted({_month_bounds(d) for d in dates})
    venues: dict[str, tuple[date, date]] = {}
    for first, last in months:
        rows = store.execute(_MONTH, (first, last, first, last)).fetchall()
        table = pa.Table.from_pylist(
            [dict(zip(SCHEMA.names, r, strict=True)) for r in rows], schema=SCHEMA)
        publish_table(answer_file(lake, INVOICE_TOTALS, month_part(first)), table)
        for venue, day, *_ in rows:
            seen = venues.get(venue, (day, day))
            venues[venue] = (min(seen[0], day), max(seen[1], day))
    if venues:
        _merge_venues(lake, venues)
    if target is not None:
        publish_catalog(store, target, dates)
    return [month_part(first) for first, _ in months]


def publish_catalog(store: InvoiceStore, target: CatalogTarget, dates: set[date]) -> None:
    """`commerce.invoices.venue_daily_totals` (partitioned by creation date: every date of
    the months of `dates` replaced) from the committed totals, then the raw rows and the
    ledger (`publish_raw`)."""
    months = sorted({_month_bounds(d) for d in dates})
    if not months:
        return
    rows = [r for first, last in months
            for r in store.execute(_TOTALS, (first, last)).fetchall()]
    totals = pa.Table.from_pylist([dict(zip(TOTALS.names, r, strict=True)) for r in rows],
                                  schema=TOTALS)
    days = [a + timedelta(days=i) for a, b in months for i in range((b - a).days + 1)]
    target.publish(("invoices", "venue_daily_totals"), totals, "created_date", days)
    publish_raw(store, target, dates)


def publish_raw(store: InvoiceStore, target: CatalogTarget, dates: set[date]) -> None:
    """`commerce.invoices.raw_invoices` (partitioned by creation date): the committed rows
    of `dates` replaced; and the file ledger (one row per file), replaced whole."""
    placeholders = ", ".join(["%s"] * len(dates))
    rows = store.execute(f"{_RAW} WHERE created_date IN ({placeholders})",
                         sorted(dates)).fetchall()
    raw = pa.Table.from_pylist([dict(zip(RAW.names, (str(r[0]), *r[1:]), strict=True))
                                for r in rows], schema=RAW)
    target.publish(("invoices", "raw_invoices"), raw, "created_date", dates)
    ledger = store.execute(_LEDGER).fetchall()
    target.publish(("invoices", "file_ledger"), pa.Table.from_pylist(
        [dict(zip(LEDGER.names, r, strict=True)) for r in ledger], schema=LEDGER))


def published_totals(lake: Location) -> tuple[int, Decimal]:
    """(invoices, amount) over every published month file: what the API answers in all."""
    folder = parts_folder(lake, INVOICE_TOTALS)
    rows = [r for part in part_names(folder)
            for r in pq.read_table(folder.open(f"{part}.parquet")).to_pylist()]
    return (sum(r["invoice_count"] for r in rows),
            sum((r["total_amount"] for r in rows), Decimal(0)))


def _merge_venues(lake: Location, found: dict[str, tuple[date, date]]) -> None:
    path = answer_file(lake, INVOICE_VENUES)
    if path.exists():
        for row in pq.read_table(path.open()).to_pylist():
            seen = found.get(row["venue_id"], (row["first_date"], row["last_date"]))
            found[row["venue_id"]] = (min(seen[0], row["first_date"]),
                                      max(seen[1], row["last_date"]))
    rows = [{"venue_id": v, "first_date": a, "last_date": b}
            for v, (a, b) in sorted(found.items())]
    publish_table(path, pa.Table.from_pylist(rows, schema=VENUES))


class Publisher:
    """Republishes the months of committed files: `committed(dates)` after each commit,
    `flush()` at the end of the run, and in a failing run before the error leaves. The
    serving files follow within INVOICES_PUBLISH_EVERY_SECONDS (1 s); the catalog's tables
    within INVOICES_CATALOG_EVERY_SECONDS (60 s: each publication is a snapshot, and a
    table's commits slow with its snapshots, docs/catalog.md) and at every `flush()`."""

    def __init__(self, store: InvoiceStore, lake: Location,
                 target: CatalogTarget | None = None) -> None:
        self.store, self.lake, self.target = store, lake, target
        self.every = float(os.environ.get("INVOICES_PUBLISH_EVERY_SECONDS", "1"))
        self.catalog_every = float(os.environ.get("INVOICES_CATALOG_EVERY_SECONDS", "60"))
        self.pending: set[date] = set()
        self.catalog_pending: set[date] = set()
        self.months: set[str] = set()
        self._last = self._catalog_last = time.monotonic()

    def committed(self, dates: set[date] | list[date]) -> None:
        self.pending |= set(dates)
        self.catalog_pending |= set(dates)
        if time.monotonic() - self._last >= self.every:
            self._serve()
        if time.monotonic() - self._catalog_last >= self.catalog_every:
            self._catalog()

    def flush(self) -> list[str]:
        """Publish what is pending; every month published by this publisher so far."""
        self._serve()
        self._catalog()
        return sorted(self.months)

    def _serve(self) -> None:
        if self.pending:
            self.months |= set(publish_months(self.store, self.lake, self.pending))
            self.pending = set()
        self._last = time.monotonic()

    def _catalog(self) -> None:
        if self.target is not None and self.catalog_pending:
            publish_catalog(self.store, self.target, self.catalog_pending)
        self.catalog_pending = set()
        self._catalog_last = time.monotonic()
