"""Published answers: the small Parquet files the API and the page read.

A domain's asset publishes here only what it has just committed, by replacing whole files
atomically (`resources.lib.files.atomic_write`), so a reader sees the previous answer or the
new one, never a half-loaded state, and never opens a database a Dagster run writes to.

    lake/<domain>/serving/<name>.parquet          one file per answer
    lake/<domain>/serving/<name>/<part>.parquet   one file per month or day of an answer

CTR's serving files (`assets.ctr.serving`) follow the same rule. The customer insights are
published by their warehouse step as `lake/customers/output/<insight>.parquet` (the copies
the document-store load reads), and are read from there.

This module imports neither Dagster nor DuckDB: the API uses it as it is.
"""

from __future__ import annotations

import os
from datetime import date
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq

from resources.lib.files import atomic_write

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


def serving_dir(data_dir: str | os.PathLike[str], domain: str) -> Path:
    return Path(data_dir).resolve() / "lake" / domain / "serving"


def answer_file(data_dir: str | os.PathLike[str], answer: tuple[str, str],
                part: str | None = None) -> Path:
    """Where one published answer (or one part of it) lives."""
    domain, name = answer
    if part is None:
        return serving_dir(data_dir, domain) / f"{name}.parquet"
    return parts_folder(data_dir, answer) / f"{part}.parquet"


def parts_folder(data_dir: str | os.PathLike[str], answer: tuple[str, str]) -> Path:
    """The folder of an answer published in parts."""
    domain, name = answer
    return serving_dir(data_dir, domain) / name


def customers_output(data_dir: str | os.PathLike[str]) -> Path:
    """Where the customers warehouse step leaves its tables' Parquet copies."""
    return Path(data_dir).resolve() / "lake" / "customers" / "output"


def insight_file(data_dir: str | os.PathLike[str], name: str) -> Path:
    return customers_output(data_dir) / f"{name}.parquet"


def publish_table(path: Path, table: pa.Table) -> Path:
    """Replace `path` with `table` whole (an empty table is published too: a reader that
    saw the file a moment ago must still find it)."""
    return atomic_write(path, lambda tmp: pq.write_table(table, tmp, compression="zstd"))
