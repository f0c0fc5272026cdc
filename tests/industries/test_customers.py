"""Customer batches: header spellings, last row / later batch wins, unknown names, bad files."""

from __future__ import annotations

import dagster as dg
import pytest

from assets.industries.common import canonical_industry
from cli.runner import tick_sensor
from definitions import domain_defs
from tests.industries.conftest import load_customers, query, write_customers


def test_dedup_rules_and_industry_matching(res, tmp_path):
    landing = tmp_path / "landing/customers"
    write_customers(landing / "customers_20250101T000000.csv", "specialized_industries", [
        ("C1", "One", "Food;Polymer"),
        ("C2", "Two", "Cleaning"),
        ("C2", "Two again", " oil & gas ; COLOURS "),  # same batch: the last row wins
        ("C3", "Three", "Cosmetics;Textiles"),
        ("", "No id", "Food"),
    ])
    write_customers(landing / "customers_20250101T120000.csv", "specialised_industries", [
        ("C1", "One v2", "agriculture"),  # the later batch wins
    ])
    result = load_customers(res)
    rows = query(res, "SELECT customer_id, company_name, industries, source_file, line_number "
                      "FROM industries.customers ORDER BY 1")
    assert rows == [
        ("C1", "One v2", ["Agriculture"], "customers_20250101T120000.csv", 2),
        ("C2", "Two again", ["Oil&Gas", "Colours"], "customers_20250101T000000.csv", 4),
        ("C3", "Three", ["Cosmetics"], "customers_20250101T000000.csv", 5),
    ]
    assert query(res, "SELECT count(*) FROM industries.customer_industries")[0][0] == 4
    rejected = query(res, "SELECT line_number, customer_id, value, reason "
                          "FROM industries.rejected_customers ORDER BY 1")
    assert rejected == [(5, "C3", "Textiles", "unknown industry"),
                        (6, None, None, "missing customer_id")]
    check = result.get_asset_check_evaluations()[0]
    assert check.check_name == "known_industry_names" and not check.passed
    assert check.metadata["distinct_values"].value == "Textiles"
    load_customers(res)  # idempotent
    assert len(query(res, "SELECT * FROM industries.customers")) == 3


def test_bad_batch_is_moved_aside_and_fails(res, tmp_path):
    landing = tmp_path / "landing/customers"
    landing.mkdir(parents=True)
    (landing / "broken.csv").write_text("id,name\n1,x\n")
    with pytest.raises(dg.Failure, match="broken.csv"):
        load_customers(res)
    assert not (landing / "broken.csv").exists()
    reason = (landing / "_rejected" / "broken.csv.reason.txt").read_text()
    assert "customer_id" in reason


def test_customers_sensor_requests_on_new_content(res, tmp_path, instance):
    defs = domain_defs("industries", res)
    assert tick_sensor(defs, "industries_customers_sensor", instance, None)[0] == []
    write_customers(tmp_path / "landing/customers/a.csv", "specialized_industries",
                    [("C1", "One", "Food")])
    reqs, cursor = tick_sensor(defs, "industries_customers_sensor", instance, None)
    assert len(reqs) == 1 and reqs[0].run_key.startswith("customers-")
    assert tick_sensor(defs, "industries_customers_sensor", instance, cursor)[0] == []


@pytest.mark.parametrize("raw,expected", [
    ("oil&gas", "Oil&Gas"), (" Oil & Gas ", "Oil&Gas"), ("PHARMACEUTICALS", "Pharmaceuticals"),
    ("colors", None), ("", None),
])
def test_canonical_industry(raw, expected):
    assert canonical_industry(raw) == expected
