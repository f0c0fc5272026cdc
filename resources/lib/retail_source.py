"""The retail point-of-sale database as a source: its four tables, loading extracts into them
and dumping them back as extracts (the CSV files the batch pipeline reads).

One DDL for PostgreSQL and MariaDB/MySQL. No foreign keys (change events of different tables
arrive in any order; the consumer handles unknown references) and every non-key column is
nullable, so rows that break the extract contract (assets/late_payments/extracts.py) can exist
in the source and are rejected downstream. PostgreSQL tables get `REPLICA IDENTITY FULL`: an
update or delete event then carries the whole old row (`before`), as MySQL's
`binlog_row_image=FULL` does.

The real `invoice_line_items.csv` has no duplicate (invoice_id, item_id) pair, so that pair
is the table's key. The synthetic generator draws SKUs at random and can repeat one within an
invoice: `load_extracts` merges such lines into one with the quantities summed (the same
invoice total and item count), and reports how many it merged.
"""

from __future__ import annotations

import csv
import datetime as dt
import os
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from typing import Any

TABLES = ("accounts", "skus", "invoices", "invoice_line_items")


@dataclass(frozen=True)
class Table:
    name: str
    columns: tuple[tuple[str, str], ...]  # (column, SQL type), in the extract's order
    key: tuple[str, ...]

    @property
    def names(self) -> tuple[str, ...]:
        return tuple(c for c, _ in self.columns)

    def typed(self, column: str) -> bool:
        """Whether a value is a number or a date (parsed: surrounding blanks are dropped)."""
        kind = dict(self.columns)[column]
        return not kind.startswith(("TEXT", "VARCHAR"))

    def ddl(self) -> str:
        cols = []
        for name, kind in self.columns:
            single_key = self.key == (name,)
            not_null = " NOT NULL" if name in self.key and not single_key else ""
            cols.append(f"{name} {kind}{' PRIMARY KEY' if single_key else not_null}")
        if len(self.key) > 1:
            cols.append(f"PRIMARY KEY ({', '.join(self.key)})")
        return f"CREATE TABLE {self.name} ({', '.join(cols)})"


SCHEMA: dict[str, Table] = {
    t.name: t
    for t in (
        Table(
            "accounts",
            (
                ("account_id", "BIGINT"),
                ("company_name", "TEXT"),
                ("company_address", "TEXT"),
                ("contact_person", "TEXT"),
                ("contact_phone", "TEXT"),
                ("gender", "TEXT"),
                ("joining_date", "DATE"),
            ),
            ("account_id",),
        ),
        Table(
            "skus",
            (
                ("item_id", "VARCHAR(64)"),
                ("item_name", "TEXT"),
                ("item_description", "TEXT"),
                ("item_cost_price", "NUMERIC(18,4)"),
                ("item_retail_price", "NUMERIC(18,4)"),
            ),
            ("item_id",),
        ),
        Table(
            "invoices",
            (
                ("invoice_id", "BIGINT"),
                ("account_id", "BIGINT"),
                ("date_issued", "DATE"),
                ("payment_dates", "TEXT"),
            ),
            ("invoice_id",),
        ),
        Table(
            "invoice_line_items",
            (("invoice_id", "BIGINT"), ("item_id", "VARCHAR(64)"), ("quantity", "BIGINT")),
            ("invoice_id", "item_id"),
        ),
    )
}


def create_tables(conn: Any, dialect: str, replace: bool = False) -> list[str]:
    """Create the four tables (those missing; all anew with `replace`); the tables created."""
    existing = set(list_tables(conn, dialect))
    created = []
    with conn.cursor() as cur:
        for table in SCHEMA.values():
            if replace and table.name in existing:
                cur.execute(f"DROP TABLE {table.name}")
                existing.discard(table.name)
            if table.name in existing:
                continue
            cur.execute(table.ddl())
            if dialect == "postgresql":
                cur.execute(f"ALTER TABLE {table.name} REPLICA IDENTITY FULL")
            created.append(table.name)
    conn.commit()
    return created


def list_tables(conn: Any, dialect: str) -> list[str]:
    """Which of the four tables exist in the connection's schema/database."""
    schema = "current_schema()" if dialect == "postgresql" else "DATABASE()"
    with conn.cursor() as cur:
        cur.execute(
            f"SELECT table_name FROM information_schema.tables WHERE table_schema = {schema}"
        )
        names = {str(row[0]).lower() for row in cur.fetchall()}
    return [t for t in TABLES if t in names]


def count_rows(conn: Any) -> dict[str, int]:
    out = {}
    with conn.cursor() as cur:
        for table in TABLES:
            cur.execute(f"SELECT count(*) FROM {table}")
            out[table] = int(cur.fetchone()[0])
    conn.commit()
    return out


class BadExtract(ValueError):
    """An extract file whose header does not name the table's columns."""


