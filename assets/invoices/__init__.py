"""Invoices: CSV files → `invoices.raw_invoices` → `invoices.venue_daily_totals`."""

import dagster as dg

from assets.invoices.raw import raw_invoices
from assets.invoices.totals import venue_daily_totals
from sensors.invoices import invoice_files_sensor

defs = dg.Definitions(
    assets=[raw_invoices, venue_daily_totals],
    sensors=[invoice_files_sensor],
)
