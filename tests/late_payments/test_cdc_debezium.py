"""The whole change stream on real servers: PostgreSQL (logical) or MariaDB (row binlog) ->
Debezium on Kafka Connect -> Kafka -> `late_payments_cdc/invoice_features`, compared with the
batch pipeline run on a dump of the same database state: the real extracts as the snapshot,
then random inserts, updates and deletes on all four tables (hypothesis), a column added to a
source table, rows that break the contract."""

from __future__ import annotations

import itertools
import time
from datetime import UTC, date, datetime
from pathlib import Path

import dagster as dg
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from assets.late_payments.cdc import cdc_invoice_features
from assets.late_payments.cdc_store import CDC_FEATURES, M
from resources import KafkaResource, RetailChanges, Warehouse
from resources.lib.retail_source import dump_extracts
from resources.retail_db import RetailDb
from tests.late_payments.cdc_model import CHANGE, batch_features, key_of
from tests.servers.kafka_connect import read_events

pytestmark = pytest.mark.integration
KEYS = {"accounts": ["account_id"], "skus": ["item_id"], "invoices": ["invoice_id"],
        "invoice_line_items": ["invoice_id", "item_id"]}

def sentinels(n: int) -> dict[str, dict]:
    """A row per table changed by every catch-up (value n): seen on all four topics, it
    says Debezium has published everything committed before it."""
    return {
        "accounts": {"account_id": 999_999, "joining_date": date(2020, 1, 1),
                     "company_name": f"sync {n}"},
        "skus": {"item_id": "ZZZ", "item_retail_price": 1, "item_name": f"sync {n}"},
        "invoices": {"invoice_id": 999_999, "account_id": 999_999,
                     "date_issued": date(2020, 1, 1), "payment_dates": f"2020-02-{n % 28 + 1:02d}"},
        "invoice_line_items": {"invoice_id": 999_999, "item_id": "ZZZ", "quantity": n},
    }
MARKER = {"accounts": "company_name", "skus": "item_name", "invoices": "payment_dates",
          "invoice_line_items": "quantity"}
_counter = itertools.count(1)


class Stream:
    """One backend's source database, its connector, and the platform's side of it."""

    def __init__(self, source, kafka_bootstrap: str, tmp: Path) -> None:
        self.source, self.tmp, self.runs = source, tmp, 0
        self.db = RetailDb(url=source.db_url)
        self.kafka = KafkaResource(bootstrap_servers=kafka_bootstrap)
        self.res = {"warehouse": Warehouse(database=str(tmp / "warehouse.duckdb")),
                    "kafka": self.kafka,
                    "retail_changes": RetailChanges(topic_prefix=source.topic_prefix)}

    def execute(self, statements: list[tuple[str, tuple]]) -> None:
        with self.db.connection() as conn:
            cur = conn.cursor()
            for sql, params in statements:
                cur.execute(sql, params)

    def upsert(self, table: str, row: dict) -> tuple[str, tuple]:
        cols = list(row)
        marks = ", ".join(["%s"] * len(cols))
        keys = KEYS[table]
        rest = [c for c in cols if c not in keys] or keys[:1]
        if self.db.dialect == "postgresql":
            sets = ", ".join(f"{c} = EXCLUDED.{c}" for c in rest)
            sql = (f"INSERT INTO {table} ({', '.join(cols)}) VALUES ({marks}) "
                   f"ON CONFLICT ({', '.join(keys)}) DO UPDATE SET {sets}")
        else:
            sets = ", ".join(f"{c} = VALUES({c})" for c in rest)
            sql = f"INSERT INTO {table} ({', '.join(cols)}) VALUES ({marks}) " \
                  f"ON DUPLICATE KEY UPDATE {sets}"
        return sql, tuple(row.values())

    def delete(self, table: str, key: tuple) -> tuple[str, tuple]:
        where = " AND ".join(f"{c} = %s" for c in KEYS[table])
        return f"DELETE FROM {table} WHERE {where}", key

    def catch_up(self) -> dg.MaterializeResult:
        """Touch a sentinel row per table, wait until Debezium has published it (each topic
        is in commit order), then apply what is on the topics."""
        n = next(_counter)
        rows = sentinels(n)
        self.execute([self.upsert(table, row) for table, row in rows.items()])
        self.wait_for(rows)
        result = dg.materialize([cdc_invoice_features], resources=self.res)
        self.runs += 1
        return result.asset_materializations_for_node("late_payments_cdc__invoice_features")[0]

    def wait_for(self, rows: dict[str, dict], timeout: float = 60) -> None:
        topics = {self.source.topics[t]: t for t in rows}
        seen: dict[str, int] = {}
        deadline = time.monotonic() + timeout
        while topics:
            assert time.monotonic() < deadline, f"Debezium did not publish {sorted(topics)}"
            fresh = read_events(self.kafka.bootstrap, list(topics), start=seen)
            for topic, events in fresh.items():
                seen[topic] = seen.get(topic, 0) + len(events)
                column = MARKER[topics[topic]]
                want = str(rows[topics[topic]][column])
                if any(str((e.after or {}).get(column)) == want for e in events):
                    del topics[topic]
            time.sleep(0.2)

    def features(self) -> list[tuple]:
        with self.res["warehouse"].get_connection() as conn:
            return conn.execute(f"SELECT * FROM {CDC_FEATURES} ORDER BY inv_id").fetchall()

    def expected(self) -> list[tuple]:
        """The batch pipeline on a dump of the database now (as of today, as the runs)."""
        out = self.tmp / f"dump{next(_counter)}"
        with self.db.connection() as conn:
            dump_extracts(conn, out / "extracts")
        return batch_features(out / "extracts", out, datetime.now(UTC).date())


