"""The venue totals in the catalog follow every commit, month by month, on the embedded
warehouse and on PostgreSQL (`invoices_env`)."""

from __future__ import annotations

from cli.generators.invoices import write_invoice_file
from resources import PlatformPaths
from tests.invoices.conftest import uid
from tests.invoices.test_reliability import load


def _catalog(env) -> list[tuple]:  # noqa: ANN001
    table = PlatformPaths(data_dir=str(env.data_dir)).catalog().load_table(
        ("invoices", "venue_daily_totals"))
    return sorted((r["venue_id"], r["created_date"], r["total_amount"], r["invoice_count"],
                   r["updated_at"]) for r in table.scan().to_arrow().to_pylist())


def _committed(env) -> list[tuple]:  # noqa: ANN001
    return sorted(env.rows("SELECT venue_id, created_date, total_amount, invoice_count, "
                           "updated_at FROM invoices.venue_daily_totals"))


def test_the_catalog_holds_the_committed_totals_after_each_file(invoices_env) -> None:
    write_invoice_file(invoices_env.landing / "invoices_2024-02-02.csv", [
        ["v1", uid(1), "2024-01-31 09:00:00", "10.00"],
        ["v2", uid(2), "2024-02-01 10:00:00", "5.50"],
    ])
    assert load(invoices_env, "2024-02-02").success
    assert _catalog(invoices_env) == _committed(invoices_env) and len(_committed(invoices_env)) == 2
    table = PlatformPaths(data_dir=str(invoices_env.data_dir)).catalog().load_table(
        ("invoices", "venue_daily_totals"))
    first = table.current_snapshot().snapshot_id

    # a refund of February's invoice and a new venue: February replaced, January kept
    write_invoice_file(invoices_env.landing / "invoices_2024-02-03.csv", [
        ["v2", uid(4), "2024-02-01 12:00:00", "-5.50"],
        ["v3", uid(5), "2024-02-02 12:00:00", "7.00"],
    ])
    second = load(invoices_env, "2024-02-03")
    assert second.success
    assert _catalog(invoices_env) == _committed(invoices_env)
    (event,) = [e for e in second.get_asset_materialization_events()
                if e.asset_key.path == ["invoices", "raw_invoices"]]
    metadata = event.event_specific_data.materialization.metadata
    shown = {k: v.value for k, v in metadata.items() if k.startswith("iceberg_snapshot/")}
    table.refresh()
    snapshot = table.current_snapshot()
    assert snapshot.snapshot_id != first
    assert shown["iceberg_snapshot/venue_daily_totals"] == str(snapshot.snapshot_id)
    assert set(shown) == {f"iceberg_snapshot/{t}" for t in (
        "venue_daily_totals", "raw_invoices", "file_ledger")}
    assert snapshot.summary.additional_properties["dagster.partition"] == "2024-02-03"
    january = [r for r in table.scan(row_filter="created_date < '2024-02-01'").plan_files()]
    assert len(january) == 1  # January's file was not rewritten

    # the raw rows and the ledger beside them: the committed rows, ids as text
    catalog = PlatformPaths(data_dir=str(invoices_env.data_dir)).catalog()
    raw = catalog.load_table(("invoices", "raw_invoices")).scan().to_arrow().to_pylist()
    assert sorted((r["invoice_id"], r["venue_id"], r["total"]) for r in raw) == sorted(
        (str(i), v, t) for i, v, t in invoices_env.rows(
            "SELECT invoice_id, venue_id, total FROM invoices.raw_invoices"))
    assert len(raw) == 4
    ledger = catalog.load_table(("invoices", "file_ledger")).scan().to_arrow()
    assert sorted(ledger.column("file_name").to_pylist()) == [
        "invoices_2024-02-02.csv", "invoices_2024-02-03.csv"]
