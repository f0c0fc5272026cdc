"""Invoice files in `landing/invoices/`: the sync date in the name, content hash, contract."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date
from pathlib import Path

from resources.lib.landing import LandingFolder

DOMAIN = "invoices"
EXPECTED_HEADER = ("venue_id", "invoice_id", "datetime_created", "total")
_SYNC_DATE = re.compile(r"(?<!\d)(\d{4})-?(\d{2})-?(\d{2})(?!\d)")


class BadInvoiceFile(ValueError):
    """A file that cannot be loaded at all (moved to `_rejected/`)."""


@dataclass(frozen=True)
class InvoiceFile:
    path: Path  # on a bucket, the object's key (read through `LandingFolder.local_copy`)
    sync_date: date
    content_hash: str
    rel: str = ""

    @property
    def name(self) -> str:
        return self.path.name


def sync_date_of(name: str) -> date:
    """The sync date in a file name: `invoices_2017-03-14.csv` or `invoices_20170314.csv`."""
    match = _SYNC_DATE.search(name)
    if not match:
        raise BadInvoiceFile(f"{name}: no sync date (YYYY-MM-DD or YYYYMMDD) in the file name")
    try:
        return date(*(int(part) for part in match.groups()))
    except ValueError as exc:
        raise BadInvoiceFile(f"{name}: invalid sync date in the file name ({exc})") from exc


def is_invoice_file(rel: str) -> bool:
    """Invoice files are the CSV files at the top of `landing/invoices/`."""
    return "/" not in rel and rel.lower().endswith(".csv")


def files_for_sync_dates(
    folder: LandingFolder, sync_dates: set[date], only: list[str] | None = None
) -> list[InvoiceFile]:
    """Every landed file (or those named in `only`) whose name carries one of `sync_dates`,
    oldest sync date first; only those are read to hash them."""
    found = []
    for rel, path in folder.present():
        if not is_invoice_file(rel) or (only and rel not in only):
            continue
        try:
            sync = sync_date_of(rel)
        except BadInvoiceFile:
            continue
        if sync in sync_dates:
            found.append((folder.mtime_ns(rel), InvoiceFile(path, sync, folder.sha256(rel), rel)))
    return [f for _, f in sorted(found, key=lambda m: (m[1].sync_date, m[0], m[1].name))]