@pytest.fixture(params=["postgresql", "mariadb"])
def stream(request, cdc_source, kafka_bootstrap, tmp_path) -> Stream:
    """The real extracts, streaming (`generated` N invoices instead for a random test)."""
    generated = getattr(request, "function", None) is (
        test_random_changes_equal_the_batch_pipeline_at_every_catch_up)
    return Stream(cdc_source(request.param, generated=300 if generated else None),
                  kafka_bootstrap, tmp_path)


def test_snapshot_then_changes_equal_the_batch_pipeline(stream):
    """Each kind of change, a contract-breaking row, then a column added to a table."""
    first = stream.catch_up()  # the snapshot (real extracts) + the sentinels
    assert first.metadata["events"].value >= sum(stream.source.counts.values())
    assert first.metadata["dagster/row_count"].value == 9685 + 1
    assert stream.features() == stream.expected()
    # an invoice paid late, a line changed, an invoice moved, an account's joining date fixed,
    # a SKU repriced, an invoice and a line deleted; a row that breaks the contract
    stream.execute([
        ("UPDATE invoices SET payment_dates = %s WHERE invoice_id = %s", ("2021-12-31", 2)),
        ("UPDATE invoice_line_items SET quantity = quantity + 5 WHERE invoice_id = %s", (1,)),
        ("UPDATE invoices SET account_id = %s WHERE invoice_id = %s", (2, 3)),
        ("UPDATE accounts SET joining_date = %s WHERE account_id = %s", (date(2015, 1, 1), 4)),
        ("DELETE FROM invoices WHERE invoice_id = %s", (5,)),
        ("DELETE FROM invoice_line_items WHERE invoice_id = %s", (6,)),
        ("UPDATE invoice_line_items SET quantity = -1 WHERE invoice_id = %s", (7,)),
    ])
    second = stream.catch_up()
    assert second.metadata["rejected_events"].value >= 1
    # the accounts of invoices 1-7 and 2 (invoice 3's new one) + the sentinel's, of 201
    assert second.metadata["accounts_touched"].value <= 9
    assert stream.features() == stream.expected()
    # a SKU repriced: every account with an invoice with a line of it
    stream.execute([("UPDATE skus SET item_retail_price = item_retail_price + 1 "
                     "WHERE item_id = %s", ("0-365-25576-9",))])
    stream.catch_up()
    assert stream.features() == stream.expected()
    with stream.res["warehouse"].get_connection() as conn:
        reasons = conn.execute(f"SELECT DISTINCT reason FROM {M}.rejected_changes").fetchall()
    assert ("quantity out of range: -1",) in reasons

    # a column added to a source table does not stop the stream (ignored: not in the contract)
    stream.execute([("ALTER TABLE invoices ADD COLUMN channel VARCHAR(20)", ())])
    stream.execute([
        ("INSERT INTO invoices (invoice_id, account_id, date_issued, payment_dates, channel) "
         "VALUES (%s, %s, %s, %s, %s)", (500_000, 1, date(2021, 3, 1), None, "web")),
        ("UPDATE invoices SET channel = %s, payment_dates = %s WHERE invoice_id = %s",
         ("shop", "2021-09-01", 10)),
    ])
    third = stream.catch_up()
    assert third.metadata["rejected_events"].value == 0
    assert stream.features() == stream.expected()
    assert 500_000 in {row[0] for row in stream.features()}


@settings(max_examples=5, deadline=None, suppress_health_check=list(HealthCheck))
@given(changes=st.lists(CHANGE, min_size=1, max_size=30))
def test_random_changes_equal_the_batch_pipeline_at_every_catch_up(stream, changes):
    """One database across the examples: each adds its changes to the state the earlier
    examples left (300 generated invoices first)."""
    if not stream.runs:
        stream.catch_up()
    statements = []
    for table, action, row in changes:
        if action == "upsert":
            statements.append(stream.upsert(table, row))
        else:
            statements.append(stream.delete(table, key_of(table, row)))
    stream.execute(statements)
    stream.catch_up()
    assert stream.features() == stream.expected()
