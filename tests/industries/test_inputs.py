"""Issue 21, industries: a byte that is not UTF-8 or a line over `LANDING_MAX_LINE_BYTES` in a
customer batch rejects that row (was: the whole batch moved aside), and in an order file it
is a rejected order, the file's later orders read and its position kept right."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from tests.industries.conftest import (
    build_hours,
    ingest,
    load_customers,
    order_line,
    query,
)

H1 = datetime.now(UTC).replace(minute=0, second=0, microsecond=0) - timedelta(hours=3)
HEADER = b"customer_id,company_name,specialized_industries\n"


def _customers(res) -> list[tuple]:
    return query(res, "SELECT customer_id, line_number FROM industries.customers ORDER BY 1")


def _rejected(res) -> list[tuple]:
    return query(res, "SELECT source_file, line_number, value, reason"
                      " FROM industries.rejected_customers ORDER BY 2")


def test_a_latin1_byte_in_a_customer_batch_rejects_its_row(res, tmp_path) -> None:
    landing = tmp_path / "landing/customers"
    landing.mkdir(parents=True)
    (landing / "customers_1.csv").write_bytes(
        HEADER + b"C1,One,Food\nC2,Caf\xe9 Sol,Food\nC3,Three,Cleaning\nC4,Four\n")
    assert load_customers(res).success
    assert not (landing / "_rejected").exists()
    assert _customers(res) == [("C1", 2), ("C3", 4)]
    assert _rejected(res) == [
        ("customers_1.csv", 3, "C2,Caf\\xe9 Sol,Food",
         "company_name: not UTF-8 text (byte 0xE9 at character 4)"),
        ("customers_1.csv", 5, "C4,Four", "expected 3 fields, found 2"),
    ]


def test_a_customer_line_over_the_limit_is_a_rejected_row(res, tmp_path, monkeypatch) -> None:
    monkeypatch.setenv("LANDING_MAX_LINE_BYTES", "1000")
    landing = tmp_path / "landing/customers"
    landing.mkdir(parents=True)
    (landing / "customers_1.csv").write_bytes(
        HEADER + b"C1,One,Food\nC2," + b"x" * 100_000 + b",Food\nC3,Three,Cleaning\n")
    assert load_customers(res).success
    assert _customers(res) == [("C1", 2), ("C3", 4)]
    (_, line, _, reason), = _rejected(res)
    assert line == 3 and reason.startswith("line 3 is 100,009 characters long, over the limit")


def test_an_order_line_over_the_limit_is_rejected_and_the_file_goes_on(
    res, tmp_path, monkeypatch
) -> None:
    monkeypatch.setenv("LANDING_MAX_LINE_BYTES", "1000")
    path = tmp_path / "landing/orders/live.jsonl"
    path.parent.mkdir(parents=True)
    huge = '{"order_id": "big", "note": "' + "x" * 50_000 + '"}'
    path.write_text("\n".join([order_line("a", "C1", 10, H1), huge,
                               order_line("b", "C1", 5, H1)]) + "\n")
    assert ingest(res).success
    with path.open("a") as fh:  # appended later: read from the stored position
        fh.write(order_line("c", "C1", 1, H1) + "\n")
    assert ingest(res).success
    build_hours(res, H1, H1)
    assert query(res, "SELECT order_id FROM industries.orders ORDER BY 1") == [
        ("a",), ("b",), ("c",)]  # read once each: the position after the long line held
    (line, reason, raw), = query(res, "SELECT line_number, reason, raw"
                                      " FROM industries.rejected_orders")
    assert line == 2 and raw.startswith('{"order_id": "big"')
    assert reason == (f"record: line 2 is {len(huge) + 1:,} bytes long, over the limit of "
                      "1,000 (LANDING_MAX_LINE_BYTES); not read")
