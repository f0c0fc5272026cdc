"""The invoices tables and the set-based SQL that keeps them right, for DuckDB and PostgreSQL.

One file is applied in ONE transaction: upsert the raw rows, add the per-(venue, date)
deltas (new rows minus the rows they replace) to the aggregate, write the ledger. Its cost
follows the file, not the raw table: the primary-key lookups of the file's invoice ids and
the aggregate rows of the (venue, date) pairs it touches.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Any

import pyarrow as pa

from assets.invoices.parse import ParsedFile
from assets.invoices.staging import REJECT_COLUMNS_PG, rejects_table, stage_arrow
from resources.sql import Schema, transaction

_DDL = (
    "CREATE SCHEMA IF NOT EXISTS invoices",
    """CREATE TABLE IF NOT EXISTS invoices.raw_invoices (
        invoice_id UUID PRIMARY KEY,
        venue_id VARCHAR NOT NULL,
        created_at TIMESTAMP NOT NULL,
        created_date DATE NOT NULL,
        total DECIMAL(18, 2) NOT NULL,
        source_file VARCHAR NOT NULL,
        synced_on DATE NOT NULL,
        loaded_at TIMESTAMP NOT NULL)""",
    """CREATE TABLE IF NOT EXISTS invoices.venue_daily_totals (
        venue_id VARCHAR NOT NULL,
        created_date DATE NOT NULL,
        total_amount DECIMAL(18, 2) NOT NULL,
        invoice_count BIGINT NOT NULL,
        updated_at TIMESTAMP NOT NULL,
        PRIMARY KEY (venue_id, created_date))""",
    """CREATE TABLE IF NOT EXISTS invoices.file_ledger (
        content_hash VARCHAR PRIMARY KEY,
        file_name VARCHAR NOT NULL,
        sync_date DATE NOT NULL,
        rows_loaded BIGINT NOT NULL,
        rows_rejected BIGINT NOT NULL,
        rows_unchanged BIGINT NOT NULL,
        created_dates_touched DATE[] NOT NULL,
        loaded_at TIMESTAMP NOT NULL)""",
    """CREATE TABLE IF NOT EXISTS invoices.rejected_invoice_rows (
        content_hash VARCHAR NOT NULL,
        source_file VARCHAR NOT NULL,
        line_number BIGINT NOT NULL,
        raw_line VARCHAR NOT NULL,
        reason VARCHAR NOT NULL,
        rejected_at TIMESTAMP NOT NULL,
        PRIMARY KEY (content_hash, line_number))""",
)
# PostgreSQL only: DuckDB prunes by zone maps and an ART index there would slow every load;
# free space in the aggregate's pages lets the delta upserts be HOT updates (no index write).
_PG_ONLY = (
    "CREATE INDEX IF NOT EXISTS raw_invoices_created_date"
    " ON invoices.raw_invoices (created_date)",
    "ALTER TABLE invoices.venue_daily_totals SET (fillfactor = 70)",
)
SCHEMA = Schema("invoices", _DDL, postgres_only=_PG_ONLY)

_CHANGES = """
CREATE TEMP TABLE changes AS
SELECT s.invoice_id, s.venue_id, s.created_at, s.created_date, s.total, s.source_file,
       r.venue_id AS old_venue_id, r.created_date AS old_created_date, r.total AS old_total
FROM stage s
LEFT JOIN invoices.raw_invoices r ON r.invoice_id = s.invoice_id
WHERE r.invoice_id IS NULL
   OR r.synced_on < %s
   OR (r.synced_on = %s AND (r.venue_id <> s.venue_id OR r.created_at <> s.created_at
                             OR r.total <> s.total OR r.source_file <> s.source_file))
"""
_DELTAS = """
CREATE TEMP TABLE deltas AS
SELECT venue_id, created_date, SUM(amount) AS amount, SUM(n) AS n
FROM (
    SELECT venue_id, created_date, total AS amount, 1 AS n FROM changes
    UNION ALL
    SELECT old_venue_id, old_created_date, -old_total, -1 FROM changes
    WHERE old_venue_id IS NOT NULL
) d
GROUP BY venue_id, created_date
HAVING SUM(n) <> 0 OR SUM(amount) <> 0
"""
_UPSERT_RAW = """
INSERT INTO invoices.raw_invoices
    (invoice_id, venue_id, created_at, created_date, total, source_file, synced_on, loaded_at)
