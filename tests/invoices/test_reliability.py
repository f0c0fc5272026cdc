"""Issue 15: one bad file or row never stops the invoices pipeline, nothing is lost.

Each test runs on the embedded warehouse and on the real PostgreSQL fixture (`invoices_env`).
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import dagster as dg
import pytest

from assets.invoices.files import InvoiceFile
from assets.invoices.load import load_files
from assets.invoices.parse import parse_invoice_file
from assets.invoices.partitions import RAW_KEY
from assets.invoices.publish import Publisher
from assets.invoices.store import InvoiceStore
from cli.generators.invoices import write_invoice_file
from cli.runner import execute_run_request, tick_sensor
from resources.lib.files import file_sha256
from resources.lib.serving import lake_root
from tests.invoices.conftest import uid

SENSOR = "invoice_files_sensor"


def load(env, partition: str) -> dg.ExecuteInProcessResult:
    """One run of `raw_invoices` over `partition`, as the sensor would ask for it."""
    request = dg.RunRequest(partition_key=partition, asset_selection=[RAW_KEY])
    with dg.instance_for_test() as instance:
        return execute_run_request(env.defs, request, instance)


def test_a_file_dated_outside_the_partitions_is_moved_aside_and_its_neighbours_run(
    invoices_env,
):
    today = datetime.now(UTC).date()  # the partitions are UTC days
    tomorrow, later = (today + timedelta(days=1)), (today + timedelta(days=2))
    land = invoices_env.landing
    # a venue at UTC+10 syncs its day before UTC's: a real file, loaded at once
    write_invoice_file(land / f"invoices_{tomorrow}.csv",
                       [["v1", uid(1), f"{tomorrow} 07:00:00", "1.00"]])
    write_invoice_file(land / f"invoices_{later}.csv",
                       [["v1", uid(2), f"{today} 09:00:00", "2.00"]])
    write_invoice_file(land / "invoices_2009-05-01.csv",
                       [["v1", uid(3), "2009-04-30 09:00:00", "3.00"]])
    write_invoice_file(land / "invoices_2024-03-01.csv",
                       [["v1", uid(4), "2024-02-28 09:00:00", "4.00"]])
    with dg.instance_for_test() as instance:
        requests, cursor = tick_sensor(invoices_env.defs, SENSOR, instance, None)
        # the good files get their runs in the same tick; the tick does not fail
        assert [r.partition_key for r in requests] == ["2024-03-01", tomorrow.isoformat()]
        for request in requests:
            assert execute_run_request(invoices_env.defs, request, instance).success
        again, _ = tick_sensor(invoices_env.defs, SENSOR, instance, cursor)
        assert again == []
    assert invoices_env.rows(
        "SELECT total FROM invoices.raw_invoices ORDER BY 1") == [(1,), (4,)]
    aside = land / "_rejected"
    for name, day in ((f"invoices_{later}.csv", later.isoformat()),
                      ("invoices_2009-05-01.csv", "2009-05-01")):
        assert (aside / name).exists() and not (land / name).exists()  # kept, not lost
        reason = (aside / f"{name}.reason.txt").read_text().splitlines()[0]
        assert reason == f"{name}: sync date {day} has no partition (from 2010-01-01 to tomorrow)"


def test_a_nul_byte_rejects_its_row_naming_the_field_and_the_rest_loads(invoices_env):
    write_invoice_file(invoices_env.landing / "invoices_2024-03-01.csv", [
        ["v1", uid(1), "2024-02-27 09:00:00", "10.00"],
        ["v\x002", uid(2), "2024-02-27 09:00:00", "2.00"],
        ["v3", uid(3), "2024-02-27 09:00:00", "4.0\x00"],
        ["v4", uid(4), "2024-02-28 09:00:00", "5.00"],
    ])
    result = load(invoices_env, "2024-03-01")
    assert result.success
    assert invoices_env.rows(
        "SELECT line_number, raw_line, reason FROM invoices.rejected_invoice_rows ORDER BY 1"
    ) == [
        (3, f"v\\x002,{uid(2)},2024-02-27 09:00:00,2.00", "venue_id: contains a NUL byte (\\x00)"),
        (4, f"v3,{uid(3)},2024-02-27 09:00:00,4.0\\x00", "total: contains a NUL byte (\\x00)"),
    ]
    assert invoices_env.rows(
        "SELECT venue_id, total FROM invoices.raw_invoices ORDER BY 1"
    ) == [("v1", 10), ("v4", 5)]
    assert invoices_env.rows(
        "SELECT rows_loaded, rows_rejected FROM invoices.file_ledger") == [(2, 2)]


def test_fifty_thousand_bad_rows_are_all_kept_with_their_reasons(invoices_env):
    bad = 50_000
    rows = [["v1", f"bad-{n}", "2024-02-27 09:00:00", "1.00"] for n in range(bad)]
    rows += [["v2", uid(n), "2024-02-27 09:00:00", "1.00"] for n in range(1, 4)]
    rows += [["v3", uid(9), "2024-02-27 09:00:00", "1.00"],  # superseded by the next line
             ["v3", uid(9), "2024-02-27 10:00:00", "2.00"]]
    path = write_invoice_file(invoices_env.landing / "invoices_2024-03-01.csv", rows)
    parsed = parse_invoice_file(path, date(2024, 3, 1))
    with invoices_env.store() as store:
        statements = []
        execute = store.execute
        store.execute = lambda sql, params=(): statements.append(sql) or execute(sql, params)
        store.apply_file(parsed, path.name, file_sha256(path), date(2024, 3, 1))
    # set-based: the rejects go in with a bounded number of statements, not one per row
    assert len(statements) < 40
    assert load(invoices_env, "2024-03-01").success  # the same content again: a no-op
    assert invoices_env.rows(
        "SELECT COUNT(*), COUNT(DISTINCT line_number), MIN(line_number), MAX(line_number)"
        " FROM invoices.rejected_invoice_rows WHERE starts_with(reason, 'invoice_id: not a UUID')"
    ) == [(bad, bad, 2, bad + 1)]
    assert invoices_env.rows(
        "SELECT line_number, raw_line, reason, source_file FROM invoices.rejected_invoice_rows"
        " WHERE line_number IN (2, %s, %s) ORDER BY 1", (bad + 1, bad + 5),
    ) == [
        (2, "v1,bad-0,2024-02-27 09:00:00,1.00", "invoice_id: not a UUID ('bad-0')",
         "invoices_2024-03-01.csv"),
        (bad + 1, f"v1,bad-{bad - 1},2024-02-27 09:00:00,1.00",
         f"invoice_id: not a UUID ('bad-{bad - 1}')", "invoices_2024-03-01.csv"),
        (bad + 5, f"v3,{uid(9)},2024-02-27 09:00:00,1.00",
         f"invoice_id {uid(9)} repeated; superseded by line {bad + 6}", "invoices_2024-03-01.csv"),
    ]
    assert invoices_env.rows(
        "SELECT rows_loaded, rows_rejected FROM invoices.file_ledger") == [(4, bad + 1)]
    assert invoices_env.rows(
        "SELECT COUNT(*), SUM(total) FROM invoices.raw_invoices") == [(4, 5)]
    assert date(2024, 2, 27) in {
        r[0] for r in invoices_env.rows("SELECT created_date FROM invoices.venue_daily_totals")}


def test_a_database_error_names_the_file_rolls_it_back_and_a_rerun_loads_it(
    invoices_env, monkeypatch
):
    path = write_invoice_file(invoices_env.landing / "invoices_2024-03-01.csv", [
        ["v1", uid(1), "2024-02-27 09:00:00", "10.00"],
        ["v1", "bad", "2024-02-27 09:00:00", "1.00"],
    ])
    item = InvoiceFile(path, date(2024, 3, 1), file_sha256(path))
    landing = invoices_env.resources["paths"].landing_folder("invoices")
    context = dg.build_asset_context()

    def lost(*_args) -> None:
        raise ConnectionError("server closed the connection unexpectedly")

    with monkeypatch.context() as patch, invoices_env.store() as store:
        patch.setattr(InvoiceStore, "_insert_rejected", lost)
        with pytest.raises(ConnectionError) as failed:  # same type: the retry policy applies
            load_files(context, store, landing, [item],
                       Publisher(store, lake_root(invoices_env.data_dir)))
    assert f"while loading invoice file invoices_2024-03-01.csv ({path})" in "".join(
        getattr(failed.value, "__notes__", []))
    for table in ("raw_invoices", "venue_daily_totals", "file_ledger", "rejected_invoice_rows"):
        assert invoices_env.rows(f"SELECT COUNT(*) FROM invoices.{table}") == [(0,)]
    assert load(invoices_env, "2024-03-01").success  # the retry finds nothing half-done
    assert invoices_env.rows("SELECT COUNT(*) FROM invoices.raw_invoices") == [(1,)]
    assert invoices_env.rows("SELECT COUNT(*) FROM invoices.rejected_invoice_rows") == [(1,)]
