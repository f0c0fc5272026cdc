"""`invoices.venue_daily_totals`: invoice totals per venue per creation date.

Kept current incrementally by every file load (`raw.py` records the dates it touched); this
asset is the explicit path: materializing a date range (a backfill) recomputes those dates
from the raw table and reports how many rows that had to correct.
"""

from collections.abc import Iterator
from datetime import timedelta

import dagster as dg

from assets.invoices.files import DOMAIN
from assets.invoices.partitions import TOTALS_KEY, creation_date_partitions
from assets.invoices.publish import publish_months
from assets.invoices.raw import partition_dates, raw_invoices, totals_coverage_table
from assets.invoices.store import open_store
from assets.shared import POOL, RETRY, md, md_table
from assets.shared.catalog import catalog_target
from assets.shared.partitions import partition_results
from resources import InvoicesDb, PlatformPaths


@dg.asset(
    key=TOTALS_KEY,
    partitions_def=creation_date_partitions,
    backfill_policy=dg.BackfillPolicy.single_run(),
    retry_policy=RETRY,
    # per date, not all-to-all: a backfill of N dates of both assets is N dates of each
    # (a file of sync date S touches creation dates up to S; raw.py records those itself)
    deps=[dg.AssetDep(raw_invoices, partition_mapping=dg.TimeWindowPartitionMapping())],
    group_name=DOMAIN,
    kinds={"duckdb", "postgres"},
    pool=POOL,
    check_specs=[
        dg.AssetCheckSpec("totals_equal_group_by_over_raw", asset=TOTALS_KEY),
        dg.AssetCheckSpec("no_duplicate_invoice_ids", asset=TOTALS_KEY),
    ],
)
def venue_daily_totals(
    context: dg.AssetExecutionContext, invoices_db: InvoicesDb, paths: PlatformPaths
) -> Iterator[dg.MaterializeResult]:
    """What each venue invoiced per creation date (refunds net off), kept current
    incrementally as files load; materializing a date range (a backfill) recomputes those
    dates from the raw table and reports how many rows that had to correct. Each date is
    recorded with its own figures."""
    first, last = partition_dates(context)
    with open_store(invoices_db) as store:
        corrected = store.recompute_dates(first, last)
        publish_months(store, paths.lake_root(), {first + timedelta(days=i)
                                           for i in range((last - first).days + 1)},
                       catalog_target(context, paths))
        mismatched = store.mismatches(first, last)
        duplicates = store.scalar(
            "SELECT COUNT(*) - COUNT(DISTINCT invoice_id) FROM invoices.raw_invoices"
            " WHERE created_date BETWEEN %s AND %s",
            (first, last),
        )
        per_date = {
            day.isoformat(): (rows, amount, invoices)
            for day, rows, amount, invoices in store.execute(
                "SELECT created_date, COUNT(*), SUM(total_amount), SUM(invoice_count)"
                " FROM invoices.venue_daily_totals WHERE created_date BETWEEN %s AND %s"
                " GROUP BY created_date",
                (first, last),
            ).fetchall()
        }
        coverage = totals_coverage_table(store)
        top = store.execute(
            "SELECT venue_id, created_date, total_amount, invoice_count"
            " FROM invoices.venue_daily_totals WHERE created_date BETWEEN %s AND %s"
            " ORDER BY total_amount DESC, venue_id LIMIT 10",
            (first, last),
        ).fetchall()
    if corrected:
        context.log.warning(f"{corrected} aggregate rows differed from the raw table; fixed")
    figures = {}
    for key in context.partition_keys:
        rows, amount, invoices = per_date.get(key, (0, 0, 0))
        figures[key] = {"dagster/row_count": int(rows), "total_amount": float(amount),
                        "invoices": int(invoices)}
    if len(figures) == 1:
        figures[first.isoformat()]["preview"] = md(
            md_table(["venue_id", "created_date", "total_amount", "invoice_count"], top)
        )
    yield from partition_results(context, figures, [
        dg.AssetCheckResult(
            check_name="totals_equal_group_by_over_raw",
            passed=not mismatched,
            metadata={"mismatches": len(mismatched), "examples": str(mismatched[:5])},
        ),
        dg.AssetCheckResult(
            check_name="no_duplicate_invoice_ids",
            passed=duplicates == 0,
            metadata={"duplicates": int(duplicates)},
        ),
    ], run_figures={"rows_corrected": corrected, "dates": f"{first}..{last}",
                    "coverage": md(coverage)})
