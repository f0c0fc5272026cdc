"""Seconds from a change committed in the source database to the right features, under the
running daemon: `python -m bench.freshness cdc` (this module's `main`).

Servers as the tests start them (tests/servers: PostgreSQL with `wal_level=logical`, Kafka,
Kafka Connect with Debezium), the platform as `make run` starts it (bench/freshness.py) with
`KAFKA_BOOTSTRAP_SERVERS` and `RETAIL_CDC_TOPIC_PREFIX=retail`. The database is seeded with
the real extracts; then, each clock started at the source's COMMIT (for the first load, at
the connector's registration) and stopped when `late_payments_cdc.invoice_features` shows
the change, polled every 0.5 s:

- first load: the Debezium snapshot of the 63,466 rows -> all 9,685 feature rows;
- one change: an invoice paid on time becomes paid 60 days late (`is_late` 0 -> 1);
- a burst of 10,000 changes in one transaction: 2,000 new invoices with 4 lines each.

After each, the whole table is compared with the batch pipeline run on a dump of the
database (as of today, as the runs): the clock stops at the right answer, not a partial one.
"""

from __future__ import annotations

import secrets
import tempfile
import time
from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import duckdb

from assets.late_payments.cdc_store import CDC_FEATURES
from assets.shared import md_table
from bench.freshness import POLL_SECONDS, Platform, start_platform
from cli import cdc, retail_db
from resources.lib.retail_source import dump_extracts
from resources.retail_db import RetailDb
from tests.late_payments.cdc_model import batch_features
from tests.late_payments.conftest import REAL_EXTRACTS
from tests.servers.kafka import start_kafka
from tests.servers.kafka_connect import PASSWORD_ENV, start_kafka_connect
from tests.servers.postgres import start_postgres

TARGETS = {"first load": 60, "one change": 30, "burst of 10,000 changes": 60}


def features(platform: Platform, sql: str = f"SELECT * FROM {CDC_FEATURES} ORDER BY inv_id",
             params: list | None = None) -> list | None:
    """A read of the platform's warehouse; None while a run holds its write lock."""
    try:
        with duckdb.connect(str(platform.data / "warehouse.duckdb"), read_only=True) as conn:
            return conn.execute(sql, params or []).fetchall()
    except duckdb.Error:
        return None


def clock(check: Callable[[], bool], started: float, timeout: float = 300) -> float:
    while not check():
        if time.monotonic() - started > timeout:
            raise TimeoutError("the features did not show the change")
        time.sleep(POLL_SECONDS)
    return time.monotonic() - started


def expected(db: RetailDb, tmp: Path) -> list[tuple]:
    out = Path(tempfile.mkdtemp(dir=tmp))
    with db.connection() as conn:
        dump_extracts(conn, out / "extracts")
    return batch_features(out / "extracts", out, datetime.now(UTC).date())


def commit(db: RetailDb, statements: list[tuple[str, tuple]]) -> float:
    """Run `statements` in one transaction; the monotonic time of its COMMIT."""
    with db.connection() as conn:
        cur = conn.cursor()
        for sql, params in statements:
            cur.executemany(sql, params) if isinstance(params, list) else cur.execute(sql, params)
    return time.monotonic()


def _burst() -> list[tuple[str, list]]:
    issued = date.today() - timedelta(days=40)
    invoices = [(1_000_000 + n, 1 + n % 200, issued, None) for n in range(2000)]
    lines = [(1_000_000 + n, sku, 1 + n % 3) for n in range(2000)
             for sku in ("0-365-25576-9", "1-4257-3976-8", "0-493-95641-7", "1-01-376732-2")]
    return [("INSERT INTO invoices VALUES (%s, %s, %s, %s)", invoices),
            ("INSERT INTO invoice_line_items VALUES (%s, %s, %s)", lines)]


def scenarios(platform: Platform, db: RetailDb, connect, kafka, tmp: Path) -> list[tuple]:
    rows = []
    started = time.monotonic()
    cdc.register(connect.url, cdc.connector_config(db.url, kafka.bootstrap), cdc.DEFAULT_NAME)
    answer = expected(db, tmp)
    rows.append(("first load", "snapshot of 63,466 rows", clock(
        lambda: features(platform) == answer, started)))
    invoice, issued = next((r[0], r[2]) for r in answer_rows(db) if r[3])
    late = (issued + timedelta(days=60)).isoformat()
    at = commit(db, [("UPDATE invoices SET payment_dates = %s WHERE invoice_id = %s",
                      (late, invoice))])
    probe = f"SELECT is_late FROM {CDC_FEATURES} WHERE inv_id = ?"
    seconds = clock(lambda: features(platform, probe, [invoice]) == [(1,)], at)
    assert features(platform) == expected(db, tmp), "one change: not the batch answer"
    rows.append(("one change", "an invoice paid late", seconds))
    at = commit(db, _burst())
    answer = expected(db, tmp)
    seconds = clock(lambda: features(platform) == answer, at)
    rows.append(("burst of 10,000 changes", "2,000 invoices + 8,000 lines, one commit",
                 seconds))
    return rows


def answer_rows(db: RetailDb) -> list[tuple]:
    """Invoices paid within 30 days: (id, account, issued, paid_on-text)."""
    with db.connection() as conn:
        cur = conn.cursor()
        cur.execute("SELECT invoice_id, account_id, date_issued, payment_dates FROM invoices "
                    "WHERE payment_dates IS NOT NULL ORDER BY invoice_id LIMIT 50")
        return [r for r in cur.fetchall()
                if (date.fromisoformat(r[3]) - r[2]).days <= 30]


def main() -> None:
    password = secrets.token_urlsafe(16)
    pg = start_postgres(logical=True)
    pg.add_password_role("retail", password)
    kafka = start_kafka()
    connect = start_kafka_connect(kafka.bootstrap, env={PASSWORD_ENV: password})
    db = RetailDb(url=pg.create_database(prefix="retail", owner="retail"))
    retail_db.seed(db, extracts=REAL_EXTRACTS)
    with tempfile.TemporaryDirectory() as tmp:
        platform = start_platform(Path(tmp), KAFKA_BOOTSTRAP_SERVERS=kafka.bootstrap,
                                  RETAIL_CDC_TOPIC_PREFIX="retail")
        try:
            rows = scenarios(platform, db, connect, kafka, Path(tmp))
        finally:
            for proc in platform.procs:
                proc.terminate()
            for proc in platform.procs:
                proc.wait(timeout=60)
            for server in (connect, kafka, pg):
                server.close()
    print(md_table(["cdc scenario", "change", "seconds to the right features", "target"],
                   [(n, what, f"{s:.1f}", f"<= {TARGETS[n]}") for n, what, s in rows]))


if __name__ == "__main__":
    main()
