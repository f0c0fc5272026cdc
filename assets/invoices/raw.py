"""`invoices.raw_invoices`: every synced invoice row, the latest sync of each invoice winning.

A run loads the files of its sync date(s), each in one transaction together with its deltas
to `venue_daily_totals`, so the aggregate is right at every commit. That is why the run also
records the creation-date partitions of `venue_daily_totals` each file touched, with each
date's own figures: those partitions were updated in the same transactions, and no second
run is needed before the answer is right (the totals asset recomputes dates from the raw
table when a person backfills them).
"""

from collections.abc import Iterator
from datetime import date, timedelta
from typing import Any

import dagster as dg

from assets.invoices.files import DOMAIN, InvoiceFile, files_for_sync_dates
from assets.invoices.load import load_files
from assets.invoices.partitions import RAW_KEY, TOTALS_KEY, sync_date_partitions
from assets.invoices.publish import Publisher, ledger_dates
from assets.invoices.store import FileOutcome, InvoiceStore, open_store
from assets.shared import (
    POOL,
    RETRY,
    LaunchConfig,
    coverage_table,
    date_ranges,
    describe_ranges,
    md,
    md_table,
    next_day,
    no_reask,
)
from assets.shared.catalog import catalog_target, snapshot_figures
from assets.shared.partitions import partition_results, record_partitions
from resources import InvoicesDb, PlatformPaths

TOUCHED_DATES = "created_dates_touched"
Outcomes = list[tuple[InvoiceFile, FileOutcome]]


class RawInvoicesConfig(LaunchConfig):
    files: list[str] = []
    """File names in `landing/invoices/` to load; empty loads every file of the partitions."""


def partition_dates(context: dg.AssetExecutionContext) -> tuple[date, date]:
    """First and last day of the partition (range) being materialized."""
    window = context.partition_time_window
    return window.start.date(), (window.end - timedelta(days=1)).date()


@dg.asset(
    key=RAW_KEY,
    partitions_def=sync_date_partitions,
    backfill_policy=dg.BackfillPolicy.single_run(),
    retry_policy=RETRY,  # a database restart must not leave a file unloaded
    group_name=DOMAIN,
    kinds={"duckdb", "postgres"},
    pool=POOL,
    check_specs=[
        dg.AssetCheckSpec("totals_match_raw_for_touched_dates", asset=RAW_KEY),
        dg.AssetCheckSpec("no_rejected_rows", asset=RAW_KEY),
    ],
)
def raw_invoices(
    context: dg.AssetExecutionContext,
    config: RawInvoicesConfig,
    paths: PlatformPaths,
    invoices_db: InvoicesDb,
) -> Iterator[dg.MaterializeResult]:
    """Invoice rows from the CSV files of one sync date (the partition), upserted by
    `invoice_id` so that a re-synced invoice is a correction, not a second invoice. Each
    file is applied in one transaction together with its deltas to `venue_daily_totals`,
    so the aggregate always equals a GROUP BY over this table."""
    first, last = partition_dates(context)
    landing = paths.landing_folder(DOMAIN)
    days = {first + timedelta(days=i) for i in range((last - first).days + 1)}
    files = files_for_sync_dates(landing, days, config.files)
    missing = set(config.files) - {f.name for f in files}
    if missing:
        no_reask(context, f"files not in landing/{DOMAIN}/: {sorted(missing)}")
        raise dg.Failure(
            f"invoice files not found in {landing.path} for {first}..{last}: {sorted(missing)}",
            allow_retries=False,
        )
    with open_store(invoices_db) as store:
        target = catalog_target(context, paths)
        publisher = Publisher(store, paths.lake_root(), target)
        outcomes, bad = load_files(context, store, landing, files, publisher)
        touched = sorted({d for _, o in outcomes for d in o.dates_touched})
        mismatched = [m for a, b in date_ranges(touched) for m in store.mismatches(a, b)]
        figures = sync_date_figures(store, outcomes, context.partition_keys)
        coverage = md(coverage_table(dict(store.execute(
            "SELECT sync_date, SUM(rows_loaded) FROM invoices.file_ledger GROUP BY sync_date"
        ).fetchall()), next_day))
        totals = totals_figures(store, touched)
        publisher.committed(ledger_dates(store, [f.content_hash for f, o in outcomes
                                                 if o.already_loaded]))
        published = publisher.flush()
        context.log.info(f"venue totals published for {', '.join(published) or 'no month'}")
        totals_coverage = md(totals_coverage_table(store))
        record_partitions(context, {k: {**v, "coverage": totals_coverage}
                                    for k, v in totals.items()},
                          asset_key=TOTALS_KEY,
                          description="updated incrementally with the files of this run")
    if bad:
        no_reask(context, "bad file(s) moved to _rejected/: " + "; ".join(bad))
        committed = {f.sync_date.isoformat() for f, o in outcomes if not o.already_loaded}
        record_partitions(context, {k: v for k, v in figures.items() if k in committed},
                          description="partial: the files committed before a bad file")
        raise dg.Failure(
            description="bad invoice file(s) moved to _rejected/: " + "; ".join(bad),
            metadata={"files_rejected": len(bad)},
            allow_retries=False,  # the file is bad, not the moment: retrying cannot help
        )
    rejected = sum(o.rows_rejected for _, o in outcomes)
    yield from partition_results(context, figures, [
        dg.AssetCheckResult(
            check_name="totals_match_raw_for_touched_dates",
            passed=not mismatched,
            metadata={"dates_checked": len(touched), "mismatches": str(mismatched[:5])},
        ),
        dg.AssetCheckResult(
            check_name="no_rejected_rows",
            passed=rejected == 0,
            severity=dg.AssetCheckSeverity.WARN,
            metadata={"rows_rejected": rejected, "table": "invoices.rejected_invoice_rows"},
        ),
    ], run_figures={"coverage": coverage, **snapshot_figures(target)})