SELECT invoice_id, venue_id, created_at, created_date, total, source_file, %s, %s
FROM changes
ON CONFLICT (invoice_id) DO UPDATE SET
    venue_id = excluded.venue_id, created_at = excluded.created_at,
    created_date = excluded.created_date, total = excluded.total,
    source_file = excluded.source_file, synced_on = excluded.synced_on,
    loaded_at = excluded.loaded_at
"""
# One MERGE (DuckDB and PostgreSQL alike) adds the deltas, inserts new pairs and drops the
# pairs whose last invoice moved away, touching only the aggregate rows of the deltas.
_MERGE_DELTAS = """
MERGE INTO invoices.venue_daily_totals t
USING deltas d ON t.venue_id = d.venue_id AND t.created_date = d.created_date
WHEN MATCHED AND t.invoice_count + d.n = 0 THEN DELETE
WHEN MATCHED THEN UPDATE SET
    total_amount = t.total_amount + d.amount,
    invoice_count = t.invoice_count + d.n,
    updated_at = %s
WHEN NOT MATCHED THEN INSERT
    (venue_id, created_date, total_amount, invoice_count, updated_at)
    VALUES (d.venue_id, d.created_date, d.amount, d.n, %s)
"""
_STAGE_SELECT = ("invoice_id::UUID AS invoice_id, venue_id, created_at, created_date, total,"
                 " line_number, source_file")
_STAGE_COLUMNS_PG = ("invoice_id UUID, venue_id TEXT, created_at TIMESTAMP, created_date DATE,"
                     " total NUMERIC(18, 2), line_number BIGINT, source_file TEXT")
_INSERT_REJECTED = """
INSERT INTO invoices.rejected_invoice_rows
    (content_hash, source_file, line_number, raw_line, reason, rejected_at)
SELECT %s, %s, line_number, raw_line, reason, %s FROM rejects
ON CONFLICT DO NOTHING
"""
_FRESH = """
CREATE TEMP TABLE fresh AS
SELECT venue_id, created_date, SUM(total) AS total_amount, COUNT(*) AS invoice_count
FROM invoices.raw_invoices
WHERE created_date BETWEEN %s AND %s
GROUP BY venue_id, created_date
"""
_MISMATCHES = """
SELECT COALESCE(f.venue_id, t.venue_id), COALESCE(f.created_date, t.created_date),
       f.total_amount, t.total_amount, f.invoice_count, t.invoice_count
FROM fresh f
FULL OUTER JOIN (
    SELECT * FROM invoices.venue_daily_totals WHERE created_date BETWEEN %s AND %s
) t ON t.venue_id = f.venue_id AND t.created_date = f.created_date
WHERE f.venue_id IS NULL OR t.venue_id IS NULL
   OR f.total_amount <> t.total_amount OR f.invoice_count <> t.invoice_count
