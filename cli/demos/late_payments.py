"""`make demo` for late_payments: drain the extracts sensor, then summarise the feature table."""

from __future__ import annotations

import dagster as dg

from assets.late_payments.extracts import SCHEMA
from cli.runner import drain_sensor
from resources.bindings import resource_of
from sensors.late_payments import SENSOR_NAME

TITLE = "4. Late-payment features"

def run(defs: dg.Definitions, instance: dg.DagsterInstance) -> str:
    """Run the job for the set in landing/retail/ (via the sensor); return the answer lines."""
    runs, _ = drain_sensor(defs, SENSOR_NAME, instance)
    warehouse = resource_of((defs.resources or {})["warehouse"])
    with warehouse.get_connection() as conn:
        rows, accounts, late, unpaid_null, avg_total = conn.execute(
            f"""SELECT count(*), count(DISTINCT acct_id), avg(is_late),
                       count(*) FILTER (is_late IS NULL), avg(inv_total)::DOUBLE
                FROM {SCHEMA}.invoice_features"""
        ).fetchone()
        rejected = conn.execute(
            f"SELECT file, count(*) FROM {SCHEMA}.rejected_rows GROUP BY file ORDER BY file"
        ).fetchall()
        unknown_sku = conn.execute(
            f"SELECT count(*) FROM {SCHEMA}.fct_invoice_lines WHERE NOT sku_known"
        ).fetchone()[0]
    rejected_text = ", ".join(f"{f}: {n}" for f, n in rejected) or "none"
    return "\n".join(
        [
            f"late_payments: {runs} run(s) of late_payments_job from the extracts sensor",
            f"  invoice_features: {rows:,} rows (one per invoice), {accounts:,} accounts",
            f"  late share: {(late or 0):.1%} of invoices with a known outcome; "
            f"{unpaid_null} unpaid and not yet late (is_late null)",
            f"  average inv_total: {(avg_total or 0):,.2f}",
            f"  rejected rows: {rejected_text}; line items with unknown SKU: {unknown_sku}",
        ]
    )
