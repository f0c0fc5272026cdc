"""`late_payments_cdc`: the source tables as the change stream left them, and their features.

One batch of change events is applied in ONE transaction (`apply_batch`): the staged copy
of the four tables (`stg_*`, the same columns as the extract path's staging tables, keyed
as the source is), the rejected events, the offsets the stream has reached and the as-of
date, and `invoice_features` re-computed for the affected accounts only. The dependency
rule (docs/cdc.md): an invoice's features depend on its own lines and SKUs, its account's
`joining_date` and the dates of its account's other invoices; so a change re-computes the
invoices of the accounts it touches (before and after), never the whole table.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

import duckdb

from assets.late_payments.changes import KEYS, DecodedBatch
from assets.late_payments.extracts import EXTRACTS, Extract, problems
from assets.late_payments.features import FEATURE_TYPES, features_select, is_late
from assets.late_payments.load import DUCKDB, raw_text, typed_value
from resources.sql import Schema

CDC_SCHEMA = "late_payments_cdc"
M = CDC_SCHEMA
CDC_FEATURES = f"{M}.invoice_features"


def _staged_columns(extract: Extract) -> str:
    cols = [f"{c.name} {c.sql_type}" for c in extract.columns]
    cols += [f"{name} DATE" for name in extract.extra]  # paid_on: the last payment date
    return ", ".join(cols)


# ART indexes on what a change looks up: DuckDB joins a small batch to them by index (a
# probe per key) instead of scanning the table, so a change costs its account, not the table.
INDEXED = (
    ("stg_accounts", "account_id"), ("stg_skus", "item_id"), ("stg_invoices", "invoice_id"),
    ("stg_invoices", "account_id"), ("stg_invoice_line_items", "invoice_id"),
    ("stg_invoice_line_items", "item_id"), ("invoice_features", "inv_id"),
    ("invoice_features", "acct_id"),
)
CDC_TABLES = Schema(M, (
    f"CREATE SCHEMA IF NOT EXISTS {M}",
    *(f"CREATE TABLE IF NOT EXISTS {M}.stg_{e.name} ({_staged_columns(e)})"
      for e in EXTRACTS.values()),
    f"""CREATE TABLE IF NOT EXISTS {CDC_FEATURES} ({
        ', '.join(f'{n} {t}' for n, t in FEATURE_TYPES.items())})""",
    f"""CREATE TABLE IF NOT EXISTS {M}.rejected_changes (
        topic VARCHAR NOT NULL, "partition" INTEGER NOT NULL, "offset" BIGINT NOT NULL,
        table_name VARCHAR, reason VARCHAR NOT NULL, record VARCHAR,
        rejected_at TIMESTAMP DEFAULT current_timestamp,
        PRIMARY KEY (topic, "partition", "offset"))""",
    f"""CREATE TABLE IF NOT EXISTS {M}.applied_offsets (
        topic VARCHAR NOT NULL, "partition" INTEGER NOT NULL, next_offset BIGINT NOT NULL,
        PRIMARY KEY (topic, "partition"))""",
    f"CREATE TABLE IF NOT EXISTS {M}.as_of (as_of DATE NOT NULL)",
    *(f"CREATE INDEX IF NOT EXISTS {table}_{col} ON {M}.{table} ({col})" for table, col in INDEXED),
))  # fmt: skip


@dataclass(frozen=True)
class Applied:
    events: dict[str, int]  # per table
    rejected: int
    accounts: int  # accounts whose invoices were re-computed
    invoices: int  # feature rows written
    crossed: int  # unpaid invoices whose is_late the as-of step changed
    as_of: date


def stored_offsets(conn: duckdb.DuckDBPyConnection) -> dict[str, dict[str, int]]:
    """topic -> partition -> next offset: where the applied batches have reached."""
    out: dict[str, dict[str, int]] = {}
    for topic, part, nxt in conn.execute(f"SELECT * FROM {M}.applied_offsets").fetchall():
        out.setdefault(topic, {})[str(part)] = nxt
    return out


def stored_as_of(conn: duckdb.DuckDBPyConnection) -> date | None:
    row = conn.execute(f"SELECT max(as_of) FROM {M}.as_of").fetchone()
    return row[0] if row else None


def _judge(conn: duckdb.DuckDBPyConnection, batch: DecodedBatch, name: str) -> None:
    """`cdc_j_<name>`: every event typed and judged by the extract contract, `last` marking
    the newest event per key (the one that decides the key's state)."""
    extract, keys = EXTRACTS[name], ", ".join(KEYS[name])
    conn.register("cdc_events", batch.table(name))
    raw = ", ".join(f"{raw_text(c, c.name)} AS r_{c.name}" for c in extract.columns)
    typed = ", ".join(f"{typed_value(c)} AS {c.name}" for c in extract.columns)
    whens = " ".join(w for c in extract.columns for w in problems(c, DUCKDB))
    extra = "".join(f", {expr} AS {n}" for n, expr in extract.extra.items())
    conn.execute(f"""
        CREATE OR REPLACE TEMP TABLE cdc_j_{name} AS
        SELECT *{extra}, CASE WHEN NOT _deleted THEN CASE {whens} END END AS reason,
               row_number() OVER (PARTITION BY {keys}
                                  ORDER BY _partition DESC, _offset DESC) = 1 AS last
        FROM (SELECT *, {typed} FROM (
            SELECT _topic, _partition, _offset, _deleted, _record, {raw} FROM cdc_events))""")
    conn.unregister("cdc_events")


def _apply_table(conn: duckdb.DuckDBPyConnection, name: str) -> None:
    """The newest event per key decides: deleted or rejected -> no row; else its row."""
    extract, keys = EXTRACTS[name], ", ".join(KEYS[name])
    cols = ", ".join([c.name for c in extract.columns] + list(extract.extra))
    conn.execute(f"DELETE FROM {M}.stg_{name} WHERE ({keys}) IN "
                 f"(SELECT ({keys}) FROM cdc_j_{name} WHERE last)")
    conn.execute(f"INSERT INTO {M}.stg_{name} SELECT {cols} FROM cdc_j_{name} "
                 "WHERE last AND NOT _deleted AND reason IS NULL")


_AFFECTED_BEFORE = f"""
CREATE OR REPLACE TEMP TABLE cdc_aff AS
SELECT account_id FROM {M}.stg_invoices
WHERE invoice_id IN (SELECT invoice_id FROM cdc_j_invoices WHERE last)
UNION SELECT account_id FROM cdc_j_accounts WHERE last AND account_id IS NOT NULL"""
_AFFECTED_AFTER = f"""
INSERT INTO cdc_aff
SELECT account_id FROM cdc_j_invoices
WHERE last AND NOT _deleted AND reason IS NULL
UNION SELECT account_id FROM {M}.stg_invoices
WHERE invoice_id IN (SELECT invoice_id FROM cdc_j_invoice_line_items WHERE last)
   OR invoice_id IN (SELECT invoice_id FROM {M}.stg_invoice_line_items
                     WHERE item_id IN (SELECT item_id FROM cdc_j_skus WHERE last))"""
_AFFECTED_LINES = f"""SELECT l.invoice_id, sum(l.quantity * s.item_retail_price) AS total,
    sum(l.quantity) AS items
FROM {M}.stg_invoice_line_items l LEFT JOIN {M}.stg_skus s ON s.item_id = l.item_id
WHERE l.invoice_id IN (SELECT invoice_id FROM {M}.stg_invoices
                       WHERE account_id IN (SELECT account_id FROM cdc_aff))
GROUP BY l.invoice_id"""
RECOMPUTE_SQL = f"INSERT INTO {CDC_FEATURES} " + features_select(
    M, _AFFECTED_LINES, "SELECT account_id FROM cdc_aff"
)
AS_OF_SQL = f"""
UPDATE {CDC_FEATURES} f SET is_late = {is_late("i.date_issued", "i.paid_on", "$as_of")}
FROM {M}.stg_invoices i
WHERE i.invoice_id = f.inv_id AND i.paid_on IS NULL
  AND i.date_issued >= least($old, $as_of) - 30 AND i.date_issued < greatest($old, $as_of) - 30"""


def _as_of_step(conn: duckdb.DuckDBPyConnection, as_of: date) -> int:
    """Unpaid invoices that cross the 30-day line between the stored as-of date and this
    one: only they change (`is_late` null -> 1, or back when the date moves back)."""
    old = stored_as_of(conn)
    if old is None or old == as_of:
        return 0
    crossed = conn.execute(AS_OF_SQL, {"as_of": as_of, "old": old}).fetchone()[0]
    return int(crossed)


def _record_rejects(conn: duckdb.DuckDBPyConnection, batch: DecodedBatch) -> None:
    for name in EXTRACTS:
        conn.execute(f"""INSERT OR IGNORE INTO {M}.rejected_changes
            (topic, "partition", "offset", table_name, reason, record)
            SELECT _topic, _partition, _offset, '{name}', reason, _record
            FROM cdc_j_{name} WHERE reason IS NOT NULL""")
    if batch.poison:
        conn.executemany(
            f"""INSERT OR IGNORE INTO {M}.rejected_changes (topic, "partition", "offset",
                table_name, reason, record) VALUES (?, ?, ?, NULL, ?, ?)""",
            [(p.topic, p.partition, p.offset, p.reason, p.record) for p in batch.poison],
        )


def _store_position(conn, offsets: dict[str, dict[str, int]], as_of: date) -> None:
    if rows := [(t, int(p), n) for t, parts in offsets.items() for p, n in parts.items()]:
        conn.executemany(f"INSERT OR REPLACE INTO {M}.applied_offsets VALUES (?, ?, ?)", rows)
    conn.execute(f"DELETE FROM {M}.as_of")
    conn.execute(f"INSERT INTO {M}.as_of VALUES (?)", [as_of])


def apply_batch(
    conn: duckdb.DuckDBPyConnection, batch: DecodedBatch, offsets: dict[str, dict[str, int]],
    as_of: date,
) -> Applied:
    """Apply one batch and store `offsets` (reached including it) with it. The caller holds
    the transaction: all of it is durable, or none."""
    for name in EXTRACTS:
        _judge(conn, batch, name)
    conn.execute(_AFFECTED_BEFORE)
    for name in EXTRACTS:
        _apply_table(conn, name)
    conn.execute(_AFFECTED_AFTER)
    _record_rejects(conn, batch)
    crossed = _as_of_step(conn, as_of)
    conn.execute(f"DELETE FROM {CDC_FEATURES} WHERE acct_id IN (SELECT account_id FROM cdc_aff)")
    conn.execute(f"DELETE FROM {CDC_FEATURES} "
                 "WHERE inv_id IN (SELECT invoice_id FROM cdc_j_invoices WHERE last)")
    written = conn.execute(RECOMPUTE_SQL, {"as_of": as_of}).fetchone()[0]
    accounts = conn.execute("SELECT count(DISTINCT account_id) FROM cdc_aff").fetchone()[0]
    rejected = len(batch.poison) + sum(
        conn.execute(f"SELECT count(*) FROM cdc_j_{n} WHERE reason IS NOT NULL").fetchone()[0]
        for n in EXTRACTS
    )
    _store_position(conn, offsets, as_of)
    events = {n: len(batch.rows.get(n, [])) for n in EXTRACTS}
    return Applied(events, rejected, accounts, int(written), crossed, as_of)
