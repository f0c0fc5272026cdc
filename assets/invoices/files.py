"""Invoice files in `landing/invoices/`: sync date from the name, content hash, readiness."""

from __future__ import annotations

import re
import shutil
import time
from dataclasses import dataclass
from datetime import date
from pathlib import Path

from assets.shared import file_sha256

DOMAIN = "invoices"
EXPECTED_HEADER = ("venue_id", "invoice_id", "datetime_created", "total")
IGNORED_SUFFIXES = (".part", ".tmp", ".partial", ".crdownload")
_SYNC_DATE = re.compile(r"(?<!\d)(\d{4})-?(\d{2})-?(\d{2})(?!\d)")


class BadInvoiceFile(ValueError):
    """A file that cannot be loaded at all (moved to `_rejected/`)."""


@dataclass(frozen=True)
class InvoiceFile:
    path: Path
    sync_date: date
    content_hash: str

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


def candidate_files(folder: Path) -> list[Path]:
    """CSV files that may be complete: no temp suffix, no dotfile, not in `_rejected/`."""
    return sorted(
        p
        for p in folder.iterdir()
        if p.is_file()
        and not p.name.startswith((".", "_"))
        and not p.name.endswith(IGNORED_SUFFIXES)
        and p.suffix.lower() == ".csv"
    )


def is_settled(path: Path, min_age_seconds: float, now: float | None = None) -> bool:
    """A file is read only once nobody has written it for `min_age_seconds`."""
    return (now or time.time()) - path.stat().st_mtime >= min_age_seconds


def files_for_sync_dates(folder: Path, sync_dates: set[date]) -> list[InvoiceFile]:
    """Every landed file whose name carries one of `sync_dates`, oldest sync date first."""
    found = []
    for path in candidate_files(folder):
        try:
            sync = sync_date_of(path.name)
        except BadInvoiceFile:
            continue
        if sync in sync_dates:
            found.append(InvoiceFile(path, sync, file_sha256(path)))
    return sorted(found, key=lambda f: (f.sync_date, f.path.stat().st_mtime, f.name))


def move_aside(path: Path, rejected_dir: Path, reason: str) -> Path:
    """Move a bad file to `_rejected/` with `<name>.reason.txt` beside it."""
    rejected_dir.mkdir(parents=True, exist_ok=True)
    target = rejected_dir / path.name
    shutil.move(str(path), target)
    (rejected_dir / f"{path.name}.reason.txt").write_text(reason + "\n", encoding="utf-8")
    return target
