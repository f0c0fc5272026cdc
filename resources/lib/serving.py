"""Published answers: the small Parquet files the API and the page read.

A domain's asset publishes here only what it has just committed, by replacing whole files
atomically (`Location.write`: a rename on this disk, one completed upload on a bucket), so
a reader sees the previous answer or the new one, never a half-loaded state, and never
opens a database a Dagster run writes to.

    lake/<domain>/serving/<name>.parquet          one file per answer
    lake/<domain>/serving/<name>/<part>.parquet   one file per month or day of an answer

CTR's serving files (`assets.ctr.serving`) follow the same rule. The customer insights are
published by their warehouse step as `lake/customers/output/<insight>.parquet` (the copies
the document-store load reads), and are read from there.

The lake is a `Location` (LAKE_URL or `<data_dir>/lake`). This module imports neither
Dagster nor DuckDB: the API uses it as it is.
"""

from __future__ import annotations

import os
from datetime import date
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq

from resources.lib.storage import DEFAULT_DATA_DIR, Location, StoreSettings

# (domain, name) of every published answer; part files are named by `part`.
INVOICE_TOTALS = ("invoices", "venue_daily_totals")  # part: month YYYY-MM
INVOICE_VENUES = ("invoices", "venues")
INDUSTRY_SCORES = ("industries", "industry_change_scores")
INDUSTRY_HISTORY = ("industries", "industry_change_history")  # part: as_of day YYYY-MM-DD
LATE_PAYMENT_SHARE = ("late_payments", "late_payment_share")
CUSTOMER_INSIGHTS = ("top_customers", "top_products", "category_ratings", "monthly_sales")


def month_part(day: date) -> str:
    """The part name of `day`'s month, 'YYYY-MM' with the year zero-padded (strftime's %Y
    is not, for years before 1000, and the names are compared as strings)."""
    return day.isoformat()[:7]


def lake_root(data_dir: str | os.PathLike[str], lake_url: str | None = None,
              settings: StoreSettings | None = None) -> Location:
    """The lake: `lake_url` (LAKE_URL, `s3://bucket/prefix`) or `<data_dir>/lake`."""
    if lake_url:
        return Location(lake_url, settings or StoreSettings())
    return Location(Path(data_dir).resolve() / "lake")


def lake_from_environment(data_dir: str | os.PathLike[str] | None = None) -> Location:
    """The lake as this process' environment names it (the API, the CLI, benches):
    PLATFORM_DATA_DIR (or `data_dir`), LAKE_URL and the `AWS_*` variables."""
    root = data_dir or os.environ.get("PLATFORM_DATA_DIR") or DEFAULT_DATA_DIR
    return lake_root(root, os.environ.get("LAKE_URL") or None, StoreSettings.from_environment())


def serving_dir(lake: Location, domain: str) -> Location:
    return lake.child(domain, "serving")


def answer_file(lake: Location, answer: tuple[str, str], part: str | None = None) -> Location:
    """Where one published answer (or one part of it) lives."""
    domain, name = answer
    if part is None:
        return serving_dir(lake, domain).child(f"{name}.parquet")
    return parts_folder(lake, answer).child(f"{part}.parquet")


def parts_folder(lake: Location, answer: tuple[str, str]) -> Location:
    """The folder of an answer published in parts."""
    domain, name = answer
    return serving_dir(lake, domain).child(name)


def part_names(folder: Location) -> list[str]:
    """The parts of a folder of published Parquet files, by name (a sortable month or day),
    without the hidden names of files being written: one listing, no read."""
    return sorted(e.rel.removesuffix(".parquet") for e in folder.list(recursive=False)
                  if e.rel.endswith(".parquet") and not e.rel.startswith("."))


def customers_output(lake: Location) -> Location:
    """Where the customers warehouse step leaves its tables' Parquet copies."""
    return lake.child("customers", "output")


def insight_file(lake: Location, name: str) -> Location:
    return customers_output(lake).child(f"{name}.parquet")


def publish_table(file: Location, table: pa.Table) -> str:
    """Replace `file` with `table` whole (an empty table is published too: a reader that
    saw the file a moment ago must still find it). Returns the URI written."""
    return file.parent.write(file.name, lambda tmp: pq.write_table(table, tmp,
                                                                    compression="zstd"))
