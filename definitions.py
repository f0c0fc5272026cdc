"""The one code location: five domains, one asset graph, resources bound here."""

import dagster as dg

from assets import ctr, customers, industries, invoices, late_payments
from resources import build_resources

defs = dg.Definitions.merge(
    invoices.defs,
    ctr.defs,
    industries.defs,
    late_payments.defs,
    customers.defs,
    dg.Definitions(resources=build_resources()),
)