def read_extract(path: Path, table: Table) -> Iterator[tuple[Any, ...]]:
    """The rows of one extract in the table's column order: an empty field is NULL, a number
    or date field is stripped of surrounding blanks (the database parses it), text is kept."""
    with open(path, newline="", encoding="utf-8") as f:
        reader = csv.reader(f)
        header = [h.strip().lower() for h in next(reader, [])]
        if sorted(header) != sorted(table.names):
            raise BadExtract(f"{path.name}: header {header} is not {list(table.names)}")
        order = [header.index(c) for c in table.names]
        typed = [table.typed(c) for c in table.names]
        for record in reader:
            if not record:
                continue
            record += [""] * (len(header) - len(record))
            values = []
            for i, is_typed in zip(order, typed, strict=True):
                value = record[i].strip() if is_typed else record[i]
                values.append(value if value != "" else None)
            yield tuple(values)


def _merged_lines(rows: Iterable[tuple[Any, ...]]) -> tuple[list[tuple[Any, ...]], int]:
    """Line items with one row per (invoice_id, item_id), quantities summed; how many merged."""
    merged: dict[tuple[Any, Any], list[Any]] = {}
    dropped = 0
    for invoice_id, item_id, quantity in rows:
        key = (invoice_id, item_id)
        if key not in merged:
            merged[key] = [invoice_id, item_id, quantity]
            continue
        dropped += 1
        first = merged[key][2]
        if first is None or quantity is None:
            merged[key][2] = first if quantity is None else quantity
        else:
            merged[key][2] = str(int(first) + int(quantity))
    return [tuple(r) for r in merged.values()], dropped


def _batches(rows: Iterable[tuple[Any, ...]], size: int) -> Iterator[list[tuple[Any, ...]]]:
    batch: list[tuple[Any, ...]] = []
    for row in rows:
        batch.append(row)
        if len(batch) >= size:
            yield batch
            batch = []
    if batch:
        yield batch


def insert_rows(
    conn: Any, dialect: str, table: Table, rows: Iterable[Sequence[Any]], batch: int = 5000
) -> int:
    """Append rows (bound parameters: COPY on PostgreSQL, executemany in batches on MySQL)."""
    cols = ", ".join(table.names)
    count = 0
    with conn.cursor() as cur:
        if dialect == "postgresql":
            with cur.copy(f"COPY {table.name} ({cols}) FROM STDIN") as copy:
                for row in rows:
                    copy.write_row(row)
                    count += 1
        else:
            marks = ", ".join(["%s"] * len(table.names))
            sql = f"INSERT INTO {table.name} ({cols}) VALUES ({marks})"
            for chunk in _batches(rows, batch):
                cur.executemany(sql, chunk)
                count += len(chunk)
    return count


@dataclass
class LoadResult:
    counts: dict[str, int]  # rows now in each table from this load
    merged_line_items: int = 0  # duplicate (invoice_id, item_id) lines merged into one


def load_extracts(conn: Any, dialect: str, folder: Path, batch: int = 5000) -> LoadResult:
    """Load `folder`'s four CSV extracts into the (existing) tables, in one transaction."""
    folder = Path(folder)
    counts: dict[str, int] = {}
    merged = 0
    try:
        for name in TABLES:
            table = SCHEMA[name]
            rows: Iterable[tuple[Any, ...]] = read_extract(folder / f"{name}.csv", table)
            if name == "invoice_line_items":
                rows, merged = _merged_lines(rows)
            counts[name] = insert_rows(conn, dialect, table, rows, batch=batch)
        conn.commit()
    except BaseException:
        conn.rollback()
        raise
    return LoadResult(counts, merged)


def _field(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, Decimal):
        return format(value, "f")  # as stored (NUMERIC(18,4): 4176.5100), never 1E+3
    if isinstance(value, dt.date):
        return value.isoformat()
    if isinstance(value, bytes):
        return value.decode()
    return str(value)


def dump_extracts(conn: Any, folder: Path) -> dict[str, int]:
    """Write the four tables as CSV extracts into `folder`, in the format of the real files
    (their headers, ISO dates, decimals as stored, NULL as an empty field, quoted by the csv
    module where needed, '\\n' line ends), ordered by key; each file appears complete."""
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    counts = {}
    with conn.cursor() as cur:
        for name in TABLES:
            table = SCHEMA[name]
            cur.execute(
                f"SELECT {', '.join(table.names)} FROM {name} ORDER BY {', '.join(table.key)}"
            )
            tmp = folder / f"{name}.csv.part"
            n = 0
            with open(tmp, "w", newline="", encoding="utf-8") as f:
                writer = csv.writer(f, lineterminator="\n")
                writer.writerow(table.names)
                while rows := cur.fetchmany(5000):
                    writer.writerows([_field(v) for v in row] for row in rows)
                    n += len(rows)
            os.replace(tmp, folder / f"{name}.csv")
            counts[name] = n
    conn.commit()
    return counts
