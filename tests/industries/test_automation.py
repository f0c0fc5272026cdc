"""The scores refresh by themselves: the automation condition fires on new rollup/customers."""

from __future__ import annotations

import dagster as dg

from assets.industries.batches import order_batches
from assets.industries.common import SCORES
from assets.industries.customers import customers
from assets.industries.orders import customer_hourly, orders
from assets.industries.scores import industry_change_scores
from tests.industries.conftest import load_customers, write_customers


def test_scores_requested_after_customer_batch(res, tmp_path, instance):
    assets = dg.Definitions(
        assets=[order_batches, orders, customer_hourly, customers, industry_change_scores],
        resources=res,
    )
    dg.materialize([industry_change_scores], resources=res, instance=instance)
    first = dg.evaluate_automation_conditions(defs=assets, instance=instance)
    quiet = dg.evaluate_automation_conditions(defs=assets, instance=instance, cursor=first.cursor)
    assert quiet.get_num_requested(SCORES) == 0
    write_customers(tmp_path / "landing/customers/a.csv", "specialized_industries",
                    [("C1", "One", "Food")])
    load_customers(res, instance=instance)
    again = dg.evaluate_automation_conditions(defs=assets, instance=instance, cursor=quiet.cursor)
    assert again.get_num_requested(SCORES) == 1
