"""Corrections that move invoices to another creation date (or venue) keep the aggregate
exact: the old date loses the invoice, the new one gains it, and a (venue, date) pair or a
whole date left without invoices has no row in `venue_daily_totals` (the store deletes the
pair whose count reaches 0). The usual dbt incremental model gets this wrong
(`bench/dbt_venue_totals.py`): it recomputes only the dates of the new rows."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from decimal import Decimal

from assets.invoices.parse import parse_invoice_file
from assets.invoices.store import SCHEMA
from cli.generators.invoices import write_invoice_file
from resources.sql import ensure_schemas
from tests.invoices.conftest import aggregate, full_recompute, uid

BASE = date(2024, 3, 1)
FIRST_SYNC, SECOND_SYNC = BASE + timedelta(days=14), BASE + timedelta(days=15)
Invoice = tuple[str, int, Decimal]  # venue, creation day offset, total


def first_file() -> dict[int, Invoice]:
    """120 invoices over 3 venues and days 0..9."""
    return {n: (f"v{n % 3}", n % 10, Decimal(n) + Decimal("0.25")) for n in range(120)}


def corrections(first: dict[int, Invoice]) -> dict[int, Invoice]:
    """~50 corrections: every invoice of day 9 moves to day 11 (the date empties), those of
    (v0, day 0) to day 12 (the pair empties, the date keeps other venues), others move
    to another of days 1..8 (some to another venue too), a few change venue only."""
    moved: dict[int, Invoice] = {}
    for n, (venue, day, total) in first.items():
        if day == 9:
            moved[n] = (venue, 11, total)
        elif day == 0 and venue == "v0":
            moved[n] = (venue, 12, total + 1)
        elif n <= 40:
            other = "v2" if venue == "v1" else "v1"
            moved[n] = (other if n % 7 == 0 else venue, 1 + (day + n % 4) % 8, total)
        elif n <= 46:
            moved[n] = ("v3", day, total - 1)
    return moved


def write(path, invoices: dict[int, Invoice]):
    return write_invoice_file(path, [
        [venue, uid(n), datetime.combine(BASE + timedelta(days=day), datetime.min.time())
         .replace(hour=n % 24).isoformat(sep=" "), str(total)]
        for n, (venue, day, total) in invoices.items()])


def expected_totals(invoices: dict[int, Invoice]) -> dict[tuple[str, date], tuple]:
    totals: dict[tuple[str, date], tuple] = {}
    for venue, day, total in invoices.values():
        amount, count = totals.get((venue, BASE + timedelta(days=day)), (Decimal(0), 0))
        totals[(venue, BASE + timedelta(days=day))] = (amount + total, count + 1)
    return totals


def test_date_moving_corrections_keep_the_aggregate_exact(invoices_env, tmp_path):
    first = first_file()
    moved = corrections(first)
    assert 45 <= len(moved) <= 60 and sum(1 for n in moved if moved[n][1] != first[n][1]) >= 40
    with invoices_env.store() as store:
        store.execute("DROP SCHEMA IF EXISTS invoices CASCADE")
        ensure_schemas(store.conn, None, [SCHEMA], store.dialect)
        for invoices, sync in ((first, FIRST_SYNC), (moved, SECOND_SYNC)):
            path = write(tmp_path / f"invoices_{sync}.csv", invoices)
            outcome = store.apply_file(parse_invoice_file(path, sync), path.name, str(sync), sync)
        assert outcome.rows_loaded == len(moved)
        touched = {(d - BASE).days for d in outcome.dates_touched}
        assert {0, 9, 11, 12} <= touched  # the dates left, not only the dates arrived at
        totals = aggregate(store)
        assert totals == full_recompute(store)
        assert totals == expected_totals({**first, **moved})
        assert store.mismatches(BASE, SECOND_SYNC) == []
        assert ("v0", BASE) not in totals  # the emptied pair: row removed, not 0
        assert not any(day == BASE + timedelta(days=9) for _, day in totals)  # emptied date
        assert store.scalar(
            "SELECT COUNT(*) FROM invoices.venue_daily_totals WHERE invoice_count = 0") == 0
