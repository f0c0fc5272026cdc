"""Synthetic retail extracts for the late_payments domain, written by DuckDB straight to CSV.

Deterministic from the seed: every random draw is `hash(row, seed, salt)`, so the output does
not depend on thread scheduling. The messy cases of spec §4 are in every set: addresses with
commas and line breaks (quoted), stray whitespace around values, unpaid invoices (empty
`payment_dates`: 3 % at random, plus every invoice whose payment would fall after the extract
day, so recent unpaid invoices are not late yet), a few invoices paid in two instalments
("d1;d2"), invoices without line items, a line item pointing to an unknown SKU, and (when
`messy`) rows that must be rejected (an unparseable date, a duplicate invoice id).
"""

from __future__ import annotations

from pathlib import Path

import duckdb

LANDING = "retail"
INVOICES_AT_SCALE_1 = 2_000
INVOICES_PER_ACCOUNT = 48  # the real extract: 9,685 invoices over 200 accounts
SKUS = 100
FIRST_ISSUE = "2020-05-12"
ISSUE_DAYS = 366


def _sku_id(s: str) -> str:
    """An ISBN-like SKU id for SKU number `s` (same formula in skus and line items)."""
    return (
        f"'0-' || lpad({s}::VARCHAR, 4, '0') || '-' "
        f"|| lpad(({s} * 37 % 10000)::VARCHAR, 4, '0') || '-' || ({s} % 10)"
    )


def _r(salt: str, row: str, seed: int, modulo: int) -> str:
    """A deterministic pseudo-random integer in [0, modulo) for each row."""
    return f"(hash({row}, {seed}, '{salt}') % {modulo})::BIGINT"


def write_extracts(folder: Path, invoices: int, seed: int = 42, messy: bool = True) -> dict:
    """Write the four CSVs for `invoices` invoices into `folder`; return row counts."""
    folder.mkdir(parents=True, exist_ok=True)
    accounts = max(1, invoices // INVOICES_PER_ACCOUNT)
    con = duckdb.connect()
    con.execute("SET preserve_insertion_order = false")
    csv = "(HEADER, DELIMITER ',', QUOTE '\"')"

    def copy(select: str, name: str) -> int:
        tmp = folder / f"{name}.csv.part"
        con.execute(f"COPY ({select}) TO '{tmp}' {csv}")
        tmp.replace(folder / f"{name}.csv")  # appear complete, never half-written
        return con.execute(f"SELECT count(*) FROM read_csv('{folder / name}.csv')").fetchone()[0]

    counts = {}
    counts["accounts"] = copy(
        f"""SELECT a AS account_id, 'Company ' || a || CASE WHEN a % 7 = 0 THEN ', Ltd' ELSE '' END
                AS company_name,
            a || ' Market Street' || chr(10) || 'Springfield, ST '
                || lpad((a % 99999)::VARCHAR, 5, '0') AS company_address,
            'Contact ' || a AS contact_person,
            '(555) ' || lpad({_r("ph", "a", seed, 10_000_000)}::VARCHAR, 7, '0') AS contact_phone,
            CASE WHEN {_r("g", "a", seed, 2)} = 0 THEN 'F' ELSE 'M' END AS gender,
            (DATE '2016-05-01' + {_r("j", "a", seed, 1100)}::INTEGER) AS joining_date
        FROM range(1, {accounts} + 1) t(a) ORDER BY a""",
        "accounts",
    )
    counts["skus"] = copy(
        f"""SELECT {_sku_id("s")} AS item_id,
            'Item ' || s AS item_name, 'a "fine", durable item no. ' || s AS item_description,
            round(50 + {_r("c", "s", seed, 950000)} / 100.0, 2) AS item_cost_price,
            round((50 + {_r("c", "s", seed, 950000)} / 100.0) * 1.8, 2) AS item_retail_price
        FROM range(1, {SKUS} + 1) t(s) ORDER BY s""",
        "skus",
    )
    issue = f"(DATE '{FIRST_ISSUE}' + {_r('d', 'i', seed, ISSUE_DAYS)}::INTEGER)"
    delay = f"{_r('p', 'i', seed, 36)}::INTEGER"  # ~14% paid after day 30
    # the extract is taken on the last issue day: payments after it are not known yet
    extract_day = f"(DATE '{FIRST_ISSUE}' + {ISSUE_DAYS - 1})"
    pad = "CASE WHEN i % 101 = 0 THEN '  ' ELSE '' END"
    con.execute(
        f"""CREATE TABLE inv AS SELECT i, 1 + {_r("a", "i", seed, accounts)} AS acct,
            {issue} AS issued, {delay} AS delay, {_r("u", "i", seed, 100)} AS u
            FROM range(1, {invoices} + 1) t(i)"""
    )
    bad = (
        "UNION ALL SELECT '999999999999', '1', 'not-a-date', '' "
        "UNION ALL SELECT '1', '1', '2021-01-01', '2021-01-02'"
        if messy
        else ""
    )
    counts["invoices"] = copy(
        f"""SELECT * FROM (
            SELECT {pad} || i || {pad} AS invoice_id, acct::VARCHAR AS account_id,
                   {pad} || issued::VARCHAR AS date_issued,
                   CASE WHEN u < 3 OR issued + delay > {extract_day} THEN ''
                        WHEN u = 3
                            THEN (issued + 10)::VARCHAR || ';' || (issued + delay + 5)::VARCHAR
                        ELSE (issued + delay)::VARCHAR || {pad} END AS payment_dates
            FROM inv ORDER BY i) {bad}""",
        "invoices",
    )
    counts["invoice_line_items"] = copy(
        f"""SELECT invoice_id, item_id, quantity FROM (
            SELECT i AS invoice_id, k,
                   CASE WHEN i = 7 AND k = 0 THEN '9-9999-9999-X' ELSE {_sku_id("s")} END
                       AS item_id,
                   1 + {_r("q", "i * 16 + k", seed, 4)} AS quantity
            FROM (SELECT i, unnest(range(CASE WHEN i % 200 = 0 THEN 0
                                         ELSE 1 + {_r("n", "i", seed, 10)} END)) AS k FROM inv)
                 CROSS JOIN LATERAL (SELECT 1 + {_r("s", "i * 16 + k", seed, SKUS)} AS s))
            ORDER BY invoice_id, k""",
        "invoice_line_items",
    )
    con.close()
    return counts


def generate(data_dir: Path, seed: int = 42, scale: float = 1.0) -> dict[str, int]:
    """The demo/test input: ~2,000 invoices at scale 1.0 in `data_dir/landing/retail/`."""
    invoices = max(200, int(INVOICES_AT_SCALE_1 * scale))
    return write_extracts(Path(data_dir) / "landing" / LANDING, invoices, seed=seed)
