"""The peer users would pick: a dbt-duckdb incremental model of venue daily totals.

The usual pattern (`materialized='incremental'`, `unique_key=['venue_id', 'created_date']`):
find the creation dates of the raw rows loaded since the model's watermark, and recompute
those dates with a GROUP BY over the raw table. It runs on the same raw table and the same
100k-row file as `bench.invoices`, in its own virtual environment (dbt-core 1.11 with
dbt-duckdb, as the issue pins; the dbt side is `bench.dbt_project`). Per round, from one
snapshot of the DuckDB file, the platform applies the file (`InvoiceStore.apply_file`: raw
upsert + aggregate deltas, commit included, timed), then `dbt run` recomputes its model from
that same raw table (timed: the subprocess wall time, and the model's SQL alone from
`run_results.json`). dbt's time excludes the raw load, which the platform did for it.

Then correctness: 1,000 corrections move existing invoices to another creation date (same
invoice id, new `created_at`, a later sync). The old date of a moved invoice is no longer in
the raw rows the watermark finds, so dbt never recomputes it and its total keeps the moved
invoice; the platform subtracts it there. Both aggregates are compared with a full GROUP BY.

    .venv/bin/python -m bench.dbt_venue_totals [--quick]
"""

from __future__ import annotations

import shutil
import statistics
import tempfile
import time
from dataclasses import dataclass
from datetime import date, timedelta
from pathlib import Path

from assets.invoices.parse import parse_invoice_file
from assets.invoices.store import InvoiceStore, open_store
from bench.dbt_project import DBT_SCHEMA, dbt_venv, run_dbt, write_project
from bench.invoices import SYNC, fill, new_file
from bench.side_by_side import IngestRow, print_rows
from cli.generators.invoices import write_invoice_file
from resources import InvoicesDb

TARGET = 1.3  # platform apply seconds / dbt run seconds

# venue-day pairs where an aggregate differs from a full GROUP BY over the raw table
WRONG_TOTALS = """
SELECT COUNT(*) FROM (
    SELECT venue_id, created_date, SUM(total) AS amount, COUNT(*) AS n
    FROM invoices.raw_invoices GROUP BY 1, 2) f
FULL OUTER JOIN (SELECT venue_id, created_date, total_amount, invoice_count FROM {table}) t
  ON t.venue_id = f.venue_id AND t.created_date = f.created_date
WHERE f.venue_id IS NULL OR t.venue_id IS NULL
   OR f.amount <> t.total_amount OR f.n <> t.invoice_count
"""
# existing invoices moved 1 to 30 days earlier (same id, venue and total)
MOVES = """
SELECT venue_id, CAST(invoice_id AS VARCHAR),
       created_at - to_days(CAST(1 + hash(invoice_id) % 30 AS INTEGER)),
       total
FROM invoices.raw_invoices WHERE created_date >= DATE '2020-02-01'
ORDER BY hash(invoice_id) LIMIT %s
"""


@dataclass(frozen=True)
class DbtFigures:
    """Medians over the rounds, and the wrong totals after the date-moving corrections."""

    raw_rows: int
    file_rows: int
    platform_s: float
    dbt_s: float
    dbt_sql_s: float
    dbt_wrong: int
    platform_wrong: int
    corrections: int


def _db(path: Path) -> InvoicesDb:
    return InvoicesDb(url=None, warehouse_path=str(path))


def wrong_totals(store: InvoiceStore, table: str) -> int:
    """Venue-day pairs of `table` that differ from a full GROUP BY over the raw table
    (a missing or surplus pair counts too)."""
    return int(store.scalar(WRONG_TOTALS.format(table=table)))


def _apply(work: Path, path: Path, sync: date) -> float:
    """The platform's apply of one file (parsed before the clock starts); seconds."""
    parsed = parse_invoice_file(path, sync)
    with open_store(_db(work)) as store:
        started = time.perf_counter()
        store.apply_file(parsed, path.name, f"bench-{path.name}", sync)
        return time.perf_counter() - started


