"""`invoices.raw_invoices`: every synced invoice row, the latest sync of each invoice winning."""

from datetime import date, timedelta

import dagster as dg

from assets.invoices.files import DOMAIN, BadInvoiceFile, InvoiceFile, files_for_sync_dates
from assets.invoices.parse import parse_invoice_file
from assets.invoices.partitions import sync_date_partitions
from assets.invoices.store import FileOutcome, open_store
from assets.shared import POOL, RETRY, asset_key, date_ranges, describe_ranges, md_table
from resources import InvoicesDb, PlatformPaths

RAW_KEY = asset_key(DOMAIN, "raw_invoices")
TOUCHED_DATES = "created_dates_touched"


class RawInvoicesConfig(dg.Config):
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
) -> dg.MaterializeResult:
    """Invoice rows from the CSV files of one sync date (the partition), upserted by
    `invoice_id` so that a re-synced invoice is a correction, not a second invoice. Each
    file is applied in one transaction together with its deltas to `venue_daily_totals`,
    so the aggregate always equals a GROUP BY over this table."""
    first, last = partition_dates(context)
    days = {first + timedelta(days=i) for i in range((last - first).days + 1)}
    landing = paths.landing_folder(DOMAIN)
    files = files_for_sync_dates(landing, days, config.files)
    missing = set(config.files) - {f.name for f in files}
    if missing:
        raise dg.Failure(
            f"invoice files not found in {landing.path} for {first}..{last}: {sorted(missing)}",
            allow_retries=False,
        )
    outcomes: list[tuple[InvoiceFile, FileOutcome]] = []
    bad: list[str] = []
    with open_store(invoices_db) as store:
        for item in files:
            if store.is_loaded(item.content_hash):
                context.log.info(f"{item.name}: same content already loaded, nothing to do")
                outcomes.append((item, FileOutcome(0, 0, 0, [], already_loaded=True)))
                continue
            try:
                parsed = parse_invoice_file(item.path, item.sync_date)
            except BadInvoiceFile as exc:
                moved = landing.reject(item.path, str(exc))
                context.log.error(f"{exc}; moved to {moved}")
                bad.append(str(exc))
                continue
            outcome = store.apply_file(parsed, item.name, item.content_hash, item.sync_date)
            context.log.info(
                f"{item.name}: {outcome.rows_loaded} rows loaded, {outcome.rows_rejected}"
                f" rejected, dates touched: {describe_ranges(outcome.dates_touched)}"
            )
            outcomes.append((item, outcome))
        touched = sorted({d for _, o in outcomes for d in o.dates_touched})
        mismatched = [m for a, b in date_ranges(touched) for m in store.mismatches(a, b)]
        loaded_rows = store.scalar(
            "SELECT COALESCE(SUM(rows_loaded), 0) FROM invoices.file_ledger"
            " WHERE sync_date BETWEEN %s AND %s",
            (first, last),
        )
    if bad:
        record_committed_files(context, outcomes)
        raise dg.Failure(
            description="bad invoice file(s) moved to _rejected/: " + "; ".join(bad),
            metadata={"files_rejected": len(bad)},
            allow_retries=False,  # the file is bad, not the moment: retrying cannot help
        )
    rejected = sum(o.rows_rejected for _, o in outcomes)
    preview = files_table(outcomes)
    return dg.MaterializeResult(
        metadata={
            "dagster/row_count": int(loaded_rows),
            "files": dg.MetadataValue.md(preview),
            "rows_loaded": sum(o.rows_loaded for _, o in outcomes),
            "rows_rejected": rejected,
            TOUCHED_DATES: dg.MetadataValue.json([d.isoformat() for d in touched]),
            "content_hashes": dg.MetadataValue.json(sorted(f.content_hash for f, _ in outcomes)),
        },
        check_results=[
            dg.AssetCheckResult(
                check_name="totals_match_raw_for_touched_dates",
                passed=not mismatched,
                metadata={"dates_checked": len(touched), "mismatches": str(mismatched[:5])},
            ),
            dg.AssetCheckResult(
                check_name="no_rejected_rows",
                passed=rejected == 0,
                severity=dg.AssetCheckSeverity.WARN,
                metadata={"rows_rejected": rejected,
                          "table": "invoices.rejected_invoice_rows"},
            ),
        ],
    )


def files_table(outcomes: list[tuple[InvoiceFile, FileOutcome]]) -> str:
    return md_table(
        ["file", "loaded", "rejected", "unchanged", "creation dates touched"],
        [
            (f.name, o.rows_loaded, o.rows_rejected, o.rows_unchanged,
             "already loaded" if o.already_loaded else describe_ranges(o.dates_touched))
            for f, o in outcomes
        ],
    )


def record_committed_files(
    context: dg.AssetExecutionContext, outcomes: list[tuple[InvoiceFile, FileOutcome]]
) -> None:
    """The run is about to fail on a bad file, but the files before it are committed (one
    transaction each): record them as a materialization of their sync date, with the
    creation dates they touched, so that the sensor still brings those totals partitions
    up to date and the UI shows what is in the table."""
    committed = [(f, o) for f, o in outcomes if not o.already_loaded]
    for sync in sorted({f.sync_date for f, _ in committed}):
        mine = [(f, o) for f, o in committed if f.sync_date == sync]
        touched = sorted({d for _, o in mine for d in o.dates_touched})
        context.log_event(
            dg.AssetMaterialization(
                asset_key=RAW_KEY,
                partition=sync.isoformat(),
                description="partial: the files committed before a bad file failed the run",
                metadata={
                    "files": dg.MetadataValue.md(files_table(mine)),
                    "rows_loaded": sum(o.rows_loaded for _, o in mine),
                    TOUCHED_DATES: dg.MetadataValue.json([d.isoformat() for d in touched]),
                    "content_hashes": dg.MetadataValue.json(
                        sorted(f.content_hash for f, _ in mine)
                    ),
                },
            )
        )
