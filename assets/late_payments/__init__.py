"""The late_payments domain: four retail extracts -> typed staging -> line fact -> features."""

import dagster as dg

from assets.late_payments.fact import fct_invoice_lines
from assets.late_payments.features import invoice_features
from assets.late_payments.staging import STAGING_ASSETS
from sensors.late_payments import JOB_NAME, late_payments_extracts_sensor

ASSETS = [*STAGING_ASSETS, fct_invoice_lines, invoice_features]

late_payments_job = dg.define_asset_job(
    JOB_NAME,
    selection=dg.AssetSelection.groups("late_payments"),
    description="Stage the four retail extracts and rebuild late_payments.invoice_features.",
)

defs = dg.Definitions(
    assets=ASSETS,
    jobs=[late_payments_job],
    sensors=[late_payments_extracts_sensor],
)
