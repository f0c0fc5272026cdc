"""`make demo` for invoices: let the sensor load every landed file, then show the totals."""

import dagster as dg

from assets.invoices.store import open_store
from assets.shared import md_table
from cli.runner import drain_sensor
from resources.bindings import resource_of

TITLE = "1. Invoices: venue totals per creation date"

def run(defs: dg.Definitions, instance: dg.DagsterInstance) -> str:
    runs, _ = drain_sensor(defs, "invoice_files_sensor", instance)
    with open_store(resource_of((defs.resources or {})["invoices_db"])) as store:
        files, loaded, rejected = store.execute(
            "SELECT COUNT(*), SUM(rows_loaded), SUM(rows_rejected) FROM invoices.file_ledger"
        ).fetchone()
        top = store.execute(
            "SELECT venue_id, SUM(total_amount) AS total, SUM(invoice_count)"
            " FROM invoices.venue_daily_totals GROUP BY venue_id ORDER BY total DESC LIMIT 5"
        ).fetchall()
        dates = store.scalar("SELECT COUNT(DISTINCT created_date) FROM invoices.venue_daily_totals")
    return "\n".join([
        f"{runs} sensor runs; {files} files in the ledger, {loaded} rows loaded, "
        f"{rejected} rejected (see invoices.rejected_invoice_rows); {dates} creation dates",
        "Top venues by total (EUR):",
        md_table(["venue_id", "total", "invoices"], top),
    ])
