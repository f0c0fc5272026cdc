"""`invoices.venue_daily_totals`: invoice totals per venue per creation date."""


import dagster as dg

from assets.invoices.files import DOMAIN
from assets.invoices.partitions import creation_date_partitions
from assets.invoices.raw import partition_dates, raw_invoices
from assets.invoices.store import open_store
from assets.shared import POOL, RETRY, asset_key, md_table
from resources import InvoicesDb

TOTALS_KEY = asset_key(DOMAIN, "venue_daily_totals")


@dg.asset(
    key=TOTALS_KEY,
    partitions_def=creation_date_partitions,
    backfill_policy=dg.BackfillPolicy.single_run(),
    retry_policy=RETRY,
    deps=[dg.AssetDep(raw_invoices, partition_mapping=dg.AllPartitionMapping())],
    group_name=DOMAIN,
    kinds={"duckdb", "postgres"},
    pool=POOL,
    check_specs=[
        dg.AssetCheckSpec("totals_equal_group_by_over_raw", asset=TOTALS_KEY),
        dg.AssetCheckSpec("no_duplicate_invoice_ids", asset=TOTALS_KEY),
    ],
)
def venue_daily_totals(
    context: dg.AssetExecutionContext, invoices_db: InvoicesDb
) -> dg.MaterializeResult:
    """What each venue invoiced per creation date (refunds net off), kept current
    incrementally as files load; materializing a date range (a backfill) recomputes those
    dates from the raw table and reports how many rows that had to correct."""
    first, last = partition_dates(context)
    with open_store(invoices_db) as store:
        corrected = store.recompute_dates(first, last)
        mismatched = store.mismatches(first, last)
        duplicates = store.scalar(
            "SELECT COUNT(*) - COUNT(DISTINCT invoice_id) FROM invoices.raw_invoices"
            " WHERE created_date BETWEEN %s AND %s",
            (first, last),
        )
        rows, amount = store.execute(
            "SELECT COUNT(*), COALESCE(SUM(total_amount), 0) FROM invoices.venue_daily_totals"
            " WHERE created_date BETWEEN %s AND %s",
            (first, last),
        ).fetchone()
        top = store.execute(
            "SELECT venue_id, created_date, total_amount, invoice_count"
            " FROM invoices.venue_daily_totals WHERE created_date BETWEEN %s AND %s"
            " ORDER BY total_amount DESC, venue_id LIMIT 10",
            (first, last),
        ).fetchall()
    if corrected:
        context.log.warning(f"{corrected} aggregate rows differed from the raw table; fixed")
    return dg.MaterializeResult(
        metadata={
            "dagster/row_count": int(rows),
            "total_amount": float(amount),
            "rows_corrected": corrected,
            "dates": f"{first}..{last}",
            "preview": dg.MetadataValue.md(
                md_table(["venue_id", "created_date", "total_amount", "invoice_count"], top)
            ),
        },
        check_results=[
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
        ],
    )
