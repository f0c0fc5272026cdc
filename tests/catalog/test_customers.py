"""The customer aggregates, the four insights and the rejected rows in the catalog."""

from __future__ import annotations

from tests.catalog.conftest import assert_catalog_equals_warehouse
from tests.customers.test_pipeline import make_resources, materialize

TABLES = ("customer_aggregates", "top_customers", "top_products", "category_ratings",
          "monthly_sales", "rejected_rows")  # fmt: skip


def test_a_run_publishes_the_six_tables_and_a_rerun_republishes_them(tmp_path,
                                                                     dirty_source) -> None:  # noqa: ANN001
    resources = make_resources(tmp_path, dirty_source)
    first = materialize(resources)
    assert first.success
    snapshots = assert_catalog_equals_warehouse(resources["paths"], "customers", TABLES)
    metadata = {m.asset_key.path[-1]: m.metadata for m in
                first.asset_materializations_for_node("customers_warehouse_tables")}
    assert {n: int(metadata[n][f"iceberg_snapshot/{n}"].value) for n in TABLES} == snapshots
    assert materialize(resources).success
    again = assert_catalog_equals_warehouse(resources["paths"], "customers", TABLES)
    assert all(again[n] != snapshots[n] for n in TABLES)
