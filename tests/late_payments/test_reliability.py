"""Issue 15 for late payments: a half-written extract never runs, a header that is not the
contract is a bad file (the features already published stay), a link out of the landing
folder is never read, implausible dates are rejected rows with their reason."""

from __future__ import annotations

import os
import time
from datetime import date, timedelta
from pathlib import Path

import dagster as dg
import pytest

from assets.late_payments.extracts import INVOICES, BadExtractFile, match_header
from cli.runner import execute_run_request, tick_sensor
from definitions import domain_defs
from resources import PlatformPaths, SparkResource, Warehouse
from sensors.late_payments import SENSOR_NAME
from tests.late_payments.conftest import CHANGES_OFF, materialize, write_csv


def _features(warehouse: Warehouse) -> int:
    with warehouse.get_connection() as conn:
        return conn.execute("SELECT count(*) FROM late_payments.invoice_features").fetchone()[0]


def _age(path: Path, seconds: float = 60) -> None:
    past = time.time() - seconds
    os.utime(path, (past, past), follow_symlinks=False)


def _failure(result: dg.ExecuteInProcessResult) -> str:
    messages = [e.event_specific_data.error.message for e in result.all_events
                if e.is_step_failure]
    assert len(messages) == 1
    return messages[0]


def test_sensor_waits_while_an_extract_of_the_set_is_being_rewritten(
    real_extracts, tmp_path, warehouse
):
    paths = PlatformPaths(data_dir=str(tmp_path / "data"), landing_settle_seconds=5,
                          landing_sweep_seconds=0)
    defs = domain_defs("late_payments", {"paths": paths, "warehouse": warehouse,
                                         "spark": SparkResource(), **CHANGES_OFF})
    for path in real_extracts.glob("*.csv"):
        _age(path)
    (tmp_path / "home").mkdir()
    with dg.instance_for_test(temp_dir=str(tmp_path / "home")) as instance:
        requests, cursor = tick_sensor(defs, SENSOR_NAME, instance, None)
        assert len(requests) == 1  # the first set
        # a new set arrives: accounts.csv replaced whole (settled), invoices.csv being
        # rewritten in place, half of it written so far
        invoices = real_extracts / "invoices.csv"
        full = invoices.read_bytes()
        invoices.write_bytes(full[: len(full) // 2])
        accounts = real_extracts / "accounts.csv"
        lines = accounts.read_text().splitlines(keepends=True)
        write_csv(real_extracts, "accounts.new", "".join(lines[:-2]))  # one account less
        _age(real_extracts / "accounts.new")
        os.replace(real_extracts / "accounts.new", accounts)
        requests, cursor = tick_sensor(defs, SENSOR_NAME, instance, cursor)
        assert requests == []  # before the fix: a run over the half-written invoices.csv
        # the writer finishes and the file settles: one run, over the whole set
        invoices.write_bytes(full)
        _age(invoices)
        requests, cursor = tick_sensor(defs, SENSOR_NAME, instance, cursor)
        assert len(requests) == 1
        assert execute_run_request(defs, requests[0], instance).success
        assert tick_sensor(defs, SENSOR_NAME, instance, cursor)[0] == []
    assert _features(warehouse) == 9685


def test_a_header_with_an_extra_column_is_a_bad_file_and_the_features_stay(
    real_extracts, paths, warehouse
):
    assert materialize(paths, warehouse).success
    assert _features(warehouse) == 9685
    text = (real_extracts / "invoices.csv").read_text().replace(
        "payment_dates\n", "payment_dates,notes\n", 1)  # rows keep four fields
    write_csv(real_extracts, "invoices.csv", text)
    result = materialize(paths, warehouse, raise_on_error=False)
    assert not result.success  # before the fix: success, every row rejected, 0 features
    message = _failure(result)
    assert "invoices.csv" in message and "unexpected column(s) notes" in message
    reason = (paths.landing("retail") / "_rejected" / "invoices.csv.reason.txt").read_text()
    assert reason.startswith("invoices.csv: unexpected column(s) notes")
    assert not result.asset_materializations_for_node("late_payments__invoice_features")
    assert _features(warehouse) == 9685  # the good features are still published


@pytest.mark.parametrize(("header", "said"), [
    ("invoice_id,account_id,issued_on,payment_dates", "missing column(s) date_issued; "
     "unexpected column(s) issued_on"),
    ("invoice_id,account_id,date_issued,payment_dates,Invoice_ID ", "repeated column(s)"),
])
def test_a_renamed_or_repeated_column_is_a_bad_file_naming_it(header, said):
    with pytest.raises(BadExtractFile) as caught:
        match_header(INVOICES, "invoices.csv", header.split(","))
    assert str(caught.value).startswith(f"invoices.csv: {said}")
    # order, case and stray spaces are not a problem
    names = [" Payment_Dates", "DATE_ISSUED", "account_id ", "invoice_id"]
    assert set(match_header(INVOICES, "invoices.csv", names)) == {
        "payment_dates", "date_issued", "account_id", "invoice_id"}


def test_a_link_to_outside_the_landing_folder_is_moved_aside_unread(
    real_extracts, paths, warehouse, tmp_path
):
    secret = tmp_path / "hostname"
    secret.write_text("SECRET-HOST-NAME\n")
    (real_extracts / "accounts.csv").unlink()
    (real_extracts / "accounts.csv").symlink_to(secret)
    result = materialize(paths, warehouse, raise_on_error=False)
    assert not result.success
    assert "accounts.csv: a symbolic link to outside landing/retail/" in _failure(result)
    rejected = paths.landing("retail") / "_rejected"
    reason = (rejected / "accounts.csv.reason.txt").read_text()
    assert "symbolic link" in reason
    assert "SECRET" not in reason  # before the fix: the link's content was quoted here
    assert (rejected / "accounts.csv").is_symlink() and secret.read_text().startswith("SECRET")
    folder = paths.landing_folder("retail")
    (real_extracts / "accounts.csv").symlink_to(secret)
    assert "outside" in folder.unready(["accounts.csv"])["accounts.csv"]


def test_implausible_dates_are_rejected_rows_with_the_reason(real_extracts, paths, warehouse):
    soon = (date.today() + timedelta(days=30)).isoformat()
    with (real_extracts / "invoices.csv").open("a") as out:  # lines 9687..9692
        out.write("900001,1,9999-12-31,\n900002,1,1999-12-31,\n900003,1,2021-01-01,9999-12-31\n"
                  f"900004,1,2021-01-01,2021-02-01;0202-02-01\n900005,1,{soon},\n"
                  "900006,1,2021-01-01,2021-01-20\n")
    with (real_extracts / "accounts.csv").open("a") as out:  # line 402
        out.write("9001,Old,x,y,1,M,1899-01-01\n")
    assert materialize(paths, warehouse).success
    with warehouse.get_connection() as conn:
        rejected = conn.execute(
            "SELECT file, line, reason FROM late_payments.rejected_rows ORDER BY file, line"
        ).fetchall()
        staged = conn.execute("SELECT invoice_id FROM late_payments.stg_invoices "
                              "WHERE invoice_id > 900000 ORDER BY 1").fetchall()
    assert rejected == [
        ("accounts.csv", 402, "joining_date out of range: 1899-01-01"),
        ("invoices.csv", 9687, "date_issued out of range: 9999-12-31"),
        ("invoices.csv", 9688, "date_issued out of range: 1999-12-31"),
        ("invoices.csv", 9689, "payment_dates out of range: 9999-12-31"),
        ("invoices.csv", 9690, "payment_dates out of range: 2021-02-01;0202-02-01"),
    ]
    assert staged == [(900005,), (900006,)]  # within a year of the load is plausible


def test_a_latin1_byte_rejects_its_row_and_a_line_over_the_limit_its_file(
    real_extracts, paths, warehouse, monkeypatch
):
    """Issue 21: one bad byte is one rejected row (DuckDB's reader judges each row); a line
    over LANDING_MAX_LINE_BYTES moves the file aside naming the line, read through in
    chunks, never whole (DuckDB would drop a line longer than its buffer without a word)."""
    invoices = real_extracts / "invoices.csv"
    lines = invoices.read_bytes().split(b"\n")
    lines[5] = lines[5].replace(b",", b"\xe9,", 1)  # line 6
    invoices.write_bytes(b"\n".join(lines))
    assert materialize(paths, warehouse).success
    with warehouse.get_connection() as conn:
        assert conn.execute("SELECT line, reason FROM late_payments.rejected_rows").fetchall() == [
            (6, "Invalid unicode (byte sequence mismatch) detected. This file is not utf-8 "
                "encoded.")]
    published = _features(warehouse)
    assert published == 9685 - 1
    monkeypatch.setenv("LANDING_MAX_LINE_BYTES", "1000")
    lines[5] = lines[5] + b"x" * 5000
    invoices.write_bytes(b"\n".join(lines))
    result = materialize(paths, warehouse, raise_on_error=False)
    assert not result.success
    assert "invoices.csv: line 6 is 5," in _failure(result)
    reason = (paths.landing("retail") / "_rejected" / "invoices.csv.reason.txt").read_text()
    assert reason.startswith("invoices.csv: line 6 is 5,0") and "over the limit of 1,000" in reason
    assert _features(warehouse) == published  # the features stay
