"""Where the Spark engine's Parquet lives, and how it becomes the warehouse's tables.

The cluster writes each result under `lake/late_payments/<table>/` (rejected rows per file
under `rejected_rows/<extract>/`); the step then loads it into the DuckDB table of the same
name with the embedded engine's column types, in one transaction (staging table and that
file's rejected rows together), so checks, previews and readers stay as they are.
"""

from __future__ import annotations

from pathlib import Path

import duckdb

from assets.late_payments.extracts import SCHEMA, Extract
from assets.late_payments.load import LoadStats
from resources.sql import transaction


def parquet(folder: Path) -> str:
    """The part files of a Parquet dataset written by Spark (not its `_SUCCESS`/.crc)."""
    return str(folder / "*.parquet")


def staging_paths(lake: Path, extract: Extract) -> tuple[Path, Path]:
    """(staging table folder, this extract's rejected rows folder) under the lake."""
    return lake / f"stg_{extract.name}", lake / "rejected_rows" / extract.name


def load_staging(
    conn: duckdb.DuckDBPyConnection, extract: Extract, file_name: str, lake: Path
) -> LoadStats:
    """Replace `extract.table` and the file's rejected rows from the lake, atomically."""
    stg, rejects = staging_paths(lake, extract)
    typed = ", ".join(f"CAST({c.name} AS {c.sql_type}) AS {c.name}" for c in extract.columns)
    extra = "".join(f", {name}" for name in extract.extra)
    with transaction(conn):
        conn.execute(
            f"CREATE OR REPLACE TABLE {extract.table} AS SELECT {typed}{extra} "
            "FROM read_parquet(?)",
            [parquet(stg)],
        )
        conn.execute(f"DELETE FROM {SCHEMA}.rejected_rows WHERE file = ?", [file_name])
        conn.execute(
            f"INSERT INTO {SCHEMA}.rejected_rows SELECT ?, CAST(line AS BIGINT), reason, record "
            "FROM read_parquet(?)",
            [file_name, parquet(rejects)],
        )
    loaded = conn.execute(f"SELECT count(*) FROM {extract.table}").fetchone()[0]
    rejected = conn.execute(
        f"SELECT count(*) FROM {SCHEMA}.rejected_rows WHERE file = ?", [file_name]
    ).fetchone()[0]
    return LoadStats(file_name, loaded, rejected)


def load_table(
    conn: duckdb.DuckDBPyConnection, table: str, columns: dict[str, str], folder: Path
) -> None:
    """Replace `table` by the Parquet at `folder`, each column cast to its DuckDB type."""
    typed = ", ".join(f"CAST({name} AS {sql_type}) AS {name}" for name, sql_type in columns.items())
    with transaction(conn):
        conn.execute(
            f"CREATE OR REPLACE TABLE {table} AS SELECT {typed} FROM read_parquet(?)",
            [parquet(folder)],
        )
