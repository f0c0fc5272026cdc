"""Industry change scores (spec section 3): order stream + customer batches → top industries."""

import dagster as dg

from assets.industries.customers import customers
from assets.industries.orders import customer_hourly, order_batches, orders
from assets.industries.scores import industry_change_scores
from sensors.industries import sensors

defs = dg.Definitions(
    assets=[order_batches, orders, customer_hourly, customers, industry_change_scores],
    sensors=sensors,
)
