"""`industries.customers`: the current deduplicated snapshot from CSV batches."""

from pathlib import Path

import dagster as dg
import duckdb
import polars as pl

from assets.industries.common import CUSTOMERS, GROUP, INDUSTRIES, SCHEMA, canonical_industry
from assets.industries.schema import SCHEMA as TABLES
from assets.shared import POOL, no_reask
from assets.shared import md_table as _md
from assets.shared.catalog import publish_tables
from resources import PlatformPaths, Warehouse
from resources.csv_rows import CsvRow, csv_rows, open_csv
from resources.lib.landing import LandingFolder
from resources.lines import escaped
from resources.sql import transaction

CUSTOMER_FOLDER = "customers"
INDUSTRY_HEADERS = ("specialized_industries", "specialised_industries")
UNKNOWN_CHECK = "known_industry_names"


def is_batch(rel: str) -> bool:
    """Customer batches are the CSV files at the top of `landing/customers/`."""
    return "/" not in rel and rel.endswith(".csv")


def customer_files(folder: LandingFolder) -> list[str]:
    """Batch files (rel) in arrival order: file names sort by their timestamp (see docs)."""
    return [rel for rel, _ in folder.present() if is_batch(rel)]


def read_batch(path: Path, batch_no: int) -> pl.DataFrame:
    """One batch as strings with the physical line of each record, and `problem` for a
    record that cannot be used (not UTF-8, over `LANDING_MAX_LINE_BYTES`, not CSV, the wrong
    number of fields): a rejected row. ValueError for an unusable file (its header)."""
    with open_csv(path) as handle:
        rows = csv_rows(handle)
        header = next(rows, None)
        if header is None or header.problem is not None:
            raise ValueError(f"unreadable CSV header: {header.problem if header else 'empty'}")
        names = [c.strip().lower() for c in header.fields]
        columns = _batch_columns(names)
        found = [_record(row, names, columns) for row in rows
                 if row.problem is not None or any(v.strip() for v in row.fields)]
    frame = pl.DataFrame(found, schema=BATCH_SCHEMA, orient="row")
    return frame.with_columns(source_file=pl.lit(path.name), batch_no=pl.lit(batch_no))


BATCH_SCHEMA = {"customer_id": pl.String, "company_name": pl.String,
                "specialized_industries": pl.String, "line_number": pl.Int64,
                "problem": pl.String, "raw": pl.String}


def _batch_columns(names: list[str]) -> list[int]:
    """Where customer_id, company_name and the industries column are in the header."""
    industry_col = next((c for c in INDUSTRY_HEADERS if c in names), None)
    missing = [c for c in ("customer_id", "company_name") if c not in names]
    if industry_col is None:
        missing.append("specialized_industries (or specialised_industries)")
    if missing:
        raise ValueError(f"missing columns: {', '.join(missing)}")
    return [names.index(c) for c in ("customer_id", "company_name", industry_col)]


def _record(row: CsvRow, names: list[str], columns: list[int]) -> tuple:
    """(customer_id, company_name, industries, line, problem, raw) of one record."""
    problem = row.problem
    if problem is None and len(row.fields) != len(names):
        problem = f"expected {len(names)} fields, found {len(row.fields)}"
    if problem is not None:
        return None, None, None, row.line, problem, row.text or escaped(",".join(row.fields))
    cid, name, industries = (row.fields[i] for i in columns)
    return cid.strip(), name.strip(), industries, row.line, None, None


def build_snapshot(frames: list[pl.DataFrame]) -> tuple[pl.DataFrame, list[tuple]]:
    """Later batch wins, within a batch the last row wins; returns (snapshot, rejected rows)."""
    rejected: list[tuple] = []
    if not frames:
        return pl.DataFrame(), rejected
    allrows = pl.concat(frames)
    for r in allrows.filter(pl.col("problem").is_not_null()).iter_rows(named=True):
        rejected.append((r["source_file"], r["line_number"], None, r["raw"], r["problem"]))
    allrows = allrows.filter(pl.col("problem").is_null())
    no_id = allrows.filter(pl.col("customer_id").is_null() | (pl.col("customer_id") == ""))
    for r in no_id.iter_rows(named=True):
        rejected.append((r["source_file"], r["line_number"], None, None, "missing customer_id"))
    snap = (
        allrows.filter(pl.col("customer_id").is_not_null() & (pl.col("customer_id") != ""))
        .sort(["batch_no", "line_number"])
        .unique(subset="customer_id", keep="last", maintain_order=True)
    )
    industries_col = []
    for r in snap.iter_rows(named=True):
        names: list[str] = []
        for raw in (r["specialized_industries"] or "").split(";"):
            if not raw.strip():
                continue
            name = canonical_industry(raw)
            if name is None:
                rejected.append(
                    (r["source_file"], r["line_number"], r["customer_id"], raw.strip(),
                     "unknown industry")
                )
            elif name not in names:
                names.append(name)
        industries_col.append(names)
    snap = snap.with_columns(pl.Series("industries", industries_col, dtype=pl.List(pl.String)))
    return snap, rejected


