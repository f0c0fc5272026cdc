"""The warehouse's committed tables in the `commerce` Iceberg catalog (assets.shared.catalog).

After a run every published table holds exactly the warehouse's rows, its snapshot names the
run, and the asset's metadata names the snapshot; a failed step leaves its table on the
previous snapshot; a rerun republishes the same rows; with the lake on the store the table
files are in the bucket.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from cli.generators.late_payments import write_extracts
from resources import PlatformPaths, Warehouse
from tests.catalog.conftest import assert_catalog_equals_warehouse
from tests.late_payments.conftest import materialize

TABLES = ("stg_accounts", "stg_skus", "stg_invoices", "stg_invoice_line_items",
          "fct_invoice_lines", "invoice_features", "rejected_rows")  # fmt: skip


def _assert_catalog_equals_warehouse(paths: PlatformPaths) -> dict[str, int]:
    return assert_catalog_equals_warehouse(paths, "late_payments", TABLES)


def _published(result) -> dict[str, tuple[str, str]]:  # noqa: ANN001
    """asset name -> (snapshot id in its metadata, the run id)."""
    out = {}
    for event in result.get_asset_materialization_events():
        mat = event.event_specific_data.materialization
        for key, value in mat.metadata.items():
            if key.startswith("iceberg_snapshot/"):
                out[key.split("/", 1)[1]] = (value.value, result.run_id)
    return out


def test_a_run_publishes_the_committed_tables_and_a_failed_step_keeps_the_snapshot(
    tmp_path: Path,
) -> None:
    paths = PlatformPaths(data_dir=str(tmp_path), landing_settle_seconds=0,
                          landing_sweep_seconds=0)
    warehouse = Warehouse(database=str(paths.warehouse))
    landing = paths.landing("retail")
    write_extracts(landing, invoices=300, messy=True)
    first = materialize(paths, warehouse)
    assert first.success
    snapshots = _assert_catalog_equals_warehouse(paths)
    catalog = paths.catalog()
    for name, (snapshot, run_id) in _published(first).items():
        table = catalog.load_table(("late_payments", name))
        summary = table.snapshot_by_id(int(snapshot)).summary.additional_properties
        assert summary["dagster.run_id"] == run_id, name
    assert {n: s for n, (s, _) in _published(first).items()
            if n != "rejected_rows"} == {n: str(s) for n, s in snapshots.items()
                                         if n != "rejected_rows"}  # fmt: skip
    assert str(tmp_path / "lake" / "late_payments" / "iceberg") in catalog.load_table(
        ("late_payments", "invoice_features")).location()

    # a rerun on the same files republishes the same rows (a new snapshot each)
    assert materialize(paths, warehouse).success
    again = _assert_catalog_equals_warehouse(paths)
    assert all(again[n] != snapshots[n] for n in TABLES)

    # a bad invoices.csv: its step fails, its table stays on the rerun's snapshot
    (landing / "invoices.csv").write_text("invoice_id,account_id,payment_dates\n1,1,\n")
    failed = materialize(paths, warehouse, raise_on_error=False)
    assert not failed.success
    table = paths.catalog().load_table(("late_payments", "stg_invoices"))
    assert table.current_snapshot().snapshot_id == again["stg_invoices"]


@pytest.mark.integration
def test_with_the_lake_on_the_store_the_tables_are_in_the_bucket(tmp_path: Path,
                                                                  s3_server) -> None:  # noqa: ANN001
    bucket = s3_server.bucket()
    paths = PlatformPaths(data_dir=str(tmp_path), landing_settle_seconds=0,
                          landing_sweep_seconds=0, lake_url=f"s3://{bucket}/lake",
                          **{k.lower(): v for k, v in s3_server.env().items()})
    write_extracts(paths.landing("retail"), invoices=200, messy=True)
    assert materialize(paths, Warehouse(database=str(paths.warehouse))).success
    _assert_catalog_equals_warehouse(paths)
    location = paths.catalog().load_table(("late_payments", "invoice_features")).location()
    assert location.startswith(f"s3://{bucket}/lake/late_payments/iceberg/")
    assert not (tmp_path / "lake").exists()
    assert (tmp_path / "state" / "catalog.sqlite").exists()


def test_an_unreachable_catalog_fails_the_step_clearly_and_the_next_run_publishes(
    tmp_path: Path,
) -> None:
    """ICEBERG_CATALOG_URL names a PostgreSQL that is down: the step fails after its
    warehouse commit with an error naming the catalog (never its password); once the
    catalog is reachable the next run publishes what the warehouse holds."""
    from tests.servers import free_port

    secret = "s3cret-catalog-pw"
    down = f"postgresql://platform:{secret}@127.0.0.1:{free_port()}/catalog"
    paths = PlatformPaths(data_dir=str(tmp_path), landing_settle_seconds=0,
                          landing_sweep_seconds=0, iceberg_catalog_url=down)
    warehouse = Warehouse(database=str(paths.warehouse))
    write_extracts(paths.landing("retail"), invoices=100)
    failed = materialize(paths, warehouse, raise_on_error=False)
    assert not failed.success
    errors = [e.step_failure_data.error.to_string() for e in failed.all_events
              if e.is_step_failure]
    assert errors and all("commerce catalog is unreachable" in e for e in errors), errors[0]
    assert not any(secret in e for e in errors)
    with warehouse.get_connection() as conn:  # the first step committed before publishing
        assert conn.execute("SELECT count(*) FROM late_payments.stg_accounts").fetchone()[0]

    back = PlatformPaths(data_dir=str(tmp_path), landing_settle_seconds=0,
                         landing_sweep_seconds=0)  # the embedded catalog, reachable
    assert materialize(back, warehouse).success
    _assert_catalog_equals_warehouse(back)
