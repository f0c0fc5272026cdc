"""The four point-of-sale extracts in `landing/retail/`: their contract and how a set is found.

Each extract is described once (`Extract`): the header it must have and, per column, the
DuckDB type it is cast to and whether it is required. `staging.py` turns that description into
one set-based scan; the sensor uses `EXTRACT_FILES` and `set_fingerprint` to see a new set.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from resources.lib.landing import LandingFolder

DOMAIN = "late_payments"
LANDING = "retail"  # landing/retail/ (the extracts come from the retail point-of-sale system)
SCHEMA = "late_payments"


class BadExtractFile(ValueError):
    """A file that cannot be loaded at all: it is moved to `_rejected/` and the run fails."""


# Plausible dates: none of these businesses invoiced before 2000, and nothing is dated more
# than a year after the day the extract is loaded (9999-12-31 is a placeholder, not a date).
# Written in the SQL both engines share (`x` is the typed value; no other `x` in the text).
FIRST_DATE = "2000-01-01"
DATE_RANGE = f"x BETWEEN DATE '{FIRST_DATE}' AND current_date + INTERVAL 1 YEAR"


@dataclass(frozen=True)
class Column:
    name: str
    sql_type: str  # DuckDB type of the staged column ("VARCHAR" = trimmed text)
    required: bool = False
    check: str | None = None  # SQL over the typed value `x` that must hold, e.g. "x >= 0"
    each: str | None = None  # the same for every element `x` of a list column (DATE[])


@dataclass(frozen=True)
class Dialect:
    """How one engine's SQL spells what the reasons need (DuckDB in load.py, Spark in
    spark_engine.py), so both engines judge a column with the same `problems`."""

    blank: Callable[[str], str]  # raw text -> true when missing or only whitespace
    any_element: Callable[[str, str], str]  # (list, predicate over `x`) -> true if one holds
    expression: Callable[[str], str]  # a contract expression (`check`, `each`) in this SQL


def problems(col: Column, sql: Dialect) -> list[str]:
    """`WHEN ... THEN reason` clauses for one staged column, in order of severity: the
    reasons a row is rejected with, the same text on both engines."""
    raw, val = f"r_{col.name}", col.name
    out = []
    blank = sql.blank(raw)
    if col.required:
        out.append(f"WHEN {val} IS NULL AND {blank} THEN 'missing {col.name}'")
    if col.sql_type == "DATE[]":
        bad = sql.any_element(val, "x IS NULL")
        out.append(f"WHEN {bad} THEN '{col.name} is not a date list: ' || {raw}")
    elif col.sql_type != "VARCHAR":
        kind = col.sql_type.split("(")[0].lower()
        out.append(f"WHEN {val} IS NULL AND NOT {blank} THEN '{col.name} is not {kind}: ' || {raw}")
    if col.check:
        cond = sql.expression(col.check.replace("x", val))
        out.append(f"WHEN NOT ({cond}) THEN '{col.name} out of range: ' || {raw}")
    if col.each:
        bad = sql.any_element(val, f"NOT ({sql.expression(col.each)})")
        out.append(f"WHEN {bad} THEN '{col.name} out of range: ' || {raw}")
    return out


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
        Column("joining_date", "DATE", required=True, check=DATE_RANGE),
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
        Column("date_issued", "DATE", required=True, check=DATE_RANGE),
        Column("payment_dates", "DATE[]", each=DATE_RANGE),
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


def match_header(extract: Extract, file_name: str, names: list[str]) -> dict[str, str]:
    """Contract column -> its name in the file's header. Names match trimmed and
    case-insensitively, in any order; anything else is a bad file naming the columns: a
    missing column, and an extra, renamed or repeated one (rows would no longer line up
    with the contract, and a shifted header rejects every row: features over nothing)."""
    header: dict[str, str] = {}
    repeated = []
    for name in names:
        norm = name.strip().lower()
        if norm in header:
            repeated.append(name)
        header[norm] = name
    expected = [c.name for c in extract.columns]
    problems = []
    if missing := [n for n in expected if n not in header]:
        problems.append(f"missing column(s) {', '.join(missing)}")
    if extra := [header[n] for n in header if n not in expected]:
        problems.append(f"unexpected column(s) {', '.join(extra)}")
    if repeated:
        problems.append(f"repeated column(s) {', '.join(repeated)}")
    if problems:
        raise BadExtractFile(
            f"{file_name}: {'; '.join(problems)} (header has: {', '.join(names)}; "
            f"the contract is: {', '.join(expected)})"
        )
    return header


def present_files(folder: LandingFolder) -> dict[str, Path]:
    """The extract files landed in `landing/retail/` under their final names."""
    return {rel: path for rel, path in folder.present() if rel in EXTRACT_FILES}


def set_fingerprint(hashes: dict[str, str]) -> str:
    """One key for a complete set: the hash of the four files' content hashes, by name."""
    payload = json.dumps({name: hashes[name] for name in EXTRACT_FILES}, sort_keys=True)
    return hashlib.sha256(payload.encode()).hexdigest()[:32]
