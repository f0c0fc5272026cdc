"""Against the real Kafka broker: Debezium-shaped change events on the four topics -> the
sensor asks for a batch -> the run applies it; a crash after the apply and before the commit
applies nothing twice; a poison message is kept with its reason and the stream goes on.
(The events here are written by the test; test_cdc_debezium.py has Debezium write them.)"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

import dagster as dg
import pytest

from assets.late_payments.cdc import cdc_invoice_features
from assets.late_payments.cdc_store import CDC_FEATURES, M
from cli.runner import drain_sensor
from resources import KafkaResource, RetailChanges, Warehouse
from sensors.late_payments import CDC_SENSOR_NAME, late_payments_cdc_sensor
from tests.late_payments.cdc_model import DAY0, SourceModel, envelope, oracle_features

pytestmark = pytest.mark.integration
AS_OF = datetime.now(UTC).date()  # what a run asked by the sensor uses


@pytest.fixture
def stream(kafka_bootstrap, tmp_path):
    prefix = f"retail{uuid.uuid4().hex[:8]}"
    kafka = KafkaResource(bootstrap_servers=kafka_bootstrap)
    res = {"warehouse": Warehouse(database=str(tmp_path / "warehouse.duckdb")), "kafka": kafka,
           "retail_changes": RetailChanges(topic_prefix=prefix)}
    return prefix, kafka, res


def _produce(kafka, prefix: str, model: SourceModel, changes: list[tuple]) -> None:
    producer = kafka.producer()
    for table, row in changes:
        op, before, after = model.upsert(table, row) if isinstance(row, dict) else \
            model.delete(table, row)
        producer.produce(f"{prefix}.public.{table}", envelope(op, before, after, table))
    producer.flush(30)


def _features(res) -> list[tuple]:
    with res["warehouse"].get_connection() as conn:
        return conn.execute(f"SELECT * FROM {CDC_FEATURES} ORDER BY inv_id").fetchall()


def _defs(res) -> dg.Definitions:
    return dg.Definitions(assets=[cdc_invoice_features], sensors=[late_payments_cdc_sensor],
                          resources=res)


def test_sensor_applies_batches_and_a_crash_before_commit_applies_once(stream, tmp_path):
    prefix, kafka, res = stream
    model = SourceModel()
    with dg.instance_for_test() as instance:
        _produce(kafka, prefix, model, [
            ("accounts", {"account_id": 1, "joining_date": DAY0}),
            ("skus", {"item_id": "A", "item_retail_price": "2.5000"}),
            *[("invoices", {"invoice_id": n, "account_id": 1, "payment_dates": None,
                            "date_issued": AS_OF - timedelta(days=10 * n)}) for n in range(1, 6)],
            *[("invoice_line_items", {"invoice_id": n, "item_id": "A", "quantity": n})
              for n in range(1, 6)],
        ])
        runs, _ = drain_sensor(_defs(res), CDC_SENSOR_NAME, instance)
        assert runs == 1
        assert _features(res) == oracle_features(tmp_path / "o1", model, AS_OF)
        runs, _ = drain_sensor(_defs(res), CDC_SENSOR_NAME, instance)
        assert runs == 0  # caught up: nothing to ask

        # invoice 3 moves to account 2, invoice 1 is paid late, a line changes, and poison
        _produce(kafka, prefix, model, [
            ("accounts", {"account_id": 2, "joining_date": DAY0 + timedelta(days=5)}),
            ("invoices", {"invoice_id": 3, "account_id": 2, "payment_dates": None,
                          "date_issued": AS_OF - timedelta(days=30)}),
            ("invoices", {"invoice_id": 1, "account_id": 1, "date_issued": AS_OF - timedelta(10),
                          "payment_dates": AS_OF.isoformat()}),
            ("invoice_line_items", (2, "A")),
        ])
        producer = kafka.producer()
        producer.produce(f"{prefix}.public.invoices", b"{not json")
        producer.flush(30)
        crashed = dg.materialize(
            [cdc_invoice_features], resources=res, instance=instance, raise_on_error=False,
            run_config={"ops": {"late_payments_cdc__invoice_features": {"config": {
                "as_of": AS_OF.isoformat(), "crash_after_apply": True}}}},
        )
        assert not crashed.success
        expected = oracle_features(tmp_path / "o2", model, AS_OF)
        assert _features(res) == expected  # applied, durable ...
        runs, _ = drain_sensor(_defs(res), CDC_SENSOR_NAME, instance)
        assert runs == 1  # ... Kafka's offsets lag: one more run, which applies nothing new
        assert _features(res) == expected
        with res["warehouse"].get_connection() as conn:
            rejected = conn.execute(f"SELECT reason FROM {M}.rejected_changes").fetchall()
        assert len(rejected) == 1 and rejected[0][0].startswith("not JSON")

        # a day later: invoice 3 (issued 30 days ago, unpaid) turns late with no change event
        later = AS_OF + timedelta(days=1)
        result = dg.materialize([cdc_invoice_features], resources=res, instance=instance,
                                run_config={"ops": {"late_payments_cdc__invoice_features": {
                                    "config": {"as_of": later.isoformat()}}}})
        assert result.success
        assert _features(res) == oracle_features(tmp_path / "o3", model, later)
        assert meta_late(res, 3) == 1
        meta = result.asset_materializations_for_node("late_payments_cdc__invoice_features")
        assert meta[0].metadata["events"].value == 0
        assert meta[0].metadata["unpaid_crossing_30_days"].value == 1


def meta_late(res, invoice: int) -> int | None:
    with res["warehouse"].get_connection() as conn:
        return conn.execute(f"SELECT is_late FROM {CDC_FEATURES} WHERE inv_id = ?",
                            [invoice]).fetchone()[0]
