"""Where the Spark engine's Parquet lives, and how it becomes the warehouse's tables.

The cluster writes each result under `<lake>/late_payments/<table>/` (rejected rows per
file under `rejected_rows/<extract>/`), on this disk or LAKE_URL's bucket; the step then
loads it into the DuckDB table of the same name with the embedded engine's column types, in
one transaction (staging table and that file's rejected rows together), so checks, previews
and readers stay as they are. DuckDB scans the files as a pyarrow dataset of the lake's
`Location` (Spark's `_SUCCESS` and `.crc` files are not part of it).
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import duckdb

from assets.late_payments.extracts import SCHEMA, Extract
from assets.late_payments.load import LoadStats
from resources.lib.storage import Location
from resources.sql import transaction


def staging_rels(extract: Extract) -> tuple[str, str]:
    """(staging table folder, this extract's rejected rows folder), relative to the lake."""
    return f"stg_{extract.name}", f"rejected_rows/{extract.name}"


@contextmanager
def scanned(conn: duckdb.DuckDBPyConnection, name: str, folder: Location) -> Iterator[str]:
    """The Parquet dataset at `folder` as the view `name` of `conn` for the block."""
    conn.register(name, folder.dataset())
    try:
        yield name
    finally:
        conn.unregister(name)


def load_staging(
    conn: duckdb.DuckDBPyConnection, extract: Extract, file_name: str, lake: Location
) -> LoadStats:
    """Replace `extract.table` and the file's rejected rows from the lake, atomically."""
    stg, rejects = (lake.child(rel) for rel in staging_rels(extract))
    typed = ", ".join(f"CAST({c.name} AS {c.sql_type}) AS {c.name}" for c in extract.columns)
    extra = "".join(f", {name}" for name in extract.extra)
    with scanned(conn, "lp_spark_stg", stg) as rows, \
            scanned(conn, "lp_spark_rejects", rejects) as bad, transaction(conn):
        conn.execute(f"CREATE OR REPLACE TABLE {extract.table} AS SELECT {typed}{extra} "
                     f"FROM {rows}")
        conn.execute(f"DELETE FROM {SCHEMA}.rejected_rows WHERE file = ?", [file_name])
        conn.execute(
            f"INSERT INTO {SCHEMA}.rejected_rows SELECT ?, CAST(line AS BIGINT), reason, record "
            f"FROM {bad}",
            [file_name],
        )
    loaded = conn.execute(f"SELECT count(*) FROM {extract.table}").fetchone()[0]
    rejected = conn.execute(
        f"SELECT count(*) FROM {SCHEMA}.rejected_rows WHERE file = ?", [file_name]
    ).fetchone()[0]
    return LoadStats(file_name, loaded, rejected)


def load_table(
    conn: duckdb.DuckDBPyConnection, table: str, columns: dict[str, str], folder: Location
) -> None:
    """Replace `table` by the Parquet at `folder`, each column cast to its DuckDB type."""
    typed = ", ".join(f"CAST({name} AS {sql_type}) AS {name}" for name, sql_type in columns.items())
    with scanned(conn, "lp_spark_result", folder) as rows, transaction(conn):
        conn.execute(f"CREATE OR REPLACE TABLE {table} AS SELECT {typed} FROM {rows}")
