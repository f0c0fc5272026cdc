"""The change stream's features equal the batch pipeline's at every applied batch: random
sequences of inserts, updates and deletes on all four tables (hypothesis), rendered as
Debezium events, applied batch by batch (`apply_batch`), compared after each batch with the
extract path's features on the same source state. No server: the Kafka and Debezium legs
are tested in test_cdc_stream.py."""

from __future__ import annotations

import tempfile
from datetime import date, timedelta
from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from assets.late_payments.cdc_store import CDC_FEATURES, CDC_TABLES, apply_batch
from assets.late_payments.changes import DecodedBatch, decode
from resources import Warehouse
from resources.sql import transaction
from tests.late_payments.cdc_model import (
    CHANGE,
    DAY0,
    SourceModel,
    envelope,
    key_of,
    oracle_features,
)


def _apply(conn, model: SourceModel, changes, offsets: dict) -> DecodedBatch:
    batch = DecodedBatch()
    for table, action, row in changes:
        topic = f"retail.public.{table}"
        if action == "upsert":
            event = model.upsert(table, row)
        else:
            event = model.delete(table, key_of(table, row))
        if event is None:
            continue
        op, before, after = event
        offset = offsets.setdefault(topic, {}).get("0", 0)
        decode(batch, topic, 0, offset, envelope(op, before, after, table))
        offsets[topic]["0"] = offset + 1
    return batch


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    batches=st.lists(st.lists(CHANGE, max_size=25), min_size=1, max_size=4),
    days=st.lists(st.one_of(st.integers(0, 3), st.integers(0, 40)), min_size=4, max_size=4),
)
def test_equal_to_the_batch_pipeline_after_every_batch(batches, days):
    with tempfile.TemporaryDirectory() as tmp:
        tmp_path = Path(tmp)
        model, offsets = SourceModel(), {}
        warehouse = Warehouse(database=str(tmp_path / "cdc.duckdb"))
        as_of = DAY0 + timedelta(days=200)
        for n, changes in enumerate(batches):
            as_of += timedelta(days=days[n])  # the daily as-of step between batches
            with warehouse.get_connection(CDC_TABLES) as conn:
                batch = _apply(conn, model, changes, offsets)
                with transaction(conn):
                    apply_batch(conn, batch, offsets, as_of)
                got = conn.execute(f"SELECT * FROM {CDC_FEATURES} ORDER BY inv_id").fetchall()
            assert got == oracle_features(tmp_path / f"b{n}", model, as_of), f"after batch {n}"


def test_poison_and_contract_breaking_events_are_kept_with_a_reason(tmp_path):
    warehouse = Warehouse(database=str(tmp_path / "cdc.duckdb"))
    batch = DecodedBatch()
    decode(batch, "retail.public.invoices", 0, 0, b"not json")
    decode(batch, "retail.public.invoices", 0, 1, b'{"op": "x"}')
    decode(batch, "retail.public.coupons", 0, 0, b'{"op": "c", "after": {}}')
    bad = envelope("c", None, {"invoice_id": 7, "account_id": 1,
                               "date_issued": date(1990, 1, 1), "payment_dates": None,
                               "new_column": "ignored"}, "invoices")
    decode(batch, "retail.public.invoices", 0, 2, bad)
    with warehouse.get_connection(CDC_TABLES) as conn:
        with transaction(conn):
            applied = apply_batch(conn, batch, {"retail.public.invoices": {"0": 3}}, DAY0)
        reasons = dict(conn.execute(
            'SELECT "offset", reason FROM late_payments_cdc.rejected_changes '
            "WHERE topic = 'retail.public.invoices'").fetchall())
        assert conn.execute(f"SELECT count(*) FROM {CDC_FEATURES}").fetchone()[0] == 0
    assert applied.rejected == 4
    assert reasons[0].startswith("not JSON")
    assert reasons[1].startswith("not a Debezium change event")
    assert reasons[2] == "date_issued out of range: 1990-01-01"


def test_the_daily_step_flips_only_unpaid_invoices_crossing_30_days(tmp_path):
    model, offsets = SourceModel(), {}
    warehouse = Warehouse(database=str(tmp_path / "cdc.duckdb"))
    as_of = DAY0 + timedelta(days=100)
    changes = [("accounts", "upsert", {"account_id": 1, "joining_date": DAY0})] + [
        ("invoices", "upsert", {"invoice_id": n, "account_id": 1, "payment_dates": None,
                                "date_issued": as_of - timedelta(days=29 + n)})
        for n in range(4)  # issued 29, 30, 31, 32 days before the first as-of date
    ]
    with warehouse.get_connection(CDC_TABLES) as conn:
        for step, changes_now in enumerate([changes, [], []]):
            batch = _apply(conn, model, changes_now, offsets)
            with transaction(conn):
                applied = apply_batch(conn, batch, offsets, as_of + timedelta(days=step))
            late = dict(conn.execute(f"SELECT inv_id, is_late FROM {CDC_FEATURES}").fetchall())
            assert late == {n: (1 if 29 + n + step > 30 else None) for n in range(4)}
            assert applied.crossed == (0 if step == 0 else 1)