@dg.asset(
    key=CUSTOMERS,
    group_name=GROUP,
    kinds={"duckdb", "polars"},
    pool=POOL,
    check_specs=[dg.AssetCheckSpec(UNKNOWN_CHECK, asset=CUSTOMERS)],
)
def customers(
    context: dg.AssetExecutionContext, paths: PlatformPaths, warehouse: Warehouse
) -> dg.MaterializeResult:
    """Current customer snapshot from every CSV batch in `landing/customers/`.

    Each batch is a full snapshot: a later batch wins, within a batch the last row for an
    id wins. Industry names are matched to the fixed set ignoring case and spaces; unknown
    names are left out, kept in `rejected_customers` and reported by an asset check.
    A file without the required columns is moved to `_rejected/` and fails the run.
    """
    folder = paths.landing_folder(CUSTOMER_FOLDER)
    frames, bad = [], []
    for i, rel in enumerate(customer_files(folder)):
        try:
            with folder.local_copy(rel) as path:  # a temporary download on a bucket
                frames.append(read_batch(path, i))
        except ValueError as exc:
            folder.reject(folder.path / rel, str(exc))
            bad.append(f"{rel}: {exc}")
    if bad:
        no_reask(context, "customer batch moved to _rejected/: " + "; ".join(bad))
        raise dg.Failure(
            description=f"customer batch rejected (moved to _rejected/): {'; '.join(bad)}"
        )
    snap, rejected = build_snapshot(frames)
    with warehouse.get_connection(TABLES) as conn:
        n = _store(conn, snap, rejected)
        published = publish_tables(context, paths, conn, *(
            f"{SCHEMA}.{t}" for t in ("customers", "customer_industries", "rejected_customers")))
        top = conn.execute(
            f"SELECT industry, count(*) FROM {SCHEMA}.customer_industries "
            "GROUP BY ALL ORDER BY 2 DESC, 1"
        ).fetchall()
    unknown = [r for r in rejected if r[4] == "unknown industry"]
    values = sorted({r[3] for r in unknown})
    return dg.MaterializeResult(
        metadata={
            "dagster/row_count": n,
            "batches": len(frames),
            "rows_rejected": len(rejected),
            "preview": dg.MetadataValue.md(_md(["industry", "customers"], top)),
            **published,
        },
        check_results=[
            dg.AssetCheckResult(
                check_name=UNKNOWN_CHECK,
                passed=not unknown,
                severity=dg.AssetCheckSeverity.WARN,
                metadata={
                    "unknown_names": len(unknown),
                    "distinct_values": ", ".join(values[:20]) or "none",
                    "known_set": ", ".join(INDUSTRIES),
                },
            )
        ],
    )


def _store(conn: duckdb.DuckDBPyConnection, snap: pl.DataFrame, rejected: list[tuple]) -> int:
    """Replace the snapshot, its industry pairs and the rejected rows in one transaction."""
    with transaction(conn):
        for table in ("customers", "customer_industries", "rejected_customers"):
            conn.execute(f"DELETE FROM {SCHEMA}.{table}")
        if snap.height:
            frame = snap.select(
                "customer_id", "company_name", "specialized_industries", "industries",
                "source_file", "line_number",
            )
            conn.from_arrow(frame.to_arrow()).insert_into(f"{SCHEMA}.customers")
            conn.execute(
                f"INSERT INTO {SCHEMA}.customer_industries SELECT DISTINCT customer_id, "
                f"unnest(industries) FROM {SCHEMA}.customers"
            )
        if rejected:
            conn.executemany(
                f"INSERT INTO {SCHEMA}.rejected_customers VALUES (?, ?, ?, ?, ?)", rejected
            )
        return conn.execute(f"SELECT count(*) FROM {SCHEMA}.customers").fetchone()[0]
