"""Published venue totals (what the API and the page read) equal the committed tables, are
rewritten only for the months a run touched, and are repaired by re-running a partition.

Each test runs on the embedded warehouse and on the real PostgreSQL fixture."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pyarrow.parquet as pq
from fastapi.testclient import TestClient

from api.main import create_app
from cli.generators.invoices import write_invoice_file
from resources.lib.serving import INVOICE_TOTALS, INVOICE_VENUES, answer_file, lake_root
from tests.invoices.conftest import uid
from tests.invoices.test_reliability import load


def month_file(data_dir, month: str):
    return answer_file(lake_root(data_dir), INVOICE_TOTALS, month).local()


def published(env, month: str) -> list[tuple]:
    rows = pq.read_table(month_file(env.data_dir, month)).to_pylist()
    return [(r["venue_id"], r["created_date"], r["total_amount"], r["invoice_count"],
             r["files"], r["last_file"]) for r in rows]


def committed(env, first: str, last: str) -> list[tuple]:
    return [r[:4] for r in env.rows(
        "SELECT venue_id, created_date, total_amount, invoice_count"
        " FROM invoices.venue_daily_totals WHERE created_date BETWEEN %s AND %s ORDER BY 2, 1",
        (first, last))]


def test_published_months_equal_the_tables_and_follow_the_new_files(invoices_env):
    write_invoice_file(invoices_env.landing / "invoices_2024-02-02.csv", [
        ["v1", uid(1), "2024-01-31 09:00:00", "10.00"],
        ["v2", uid(2), "2024-02-01 10:00:00", "5.50"],
        ["v1", uid(3), "2024-02-01 11:00:00", "1.25"],
    ])
    assert load(invoices_env, "2024-02-02").success
    january_rows = [("v1", date(2024, 1, 31), Decimal("10.00"), 1)]
    assert [r[:4] for r in published(invoices_env, "2024-01")] == committed(
        invoices_env, "2024-01-01", "2024-01-31") == january_rows
    assert published(invoices_env, "2024-02") == [
        ("v1", date(2024, 2, 1), Decimal("1.25"), 1, ["invoices_2024-02-02.csv"],
         "invoices_2024-02-02.csv"),
        ("v2", date(2024, 2, 1), Decimal("5.50"), 1, ["invoices_2024-02-02.csv"],
         "invoices_2024-02-02.csv"),
    ]
    january = month_file(invoices_env.data_dir, "2024-01").stat().st_mtime_ns

    # a correction of invoice 2 (moved to v3) and a new invoice, both in February only
    write_invoice_file(invoices_env.landing / "invoices_2024-02-03.csv", [
        ["v3", uid(2), "2024-02-01 10:00:00", "6.00"],
        ["v1", uid(4), "2024-02-01 12:00:00", "2.00"],
    ])
    assert load(invoices_env, "2024-02-03").success
    assert published(invoices_env, "2024-02") == [
        ("v1", date(2024, 2, 1), Decimal("3.25"), 2,
         ["invoices_2024-02-02.csv", "invoices_2024-02-03.csv"], "invoices_2024-02-03.csv"),
        ("v3", date(2024, 2, 1), Decimal("6.00"), 1, ["invoices_2024-02-03.csv"],
         "invoices_2024-02-03.csv"),
    ]  # v2 lost its only invoice: its date is gone from the table and from the file
    assert [r[:4] for r in published(invoices_env, "2024-02")] == committed(
        invoices_env, "2024-02-01", "2024-02-29")
    # January was not touched by the second file: not rewritten (cost follows new data)
    assert month_file(invoices_env.data_dir, "2024-01").stat().st_mtime_ns \
        == january
    venues_file = answer_file(lake_root(invoices_env.data_dir), INVOICE_VENUES).local()
    venues = pq.read_table(venues_file).to_pylist()
    assert [(v["venue_id"], v["first_date"], v["last_date"]) for v in venues] == [
        ("v1", date(2024, 1, 31), date(2024, 2, 1)), ("v2", date(2024, 2, 1), date(2024, 2, 1)),
        ("v3", date(2024, 2, 1), date(2024, 2, 1))]

    client = TestClient(create_app(str(invoices_env.data_dir)))
    answer = client.get("/invoices/venue-totals", params={
        "start": "2024-01-31", "end": "2024-02-01", "venue_id": "v1"}).json()
    assert [(r["created_date"], r["total_amount"], r["invoice_count"], r["last_file"])
            for r in answer] == [("2024-01-31", 10.0, 1, "invoices_2024-02-02.csv"),
                                 ("2024-02-01", 3.25, 2, "invoices_2024-02-03.csv")]


def test_rerunning_a_loaded_partition_republishes_its_months(invoices_env):
    """A crash after the commit and before the publication: the month file is missing or
    stale. Re-running the partition loads nothing again but publishes the months its
    files touched."""
    write_invoice_file(invoices_env.landing / "invoices_2024-03-01.csv", [
        ["v1", uid(1), "2024-02-28 09:00:00", "10.00"],
        ["v1", uid(2), "2024-03-01 09:00:00", "7.00"],
    ])
    assert load(invoices_env, "2024-03-01").success
    before = {m: published(invoices_env, m) for m in ("2024-02", "2024-03")}
    for month in before:
        month_file(invoices_env.data_dir, month).unlink()
    result = load(invoices_env, "2024-03-01")
    assert result.success
    assert invoices_env.rows("SELECT rows_loaded FROM invoices.file_ledger") == [(2,)]
    assert {m: published(invoices_env, m) for m in before} == before
