"""Property: after every file, the incrementally kept aggregate equals a full GROUP BY, and
the raw table holds the latest sync of every invoice."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from decimal import Decimal

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from assets.invoices.parse import parse_invoice_file
from assets.invoices.store import SCHEMA, open_store
from cli.generators.invoices import write_invoice_file
from resources.sql import ensure_schemas
from tests.invoices.conftest import aggregate, full_recompute, uid

BASE = date(2024, 1, 1)

invoice_rows = st.tuples(
    st.integers(0, 12),  # invoice id from a small pool: corrections and duplicates happen
    st.sampled_from(["v1", "v2", "v3"]),
    st.integers(0, 6),  # creation day offset
    st.decimals(min_value=-50, max_value=500, places=2, allow_nan=False, allow_infinity=False),
)
files = st.lists(
    st.tuples(st.integers(7, 12), st.lists(invoice_rows, max_size=8)),  # sync offset, rows
    min_size=1,
    max_size=6,
)


@settings(max_examples=25, deadline=None, suppress_health_check=list(HealthCheck))
@given(sequence=files)
def test_aggregate_equals_full_recompute_after_every_file(invoices_env, tmp_path, sequence):
    model: dict[str, tuple] = {}  # invoice -> (synced_on, arrival, venue, date, total)
    with invoices_env.store() as store:
        store.execute("DROP SCHEMA IF EXISTS invoices CASCADE")
        ensure_schemas(store.conn, None, [SCHEMA], store.dialect)
        for arrival, (sync_offset, rows) in enumerate(sequence):
            sync = BASE + timedelta(days=sync_offset)
            path = write_invoice_file(
                tmp_path / f"invoices_{sync}_{arrival}.csv",
                [
                    [venue, uid(n), datetime.combine(BASE + timedelta(days=d), datetime.min.time())
                     .replace(hour=n % 24), str(total)]
                    for n, venue, d, total in rows
                ],
            )
            store.apply_file(parse_invoice_file(path, sync), path.name, f"h{arrival}", sync)
            for n, venue, d, total in rows:  # later rows of a file win, later syncs win
                old = model.get(uid(n))
                if old is None or old[0] <= sync:
                    model[uid(n)] = (sync, arrival, venue, BASE + timedelta(days=d), total)
            assert aggregate(store) == full_recompute(store)
            expected: dict = {}
            for _, _, venue, day, total in model.values():
                amount, count = expected.get((venue, day), (Decimal(0), 0))
                expected[(venue, day)] = (amount + total, count + 1)
            assert aggregate(store) == expected
            raw = store.execute("SELECT COUNT(*) FROM invoices.raw_invoices").fetchone()[0]
            assert raw == len(model)


def test_replaying_a_file_changes_nothing(invoices_env, tmp_path):
    path = write_invoice_file(
        tmp_path / "invoices_2024-01-09.csv",
        [["v1", uid(1), "2024-01-02 10:00:00", "10.00"],
         ["v2", uid(2), "2024-01-03 11:00:00", "-4.50"]],
    )
    with open_store(invoices_env.resources["invoices_db"]) as store:
        sync = date(2024, 1, 9)
        first = store.apply_file(parse_invoice_file(path, sync), path.name, "abc", sync)
        before = store.execute(
            "SELECT * FROM invoices.venue_daily_totals ORDER BY 1, 2").fetchall()
        again = store.apply_file(parse_invoice_file(path, sync), path.name, "abc", sync)
        after = store.execute("SELECT * FROM invoices.venue_daily_totals ORDER BY 1, 2").fetchall()
    assert first.rows_loaded == 2 and again.already_loaded
    assert before == after


def test_older_sync_arriving_late_does_not_override_newer(invoices_env, tmp_path):
    newer = write_invoice_file(tmp_path / "invoices_2024-01-10.csv",
                               [["v1", uid(7), "2024-01-02 10:00:00", "30.00"]])
    older = write_invoice_file(tmp_path / "invoices_2024-01-08.csv",
                               [["v2", uid(7), "2024-01-01 10:00:00", "99.00"]])
    with invoices_env.store() as store:
        store.apply_file(parse_invoice_file(newer, date(2024, 1, 10)), newer.name, "n",
                         date(2024, 1, 10))
        outcome = store.apply_file(parse_invoice_file(older, date(2024, 1, 8)), older.name, "o",
                                   date(2024, 1, 8))
        assert outcome.rows_loaded == 0 and outcome.rows_unchanged == 1
        assert aggregate(store) == {("v1", date(2024, 1, 2)): (Decimal("30.00"), 1)}
