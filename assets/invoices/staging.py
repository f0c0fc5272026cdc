"""Many rows into a temp table in one statement: the invoices store's one bulk path.

DuckDB reads an Arrow table registered on the connection; PostgreSQL takes it through
`COPY ... FROM STDIN` as CSV. Both the good rows of a file and its rejected rows go in this
way, so a file's cost does not grow with one round trip per row (50,000 rejected rows took
~165 s inserted one by one inside the load transaction).
"""

from __future__ import annotations

import io
from typing import Any

import pyarrow as pa
import pyarrow.csv as pacsv

REJECT_SCHEMA = pa.schema(
    [("line_number", pa.int64()), ("raw_line", pa.string()), ("reason", pa.string())]
)
REJECT_COLUMNS_PG = "line_number BIGINT, raw_line TEXT, reason TEXT"


def stage_arrow(
    conn: Any, dialect: str, name: str, rows: pa.Table, pg_columns: str, select: str = "*"
) -> None:
    """Create temp table `name` holding `rows`. DuckDB: `CREATE TEMP TABLE name AS SELECT
    <select> FROM` the registered table (casts go in `select`); PostgreSQL: a temp table of
    `pg_columns` (dropped at commit) filled by one COPY. `name`, `pg_columns` and `select`
    are the store's own constants, never input."""
    if dialect == "duckdb":
        view = f"incoming_{name}"
        conn.register(view, rows)
        try:
            conn.execute(f"CREATE TEMP TABLE {name} AS SELECT {select} FROM {view}")
        finally:
            conn.unregister(view)
        return
    conn.execute(f"CREATE TEMP TABLE {name} ({pg_columns}) ON COMMIT DROP")
    buffer = io.BytesIO()
    pacsv.write_csv(rows, buffer)
    with conn.cursor() as cur:
        with cur.copy(f"COPY {name} FROM STDIN (FORMAT csv, HEADER true)") as copy:
            copy.write(buffer.getvalue())


def rejects_table(rejected: list[tuple[int, str, str]]) -> pa.Table:
    """The (line, raw line, reason) triples of a parsed file as one Arrow table."""
    lines, raws, reasons = zip(*rejected, strict=True) if rejected else ((), (), ())
    return pa.Table.from_arrays(
        [pa.array(lines, pa.int64()), pa.array(raws, pa.string()), pa.array(reasons, pa.string())],
        schema=REJECT_SCHEMA,
    )
