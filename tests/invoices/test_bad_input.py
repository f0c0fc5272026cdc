"""Bad input: rejected rows with file, line and reason; bad files moved aside; no-ops."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import dagster as dg
import pytest

from assets.invoices.partitions import RAW_KEY, TOTALS_KEY
from cli.generators.invoices import write_invoice_file
from cli.runner import RANGE_END_TAG, RANGE_START_TAG, execute_run_request, tick_sensor
from tests.invoices.conftest import latest_metadata, materialization, uid


def load(env, partition: str, files: list[str] | None = None) -> dg.ExecuteInProcessResult:
    config = {"ops": {"invoices__raw_invoices": {"config": {"files": files or []}}}}
    request = dg.RunRequest(partition_key=partition, asset_selection=[RAW_KEY], run_config=config)
    with dg.instance_for_test() as instance:
        return execute_run_request(env.defs, request, instance)


def test_malformed_rows_are_rejected_with_line_and_reason_and_the_rest_loads(invoices_env):
    write_invoice_file(invoices_env.landing / "invoices_2024-03-01.csv", [
        ["v1", uid(1), "2024-02-27 09:00:00", "10.00"],
        ["v1", "not-a-uuid", "2024-02-27 09:00:00", "1.00"],
        ["v2", uid(2), "someday", "2.00"],
        ["v2", uid(3), "2024-02-27 09:00:00"],
        ["v2", uid(4), "2024-02-27 09:00:00", "ten"],
        ["", uid(5), "2024-02-27 09:00:00", "3.00"],
        ["v2", uid(6), "2024-03-05 09:00:00", "3.00"],
        ["v3", uid(7), "2024-02-28 10:00:00", "-8.25"],
    ])
    result = load(invoices_env, "2024-03-01")
    assert result.success
    rejected = invoices_env.rows(
        "SELECT source_file, line_number, reason FROM invoices.rejected_invoice_rows ORDER BY 2")
    assert [(r[0], r[1]) for r in rejected] == [("invoices_2024-03-01.csv", n) for n in range(3, 9)]
    reasons = [r[2] for r in rejected]
    assert reasons[0].startswith("invoice_id: not a UUID")
    assert reasons[1].startswith("datetime_created: not a timestamp")
    assert reasons[2] == "expected 4 fields, found 3"
    assert reasons[3].startswith("total: not a decimal")
    assert reasons[4] == "venue_id: empty"
    assert reasons[5] == "datetime_created: after the file's sync date 2024-03-01"
    assert invoices_env.rows("SELECT COUNT(*) FROM invoices.raw_invoices") == [(2,)]
    raw = materialization(result, "invoices__raw_invoices", RAW_KEY)
    assert raw.metadata["rows_rejected"].value == 6
    checks = {e.check_name: e.passed for e in result.get_asset_check_evaluations()}
    assert checks == {"totals_match_raw_for_touched_dates": True, "no_rejected_rows": False}


def test_wrong_header_moves_the_file_aside_and_fails_naming_it(invoices_env):
    path = invoices_env.landing / "invoices_2024-03-01.csv"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("venue,id,created,amount\nv1,x,2024-01-01,1\n")
    with pytest.raises(dg.Failure, match="invoices_2024-03-01.csv: wrong header"):
        load(invoices_env, "2024-03-01")
    rejected_dir = invoices_env.landing / "_rejected"
    assert not path.exists()
    assert (rejected_dir / "invoices_2024-03-01.csv").exists()
    assert "wrong header" in (rejected_dir / "invoices_2024-03-01.csv.reason.txt").read_text()


def test_file_without_a_sync_date_is_moved_aside_by_the_sensor(invoices_env):
    path = write_invoice_file(invoices_env.landing / "invoices_latest.csv", [])
    with dg.instance_for_test() as instance:
        requests, _ = tick_sensor(invoices_env.defs, "invoice_files_sensor", instance, None)
    assert requests == [] and not path.exists()
    reason = invoices_env.landing / "_rejected" / "invoices_latest.csv.reason.txt"
    assert "no sync date" in reason.read_text()


def test_same_content_twice_is_a_no_op(invoices_env):
    rows = [["v1", uid(1), "2024-02-27 09:00:00", "10.00"]]
    write_invoice_file(invoices_env.landing / "invoices_2024-03-01.csv", rows)
    assert load(invoices_env, "2024-03-01").success
    before = invoices_env.rows("SELECT * FROM invoices.raw_invoices")
    write_invoice_file(invoices_env.landing / "invoices_2024-03-01_copy.csv", rows)
    result = load(invoices_env, "2024-03-01")
    assert result.success
    assert invoices_env.rows("SELECT * FROM invoices.raw_invoices") == before
    assert invoices_env.rows("SELECT COUNT(*) FROM invoices.file_ledger") == [(1,)]
    metadata = materialization(result, "invoices__raw_invoices", RAW_KEY).metadata
    assert metadata["rows_loaded"].value == 0


def test_backfill_recomputes_a_date_range_from_the_raw_table(invoices_env):
    write_invoice_file(invoices_env.landing / "invoices_2024-03-01.csv", [
        ["v1", uid(1), "2024-02-27 09:00:00", "10.00"],
        ["v1", uid(2), "2024-02-28 09:00:00", "20.00"],
    ])
    assert load(invoices_env, "2024-03-01").success
    with invoices_env.store() as store:
        store.execute("UPDATE invoices.venue_daily_totals SET total_amount = 0")
        store.execute("DELETE FROM invoices.venue_daily_totals WHERE created_date = '2024-02-28'")
    request = dg.RunRequest(
        asset_selection=[dg.AssetKey(["invoices", "venue_daily_totals"])],
        tags={RANGE_START_TAG: "2024-02-01", RANGE_END_TAG: "2024-02-29"},
    )
    with dg.instance_for_test() as instance:
        result = execute_run_request(invoices_env.defs, request, instance)
        run = [m.metadata for m in result.asset_materializations_for_node(
            "invoices__venue_daily_totals") if "run_range" in m.metadata]
        assert run[0]["run_rows_corrected"].value == 2  # the run's figure, labelled so
        assert "dagster/row_count" not in run[0]
        # each date of the range shows its own figures, not the range's
        assert latest_metadata(instance, TOTALS_KEY, "2024-02-28") == {
            "dagster/row_count": 1, "total_amount": 20.0, "invoices": 1}
        assert latest_metadata(instance, TOTALS_KEY, "2024-02-10")["dagster/row_count"] == 0
    assert invoices_env.rows(
        "SELECT venue_id, created_date, total_amount FROM invoices.venue_daily_totals ORDER BY 2"
    ) == [("v1", date(2024, 2, 27), Decimal("10.00")), ("v1", date(2024, 2, 28), Decimal("20.00"))]


def test_a_bad_file_in_a_run_still_records_the_files_committed_before_it(invoices_env):
    """A backfill of a sync date with a good and a bad file: the good one is committed (its
    own transaction), the run fails naming the bad one, and the good file's sync date and
    the creation dates it updated are still recorded, with their own figures."""
    land = invoices_env.landing
    write_invoice_file(land / "invoices_2024-03-01.csv", [
        ["v1", uid(1), "2024-02-27 09:00:00", "10.00"],
        ["v2", uid(2), "2024-02-28 09:00:00", "5.00"],
    ])
    bad = land / "invoices_2024-03-01_z.csv"
    bad.write_text("venue,id,created,amount\nv1,x,2024-01-01,1\n")
    config = {"ops": {"invoices__raw_invoices": {"config": {"files": []}}}}
    request = dg.RunRequest(partition_key="2024-03-01", asset_selection=[RAW_KEY],
                            run_config=config)
    with dg.instance_for_test() as instance:
        with pytest.raises(dg.Failure, match="invoices_2024-03-01_z.csv: wrong header"):
            execute_run_request(invoices_env.defs, request, instance)
        assert invoices_env.rows("SELECT COUNT(*) FROM invoices.raw_invoices") == [(2,)]
        recorded = instance.fetch_materializations(RAW_KEY, limit=10).records
        assert [r.partition_key for r in recorded] == ["2024-03-01"]
        metadata = recorded[0].asset_materialization.metadata
        assert metadata["created_dates_touched"].value == ["2024-02-27", "2024-02-28"]
        assert metadata["rows_loaded"].value == 2

        assert instance.get_materialized_partitions(TOTALS_KEY) == {"2024-02-27", "2024-02-28"}
        assert latest_metadata(instance, TOTALS_KEY, "2024-02-28")["total_amount"] == 5.0
    assert (land / "_rejected" / "invoices_2024-03-01_z.csv").exists()