def _prepare(tmp: Path, raw_size: int, file_rows: int, venues: int, dates: int) -> Path:
    """The raw table, its aggregate and the bench's file; returns the file."""
    with open_store(_db(tmp / "work.duckdb")) as store:
        fill(store, raw_size, venues)
        return new_file(store, tmp, file_rows, dates, venues)


def _copy(source: Path, target: Path) -> None:
    """The DuckDB file at `source` as `target` (closed files: no WAL to carry)."""
    Path(f"{target}.wal").unlink(missing_ok=True)
    shutil.copyfile(source, target)


def _corrections(tmp: Path, work: Path, dbt: Path, project: Path, count: int) -> tuple[int, int]:
    """Move `count` existing invoices to another creation date in a new file, apply it on
    both sides; (dbt's wrong totals, the platform's)."""
    with open_store(_db(work)) as store:
        moves = store.execute(MOVES, (count,)).fetchall()
    sync = SYNC + timedelta(days=1)
    path = write_invoice_file(tmp / f"invoices_{sync}.csv", [
        [venue, invoice, created.isoformat(sep=" "), f"{total:.2f}"]
        for venue, invoice, created, total in moves])
    _apply(work, path, sync)
    run_dbt(dbt, project)
    with open_store(_db(work)) as store:
        return (wrong_totals(store, f"{DBT_SCHEMA}.venue_daily_totals"),
                wrong_totals(store, "invoices.venue_daily_totals"))


def run_dbt_row(raw_size: int, rounds: int = 3, file_rows: int = 100_000, dates: int = 60,
                venues: int = 200, corrections: int = 1_000) -> DbtFigures:
    """Raw table of `raw_size` rows, dbt's first full build, then per round (from one
    snapshot) the platform's apply of the file and dbt's run over the same raw table; then
    the date-moving corrections."""
    dbt = dbt_venv()
    with tempfile.TemporaryDirectory(prefix="bench-dbt-") as name:
        tmp = Path(name)
        work, base = tmp / "work.duckdb", tmp / "base.duckdb"
        path = _prepare(tmp, raw_size, file_rows, venues, dates)
        project = write_project(tmp / "project", work)
        run_dbt(dbt, project)  # the first, full build
        _copy(work, base)
        platform, wall, sql = [], [], []
        for _ in range(rounds):
            _copy(base, work)
            platform.append(_apply(work, path, SYNC))
            dbt_wall, dbt_sql = run_dbt(dbt, project)
            wall.append(dbt_wall)
            sql.append(dbt_sql)
        dbt_wrong, platform_wrong = _corrections(tmp, work, dbt, project, corrections)
    return DbtFigures(raw_size, file_rows, statistics.median(platform), statistics.median(wall),
                      statistics.median(sql), dbt_wrong, platform_wrong, corrections)


def dbt_rows(quick: bool = False) -> list[IngestRow]:
    """The ingest-table rows: apply time against dbt's run (target 1.3), and the wrong
    totals after date-moving corrections (ratio: the platform's per dbt's; target 0)."""
    size = 1_000_000 if quick else 10_000_000
    f = run_dbt_row(size)
    label = f"{size // 1_000_000}M raw + {f.file_rows // 1000}k file"
    return [
        IngestRow(f"venue daily totals, dbt-duckdb incremental, {label}",
                  f"{f.platform_s:.2f} s apply (raw upsert + aggregate)",
                  f"{f.dbt_s:.2f} s dbt run ({f.dbt_sql_s:.2f} s its SQL; raw load not counted)",
                  f.platform_s / f.dbt_s, TARGET),
        IngestRow(f"wrong venue-day totals after {f.corrections:,} date-moving corrections,"
                  f" {label}", f"{f.platform_wrong:,}", f"dbt: {f.dbt_wrong:,}",
                  f.platform_wrong / max(f.dbt_wrong, 1), 0),
    ]


def main() -> None:
    print_rows(__doc__, dbt_rows, "1M raw rows instead of 10M")


if __name__ == "__main__":
    main()
