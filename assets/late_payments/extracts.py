"""The four point-of-sale extracts in `landing/retail/`: their contract and how a set is found.

Each extract is described once (`Extract`): the header it must have and, per column, the
DuckDB type it is cast to and whether it is required. `staging.py` turns that description into
one set-based scan; the sensor uses `EXTRACT_FILES` and `set_fingerprint` to see a new set.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from pathlib import Path

from resources.landing import LandingFolder

DOMAIN = "late_payments"
LANDING = "retail"  # landing/retail/ (the extracts come from the retail point-of-sale system)
SCHEMA = "late_payments"


class BadExtractFile(ValueError):
    """A file that cannot be loaded at all: it is moved to `_rejected/` and the run fails."""


@dataclass(frozen=True)
class Column:
    name: str
    sql_type: str  # DuckDB type of the staged column ("VARCHAR" = trimmed text)
    required: bool = False
    check: str | None = None  # SQL over the typed value `x` that must hold, e.g. "x >= 0"


@dataclass(frozen=True)
class Extract:
    name: str  # file stem: accounts, skus, invoices, invoice_line_items
    columns: tuple[Column, ...]
    key: str | None = None  # duplicates of this column after the first are rejected
    extra: dict[str, str] = field(default_factory=dict)  # derived column -> SQL expression

    @property
    def file_name(self) -> str:
        return f"{self.name}.csv"

    @property
    def table(self) -> str:
        return f"{SCHEMA}.stg_{self.name}"


ACCOUNTS = Extract(
    "accounts",
    (
        Column("account_id", "BIGINT", required=True),
        Column("company_name", "VARCHAR"),
        Column("company_address", "VARCHAR"),
        Column("contact_person", "VARCHAR"),
        Column("contact_phone", "VARCHAR"),
        Column("gender", "VARCHAR"),
        Column("joining_date", "DATE", required=True),
    ),
    key="account_id",
)
SKUS = Extract(
    "skus",
    (
        Column("item_id", "VARCHAR", required=True),
        Column("item_name", "VARCHAR"),
        Column("item_description", "VARCHAR"),
        Column("item_cost_price", "DECIMAL(18,4)", check="x >= 0"),
        Column("item_retail_price", "DECIMAL(18,4)", required=True, check="x >= 0"),
    ),
    key="item_id",
)
# `payment_dates` is plural: the real extract holds one ISO date or nothing, but a list of
# instalments ("2021-01-05;2021-02-01", "[2021-01-05, 2021-02-01]") is accepted too; the
# invoice counts as paid on the LAST listed date. Empty = unpaid.
INVOICES = Extract(
    "invoices",
    (
        Column("invoice_id", "BIGINT", required=True),
        Column("account_id", "BIGINT", required=True),
        Column("date_issued", "DATE", required=True),
        Column("payment_dates", "DATE[]"),
    ),
    key="invoice_id",
    extra={"paid_on": "list_max(payment_dates)"},
)
LINE_ITEMS = Extract(
    "invoice_line_items",
    (
        Column("invoice_id", "BIGINT", required=True),
        Column("item_id", "VARCHAR", required=True),
        Column("quantity", "BIGINT", required=True, check="x >= 0"),
    ),
)
EXTRACTS: dict[str, Extract] = {e.name: e for e in (ACCOUNTS, SKUS, INVOICES, LINE_ITEMS)}
EXTRACT_FILES: tuple[str, ...] = tuple(e.file_name for e in EXTRACTS.values())


def present_files(folder: LandingFolder) -> dict[str, Path]:
    """The extract files landed in `landing/retail/` under their final names."""
    return {rel: path for rel, path in folder.present() if rel in EXTRACT_FILES}


def set_fingerprint(hashes: dict[str, str]) -> str:
    """One key for a complete set: the hash of the four files' content hashes, by name."""
    payload = json.dumps({name: hashes[name] for name in EXTRACT_FILES}, sort_keys=True)
    return hashlib.sha256(payload.encode()).hexdigest()[:32]