def sync_date_figures(
    store: InvoiceStore, outcomes: Outcomes, keys: list[str]
) -> dict[str, dict[str, Any]]:
    """Each sync date of the run with its own figures: the rows its files hold in the table
    (all loads, from the ledger) and what this run's files did."""
    in_ledger = dict(store.execute(
        "SELECT sync_date, COALESCE(SUM(rows_loaded), 0) FROM invoices.file_ledger"
        " WHERE sync_date BETWEEN %s AND %s GROUP BY sync_date",
        (keys[0], keys[-1]),
    ).fetchall())
    figures = {}
    for key in keys:
        mine = [(f, o) for f, o in outcomes if f.sync_date.isoformat() == key]
        touched = sorted({d for _, o in mine for d in o.dates_touched})
        figures[key] = {
            "dagster/row_count": int(in_ledger.get(date.fromisoformat(key), 0)),
            "files": md(files_table(mine)) if mine else "none in this run",
            "rows_loaded": sum(o.rows_loaded for _, o in mine),
            "rows_rejected": sum(o.rows_rejected for _, o in mine),
            TOUCHED_DATES: dg.MetadataValue.json([d.isoformat() for d in touched]),
            "content_hashes": dg.MetadataValue.json(sorted(f.content_hash for f, _ in mine)),
        }
    return figures


def totals_figures(store: InvoiceStore, dates: list[date]) -> dict[str, dict[str, Any]]:
    """Each touched creation date of `venue_daily_totals` with its own figures (a date whose
    last invoice moved away now holds 0 rows)."""
    figures = {d.isoformat(): {"dagster/row_count": 0, "total_amount": 0.0, "invoices": 0}
               for d in dates}
    for a, b in date_ranges(dates):
        for day, rows, amount, invoices in store.execute(
            "SELECT created_date, COUNT(*), SUM(total_amount), SUM(invoice_count)"
            " FROM invoices.venue_daily_totals WHERE created_date BETWEEN %s AND %s"
            " GROUP BY created_date",
            (a, b),
        ).fetchall():
            figures[day.isoformat()] = {"dagster/row_count": int(rows),
                                        "total_amount": float(amount), "invoices": int(invoices)}
    return figures


def totals_coverage_table(store: InvoiceStore) -> str:
    """Which creation dates of `venue_daily_totals` hold invoices (from the aggregate)."""
    return coverage_table(dict(store.execute(
        "SELECT created_date, SUM(invoice_count) FROM invoices.venue_daily_totals"
        " GROUP BY created_date"
    ).fetchall()), next_day)


def files_table(outcomes: Outcomes) -> str:
    return md_table(
        ["file", "loaded", "rejected", "unchanged", "creation dates touched"],
        [
            (f.name, o.rows_loaded, o.rows_rejected, o.rows_unchanged,
             "already loaded" if o.already_loaded else describe_ranges(o.dates_touched))
            for f, o in outcomes
        ],
    )