ORDER BY 2, 1
"""


Batched = tuple[ParsedFile, str, str]  # a parsed file, its name, its content hash


def _with_source(rows: pa.Table, file_name: str) -> pa.Table:
    return rows.append_column("source_file", pa.array([file_name] * rows.num_rows, pa.string()))


@dataclass(frozen=True)
class FileOutcome:
    rows_loaded: int
    rows_rejected: int
    rows_unchanged: int
    dates_touched: list[date]
    already_loaded: bool = False


class InvoiceStore:
    """The invoices tables on one connection (`duckdb` or `postgres` dialect)."""

    def __init__(self, conn: Any, dialect: str) -> None:
        self.conn = conn
        self.dialect = dialect
        self.timings: dict[str, float] = {}  # seconds of the last apply_file's phases

    @contextmanager
    def _timed(self, phase: str) -> Iterator[None]:
        started = time.perf_counter()
        yield
        self.timings[phase] = time.perf_counter() - started

    def execute(self, sql: str, params: tuple | list = ()) -> Any:
        if self.dialect == "duckdb":
            return self.conn.execute(sql.replace("%s", "?"), list(params))
        return self.conn.execute(sql, params)

    def transaction(self) -> Any:
        return transaction(self.conn)

    def _drop_temp(self, *names: str) -> None:
        for name in names:
            self.execute(f"DROP TABLE IF EXISTS {name}")

    def _stage(self, rows: pa.Table) -> None:
        """Temp table `stage`: the file's good rows, typed, in one bulk statement."""
        stage_arrow(self.conn, self.dialect, "stage", rows, _STAGE_COLUMNS_PG, _STAGE_SELECT)

    def _insert_rejected(
        self, rejected: list[tuple[int, str, str]], content_hash: str, file_name: str,
        now: datetime,
    ) -> None:
        """Every rejected row of the file in one INSERT ... SELECT from a bulk-staged temp
        table (never one statement per row)."""
        if not rejected:
            return
        stage_arrow(self.conn, self.dialect, "rejects", rejects_table(rejected),
                    REJECT_COLUMNS_PG)
        self.execute(_INSERT_REJECTED, (content_hash, file_name, now))

    def is_loaded(self, content_hash: str) -> bool:
        row = self.execute(
            "SELECT 1 FROM invoices.file_ledger WHERE content_hash = %s", (content_hash,)
        ).fetchone()
        return row is not None

    def apply_file(
        self, parsed: ParsedFile, file_name: str, content_hash: str, sync_date: date
    ) -> FileOutcome:
        """Load one parsed file atomically; a file already in the ledger is a no-op."""
        if self.is_loaded(content_hash):
            return FileOutcome(0, 0, 0, [], already_loaded=True)
        return self.apply_files([(parsed, file_name, content_hash)], sync_date)[0]

    def apply_files(self, files: list[Batched], sync_date: date) -> list[FileOutcome]:
        """Load new files of one sync date whose invoice ids are disjoint in ONE transaction
        (many small files at the cost of one: docs/invoices.md, "Small files"). Disjoint
        ids make the order of the files irrelevant, so each file's rows and figures are
        what loading it alone would give; a crash rolls back all of them."""
        now = datetime.now(UTC).replace(tzinfo=None)
        with self.transaction():
            self._drop_temp("stage", "changes", "deltas", "rejects")
            with self._timed("load"):  # the raw layer: stage, find replaced rows, upsert
                self._stage(pa.concat_tables([_with_source(p.rows, name) for p, name, _ in files]))
                if self.dialect == "postgres":
                    self.execute("ANALYZE stage")
                self.execute(_CHANGES, (sync_date, sync_date))
                if self.dialect == "postgres":
                    self.execute("ANALYZE changes")
                self.execute(_UPSERT_RAW, (sync_date, now))
            with self._timed("incremental"):  # the aggregate: per-(venue, date) deltas
                self.execute(_DELTAS)
                self.execute(_MERGE_DELTAS, (now, now))
            outcomes = [self._record(parsed, name, content_hash, sync_date, now, figures)
                        for (parsed, name, content_hash), figures
                        in zip(files, self._figures([n for _, n, _ in files]), strict=True)]
            if sum(p.rows.num_rows for p, _, _ in files) > 10_000:  # small: next start drops
                self._drop_temp("stage", "changes", "deltas", "rejects")
        return outcomes

    def _figures(self, names: list[str]) -> list[tuple[int, list[date]]]:
        """(rows loaded, creation dates touched) of each file of the batch, from `changes`
        (the dates: those its rows moved to or from, where the net delta is not 0)."""
        net = {d for (d,) in self.execute("SELECT DISTINCT created_date FROM deltas").fetchall()}
        loaded = dict(self.execute(
            "SELECT source_file, COUNT(*) FROM changes GROUP BY source_file").fetchall())
        dates: dict[str, set[date]] = {}
        for name, day in self.execute(
            "SELECT source_file, created_date FROM changes UNION SELECT source_file,"
            " old_created_date FROM changes WHERE old_created_date IS NOT NULL"
        ).fetchall():
            if day in net:
                dates.setdefault(name, set()).add(day)
        return [(int(loaded.get(n, 0)), sorted(dates.get(n, ()))) for n in names]

    def _record(self, parsed: ParsedFile, file_name: str, content_hash: str, sync_date: date,
                now: datetime, figures: tuple[int, list[date]]) -> FileOutcome:
        """One file's rejected rows and ledger row, inside the batch's transaction."""
        loaded, dates = figures
        if parsed.rejected:
            self._drop_temp("rejects")
            self._insert_rejected(parsed.rejected, content_hash, file_name, now)
        outcome = FileOutcome(rows_loaded=loaded, rows_rejected=len(parsed.rejected),
                              rows_unchanged=parsed.rows.num_rows - loaded, dates_touched=dates)
        self.execute(
            "INSERT INTO invoices.file_ledger VALUES (%s, %s, %s, %s, %s, %s, %s, %s)",
            (content_hash, file_name, sync_date, outcome.rows_loaded, outcome.rows_rejected,
             outcome.rows_unchanged, dates, now),
        )
        return outcome

    def _fresh(self, start: date, end: date) -> None:
        """Temp table `fresh`: the GROUP BY over the raw rows of [start, end]."""
        self._drop_temp("fresh")
        self.execute(_FRESH, (start, end))
        if self.dialect == "postgres":
            self.execute("ANALYZE fresh")  # temp tables have no statistics otherwise

    def mismatches(self, start: date, end: date, limit: int = 20) -> list[tuple]:
        """(venue, date, raw sum, aggregate sum, raw count, aggregate count) that disagree."""
        self._fresh(start, end)
        rows = self.execute(_MISMATCHES + " LIMIT %s", (start, end, limit)).fetchall()
        self._drop_temp("fresh")
        return rows

    def recompute_dates(self, start: date, end: date) -> int:
        """Make the aggregate of [start, end] equal a GROUP BY over the raw table; return the
        number of aggregate rows that had to change (0 when the increments were right)."""
        now = datetime.now(UTC).replace(tzinfo=None)
        with self.transaction():
            self._fresh(start, end)
            stale = self.execute(
                "DELETE FROM invoices.venue_daily_totals t WHERE created_date BETWEEN %s AND %s"
                " AND NOT EXISTS (SELECT 1 FROM fresh f WHERE f.venue_id = t.venue_id"
                " AND f.created_date = t.created_date)",
                (start, end),
            )
            deleted = _rowcount(stale)
            changed = self.execute(
                "SELECT COUNT(*) FROM fresh f LEFT JOIN invoices.venue_daily_totals t"
                " ON t.venue_id = f.venue_id AND t.created_date = f.created_date"
                " WHERE t.venue_id IS NULL OR t.total_amount <> f.total_amount"
                " OR t.invoice_count <> f.invoice_count"
            ).fetchone()[0]
            if changed:
                self.execute(
                    "INSERT INTO invoices.venue_daily_totals"
                    " SELECT f.venue_id, f.created_date, f.total_amount, f.invoice_count, %s"
                    " FROM fresh f LEFT JOIN invoices.venue_daily_totals t"
                    " ON t.venue_id = f.venue_id AND t.created_date = f.created_date"
                    " WHERE t.venue_id IS NULL OR t.total_amount <> f.total_amount"
                    " OR t.invoice_count <> f.invoice_count"
                    " ON CONFLICT (venue_id, created_date) DO UPDATE SET"
                    " total_amount = excluded.total_amount,"
                    " invoice_count = excluded.invoice_count, updated_at = excluded.updated_at",
                    (now,),
                )
            self._drop_temp("fresh")
        return deleted + changed

    def rebuild_all(self) -> None:
        """Brute force: rebuild the whole aggregate from the raw table (benchmark baseline)."""
        now = datetime.now(UTC).replace(tzinfo=None)
        with self.transaction():
            self.execute("TRUNCATE invoices.venue_daily_totals")
            self.execute(
                "INSERT INTO invoices.venue_daily_totals SELECT venue_id, created_date,"
                " SUM(total), COUNT(*), %s FROM invoices.raw_invoices GROUP BY 1, 2",
                (now,),
            )

    def scalar(self, sql: str, params: tuple = ()) -> Any:
        return self.execute(sql, params).fetchone()[0]


def _rowcount(result: Any) -> int:
    if hasattr(result, "rowcount") and result.rowcount is not None and result.rowcount >= 0:
        return result.rowcount
    row = result.fetchone()
    return int(row[0]) if row else 0


@contextmanager
def open_store(invoices_db: Any) -> Iterator[InvoiceStore]:
    """The store on the configured backend (an `InvoicesDb` resource), its tables in place."""
    with invoices_db.connect(SCHEMA) as (conn, dialect):
        yield InvoiceStore(conn, dialect)
