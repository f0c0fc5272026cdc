"""Digest of every warehouse table of the five domain schemas: `python -m cli.contract
[WAREHOUSE] > digest.tsv`. Two warehouses built from the same input (before and after a
refactor, or by two engines) must print the same lines; run times and run ids are left out.
"""

from __future__ import annotations

import hashlib
import os
import sys

import duckdb

from assets import DOMAINS

VOLATILE = {"loaded_at", "updated_at", "rejected_at", "ingested_at", "registered_at",
            "scored_at", "run_id"}


def digest_lines(database: str) -> list[str]:
    """`schema.table<TAB>rows<TAB>sha256 of the sorted rows<TAB>columns`, one per table."""
    conn = duckdb.connect(database, read_only=True)
    try:
        tables = conn.execute(
            "SELECT schema_name, table_name FROM duckdb_tables() WHERE list_contains(?, "
            "schema_name) ORDER BY 1, 2",
            [list(DOMAINS)],
        ).fetchall()
        lines = []
        for schema, table in tables:
            columns = [c for (c,) in conn.execute(
                "SELECT column_name FROM duckdb_columns() WHERE schema_name = ? AND "
                "table_name = ? ORDER BY column_index", [schema, table]).fetchall()
                if c not in VOLATILE]
            select = ", ".join(f'"{c}"' for c in columns)
            rows = conn.execute(f'SELECT {select} FROM "{schema}"."{table}" ORDER BY ALL')
            digest = hashlib.sha256(repr(rows.fetchall()).encode()).hexdigest()[:16]
            count = conn.execute(f'SELECT count(*) FROM "{schema}"."{table}"').fetchone()[0]
            lines.append(f"{schema}.{table}\t{count}\t{digest}\t{','.join(columns)}")
        return lines
    finally:
        conn.close()


def main(argv: list[str]) -> None:
    root = os.environ.get("PLATFORM_DATA_DIR", "data/local")
    print("\n".join(digest_lines(argv[0] if argv else os.path.join(root, "warehouse.duckdb"))))


if __name__ == "__main__":
    main(sys.argv[1:])
