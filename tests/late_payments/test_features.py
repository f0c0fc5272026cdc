"""Every feature column on a hand-built set where each definition's edge matters."""

from __future__ import annotations

from decimal import Decimal

import pytest

from assets.late_payments.features import FEATURE_COLUMNS
from tests.late_payments.conftest import checks_of, materialize, write_csv

ACCOUNTS = """
account_id,company_name,company_address,contact_person,contact_phone,gender,joining_date
1,"Acme, Inc.","1 Road
Town, ST 1",Ann,555,F,2020-01-01
2,Beta,2 Lane,Bob,556,M,2020-03-01
"""
SKUS = """
item_id,item_name,item_description,item_cost_price,item_retail_price
A,Apple,"red, round",1.00,10.10
B,Pear,green,2.00,0.335
"""
# account 1: 101 on day 0; 102 exactly 120 days later; 103 + 104 on the same day (day 121);
# 105 unpaid, issued 31 days before the as-of date (late); account 2: 201 paid on day 30,
# 202 paid on day 31, 203 unpaid issued 30 days before the as-of date (not late yet),
# 204 issued the day after 105, no line items. Latest date in the extract: 2020-07-20.
INVOICES = """
invoice_id,account_id,date_issued,payment_dates
101,1,2020-03-01,2020-03-05
102,1,2020-06-29,2020-07-01
103,1,2020-06-30,
104,1,2020-06-30,2020-07-02
105,1,2020-06-19,
201,2,2020-05-01,2020-05-31
202,2,2020-05-01,2020-06-01
203,2,2020-06-20,
204,2,2020-06-20,2020-07-20
"""
LINES = """
invoice_id,item_id,quantity
101,A,2
101,B,3
102,A,1
103,B,1
104,A,1
105,A,1
201,A,1
202,B,1
203,A,1
"""


@pytest.fixture
def hand_built(landing):
    for name, text in [
        ("accounts.csv", ACCOUNTS), ("skus.csv", SKUS),
        ("invoices.csv", INVOICES), ("invoice_line_items.csv", LINES),
    ]:  # fmt: skip
        write_csv(landing, name, text)
    return landing


def _features(warehouse) -> dict[int, dict]:
    with warehouse.get_connection() as conn:
        rel = conn.execute("SELECT * FROM late_payments.invoice_features ORDER BY inv_id")
        names = [d[0] for d in rel.description]
        assert tuple(names) == FEATURE_COLUMNS
        return {row[0]: dict(zip(names, row, strict=True)) for row in rel.fetchall()}


def test_every_column_on_the_edges(hand_built, paths, warehouse):
    result = materialize(paths, warehouse)
    assert result.success
    f = _features(warehouse)
    assert sorted(f) == [101, 102, 103, 104, 105, 201, 202, 203, 204]
    assert f[101]["acct_id"] == 1 and f[204]["acct_id"] == 2
    # inv_total: Σ quantity × retail price, 2 decimals; 0 without line items
    assert f[101]["inv_total"] == Decimal("21.21")  # 2×10.10 + 3×0.335 = 21.205 -> 21.21
    assert f[204]["inv_total"] == Decimal("0.00") and f[204]["inv_items"] == 0
    assert f[101]["inv_items"] == 5
    # acct_age: days from joining to issue
    assert f[101]["acct_age"] == 60 and f[201]["acct_age"] == 61
    # num_inv_120d: [d-120, d): 102 is exactly 120 days after 101 -> counts it
    assert f[101]["num_inv_120d"] == 0
    assert f[105]["num_inv_120d"] == 1
    assert f[102]["num_inv_120d"] == 2  # 101 (exactly 120 days back) and 105
    # 103/104 (day 121): 101 is 121 days back (out), 105 and 102 in; same day excluded
    assert f[103]["num_inv_120d"] == 2 and f[104]["num_inv_120d"] == 2
    assert f[203]["num_inv_120d"] == 2 and f[204]["num_inv_120d"] == 2
    # cum_tot_inv_acct: date_issued <= d, same-day invoices count each other
    assert [f[i]["cum_tot_inv_acct"] for i in (101, 105, 102, 103, 104)] == [1, 2, 3, 5, 5]
    assert [f[i]["cum_tot_inv_acct"] for i in (201, 202, 203, 204)] == [2, 2, 4, 4]
    # is_late: day 30 on time, day 31 late; unpaid late only after 30 days by as-of
    assert f[201]["is_late"] == 0 and f[202]["is_late"] == 1
    assert f[101]["is_late"] == 0 and f[204]["is_late"] == 0
    assert f[105]["is_late"] == 1  # unpaid, 31 days before 2020-07-20
    assert f[203]["is_late"] is None  # unpaid, exactly 30 days: not late yet
    assert f[103]["is_late"] is None  # unpaid, 20 days
    mat = result.asset_materializations_for_node("late_payments__invoice_features")[0]
    assert mat.metadata["as_of"].value == "2020-07-20"
    checks = checks_of(result)
    assert all(checks[n].passed for n in checks), {n: c.passed for n, c in checks.items()}


def test_as_of_is_configurable(hand_built, paths, warehouse):
    from dagster import RunConfig

    from assets.late_payments.features import FeaturesConfig

    config = RunConfig({"late_payments__invoice_features": FeaturesConfig(as_of="2020-07-21")})
    assert materialize(paths, warehouse, run_config=config).success
    f = _features(warehouse)
    assert f[203]["is_late"] == 1  # 31 days by the new cut-off
    assert f[103]["is_late"] is None
    # an earlier cut-off: 105 no longer late (only 20 days), paid invoices unchanged
    config = RunConfig({"late_payments__invoice_features": FeaturesConfig(as_of="2020-07-09")})
    assert materialize(paths, warehouse, run_config=config).success
    f = _features(warehouse)
    assert f[105]["is_late"] is None and f[202]["is_late"] == 1


def test_running_twice_changes_nothing(hand_built, paths, warehouse):
    def snapshot():
        with warehouse.get_connection() as conn:
            return {
                t: conn.execute(f"SELECT * FROM late_payments.{t} ORDER BY ALL").fetchall()
                for t in ("invoice_features", "fct_invoice_lines", "rejected_rows")
            }

    assert materialize(paths, warehouse).success
    first = snapshot()
    assert materialize(paths, warehouse).success
    assert snapshot() == first


def test_whitespace_and_payment_date_lists(hand_built, paths, warehouse):
    write_csv(
        hand_built,
        "invoices.csv",
        "invoice_id,account_id,date_issued,payment_dates\n"
        " 101 ,\t1, 2020-03-01 , 2020-04-01 \n"
        '102,1,2020-03-01,"2020-03-05;2020-04-01"\n'
        '103,1,2020-03-01,"[2020-03-05, 2020-03-20]"\n'
        "104,1,2020-03-01,   \n",
    )
    assert materialize(paths, warehouse).success
    with warehouse.get_connection() as conn:
        paid = dict(
            conn.execute("SELECT invoice_id, paid_on FROM late_payments.stg_invoices").fetchall()
        )
    assert str(paid[101]) == "2020-04-01" and str(paid[102]) == "2020-04-01"
    assert str(paid[103]) == "2020-03-20" and paid[104] is None
    f = _features(warehouse)
    assert [f[i]["is_late"] for i in (101, 102, 103, 104)] == [1, 1, 0, 1]  # last date counts
