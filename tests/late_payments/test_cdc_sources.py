"""The retail database as a change-data-capture source (issue 24, the source side), on
PostgreSQL and on MariaDB: the seeder and its dump, Debezium's snapshot and change events
in Kafka, and a restart of Kafka Connect that resumes from its stored offsets.

Servers: `pg_logical_server`, `mariadb_server`, `kafka_connect` (one worker for the session);
each test registers connectors of its own (own topic prefix, own database).
"""

from __future__ import annotations

import csv
import datetime as dt
import subprocess
import sys
from collections import Counter
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from assets.late_payments.extracts import EXTRACTS
from cli import cdc, retail_db
from resources.lib import retail_source
from resources.lib.retail_source import SCHEMA, TABLES
from resources.retail_db import RetailDb
from tests.late_payments.conftest import REAL_EXTRACTS
from tests.servers.kafka_connect import end_offsets, read_events

BACKENDS = ("postgresql", "mariadb")
ROOT = Path(__file__).resolve().parents[2]
EPOCH = dt.date(1970, 1, 1)
integration = pytest.mark.integration


def _typed(kind: str, value: Any) -> Any:
    """A column value as Python sees it, from a CSV field (text) or an event (JSON)."""
    if value is None or value == "":
        return None
    if kind == "BIGINT":
        return int(value)
    if kind == "DATE":  # ISO text in a CSV; days since 1970-01-01 in an event (connect mode)
        return (
            EPOCH + dt.timedelta(days=value)
            if isinstance(value, int)
            else (dt.date.fromisoformat(value.strip()))
        )
    if kind.startswith("NUMERIC"):  # text in both (decimal.handling.mode=string)
        return Decimal(value)
    return value


def csv_rows(folder: Path, table: str) -> Counter:
    """The rows of one extract, typed, as a multiset; checks the header is the table's."""
    spec = SCHEMA[table]
    with open(folder / f"{table}.csv", newline="", encoding="utf-8") as f:
        reader = csv.reader(f)
        assert next(reader) == list(spec.names)
        return Counter(
            tuple(_typed(k, v) for (_, k), v in zip(spec.columns, row, strict=True))
            for row in reader
        )


def event_row(table: str, image: dict[str, Any]) -> tuple:
    return tuple(_typed(kind, image[name]) for name, kind in SCHEMA[table].columns)


def need_real_extracts() -> Path:
    if not REAL_EXTRACTS.is_dir():
        pytest.skip(f"real extracts not found at {REAL_EXTRACTS}")
    return REAL_EXTRACTS


def url_for(backend: str, request: pytest.FixtureRequest) -> str:
    return request.getfixturevalue("pg_logical_url" if backend == "postgresql" else "mariadb_url")


# --- without servers ----------------------------------------------------------------------


def test_tables_are_the_extract_contract() -> None:
    """The source tables have the extracts' columns, in the files' order."""
    assert TABLES == tuple(EXTRACTS)
    for name, extract in EXTRACTS.items():
        assert SCHEMA[name].names == tuple(c.name for c in extract.columns)
    assert SCHEMA["invoice_line_items"].ddl() == (
        "CREATE TABLE invoice_line_items (invoice_id BIGINT NOT NULL, item_id VARCHAR(64) "
        "NOT NULL, quantity BIGINT, PRIMARY KEY (invoice_id, item_id))"
    )
    assert SCHEMA["skus"].ddl() == (
        "CREATE TABLE skus (item_id VARCHAR(64) PRIMARY KEY, item_name TEXT, item_description "
        "TEXT, item_cost_price NUMERIC(18,4), item_retail_price NUMERIC(18,4))"
    )


def test_real_line_items_have_no_duplicate_key() -> None:
    """(invoice_id, item_id) is a key of the real extract: no surrogate key needed."""
    rows = csv_rows(need_real_extracts(), "invoice_line_items")
    pairs = Counter((inv, item) for (inv, item, _), n in rows.items() for _ in range(n))
    assert max(pairs.values()) == 1


def test_connector_configs() -> None:
    pg = cdc.connector_config("postgresql://retail:pw@127.0.0.1:5433/shop", "k:9092", name="a")
    assert pg["connector.class"] == "io.debezium.connector.postgresql.PostgresConnector"
    assert pg["plugin.name"] == "pgoutput" and pg["slot.name"] == pg["publication.name"] == "a"
    assert pg["table.include.list"] == (
        "public.accounts,public.skus,public.invoices,public.invoice_line_items"
    )
    assert pg["database.password"] == "${env:RETAIL_DB_PASSWORD}"
    my = cdc.connector_config("mysql://retail:pw@h:3307/shop", "k:9092", name="b")
    assert my["connector.class"] == "io.debezium.connector.mysql.MySqlConnector"
    assert my["table.include.list"].startswith("shop.accounts,")
    assert my["schema.history.internal.kafka.bootstrap.servers"] == "k:9092"
    assert int(my["database.server.id"]) > 1
    for config in (pg, my):
        assert "pw" not in config.values()
        assert {
            k: config[k]
            for k in (
                "topic.prefix",
                "decimal.handling.mode",
                "time.precision.mode",
                "tombstones.on.delete",
                "snapshot.mode",
            )
        } == {
            "topic.prefix": "retail",
            "decimal.handling.mode": "string",
            "time.precision.mode": "connect",
            "tombstones.on.delete": "false",
            "snapshot.mode": "initial",
        }
    assert cdc.topics("mariadb://u:p@h/shop")["skus"] == "retail.shop.skus"
    assert cdc.topics("postgresql://u@h/shop", "x")["skus"] == "x.public.skus"
    assert "pw" not in RetailDb(url="mysql://retail:pw@h:3307/shop").describe()
    assert RetailDb(url="mariadb://retail:pw@h:3307/shop").dialect == "mysql"


# --- seeding and dumping ------------------------------------------------------------------


@integration
@pytest.mark.parametrize("backend", BACKENDS)
def test_seed_and_dump_round_trip(backend: str, request, tmp_path: Path) -> None:
    """Seeded counts are the CSV counts; the dump has the real files' headers and rows."""
    real = need_real_extracts()
    url = url_for(backend, request)
    db = RetailDb(url=url)
    loaded = retail_db.seed(db, extracts=real)
    expected = {t: csv_rows(real, t) for t in TABLES}
    assert loaded.counts == {t: sum(rows.values()) for t, rows in expected.items()}
    with db.connection() as conn:
        assert retail_source.count_rows(conn) == loaded.counts
    out = subprocess.run(
        [sys.executable, "-m", "cli.retail_db", "dump", "--url", url, "--out", str(tmp_path)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    ).stdout
    assert url.split("@")[0].split(":")[-1] not in out  # no password printed
    for table in TABLES:
        assert csv_rows(tmp_path, table) == expected[table], table
    # the integer and date columns come back byte for byte (decimals gain the 4 stored places)
    assert (tmp_path / "invoices.csv").read_bytes() == (real / "invoices.csv").read_bytes()


@integration
def test_seed_if_empty_loads_once(request) -> None:
    """The compose `retail-seed` service runs `seed --if-empty` at every start: a second
    start loads nothing (no duplicate keys, no doubled rows)."""
    url = url_for("postgresql", request)
    db = RetailDb(url=url)
    first = retail_db.seed(db, generated=40, replace=True)
    assert first is not None and first.counts["invoices"] == 40
    args = [sys.executable, "-m", "cli.retail_db", "seed", "--url", url, "--generated", "40",
            "--if-empty"]
    again = subprocess.run(args, cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert again.returncode == 0, again.stderr
    assert "nothing loaded" in again.stdout
    with db.connection() as conn:
        assert retail_source.count_rows(conn) == first.counts


@integration
@pytest.mark.parametrize("backend", BACKENDS)
def test_rows_breaking_the_contract_can_exist(backend: str, request) -> None:
    """Non-key columns are nullable and there are no foreign keys: the source can hold what
    the pipeline rejects (here a line item of an unknown invoice, without a quantity)."""
    db = RetailDb(url=url_for(backend, request))
    with db.connection() as conn:
        retail_source.create_tables(conn, db.dialect)
        retail_source.insert_rows(
            conn, db.dialect, SCHEMA["invoice_line_items"], [("999", "no-such-sku", None)]
        )
        retail_source.insert_rows(
            conn, db.dialect, SCHEMA["invoices"], [("5", None, None, "not a date")]
        )
    with db.connection() as conn:
        assert retail_source.count_rows(conn)["invoice_line_items"] == 1


# --- change data capture ------------------------------------------------------------------


def _change_rows(db: RetailDb) -> None:
    """One insert, one update and one delete per kind of table (the expected events below)."""
    with db.connection() as conn, conn.cursor() as cur:
        cur.execute(
            "INSERT INTO accounts (account_id, company_name, joining_date) VALUES (%s, %s, %s)",
            (100001, "New, Ltd", "2021-02-03"),
        )
        cur.execute(
            "UPDATE invoices SET payment_dates = %s WHERE invoice_id = %s", ("2021-06-01", 2)
        )
        cur.execute(
            "DELETE FROM invoice_line_items WHERE invoice_id = %s AND item_id = %s",
            (1, "0-365-25576-9"),
        )
        cur.execute(
            "UPDATE skus SET item_retail_price = %s WHERE item_id = %s", ("1.5", "0-493-95641-7")
        )


def _assert_change_events(events: dict[str, list], topics: dict[str, str], old: dict) -> None:
    (acc,) = events[topics["accounts"]]
    assert acc.op == "c" and acc.before is None and acc.key == {"account_id": 100001}
    assert event_row("accounts", acc.after) == (
        100001,
        "New, Ltd",
        None,
        None,
        None,
        None,
        dt.date(2021, 2, 3),
    )
    (inv,) = events[topics["invoices"]]
    assert inv.op == "u" and inv.key == {"invoice_id": 2}
    assert event_row("invoices", inv.before) == old["invoice"]  # the whole old row
    assert event_row("invoices", inv.after) == old["invoice"][:3] + ("2021-06-01",)
    (line,) = events[topics["invoice_line_items"]]
    assert line.op == "d" and line.after is None
    assert line.key == {"invoice_id": 1, "item_id": "0-365-25576-9"}
    assert event_row("invoice_line_items", line.before) == old["line"]
    (sku,) = events[topics["skus"]]
    assert sku.op == "u" and event_row("skus", sku.before) == old["sku"]
    assert sku.after["item_retail_price"] == "1.5000"


def _old_rows(real: Path) -> dict[str, tuple]:
    def pick(table: str, first: tuple) -> tuple:
        return next(r for r in csv_rows(real, table) if r[: len(first)] == first)

    return {
        "invoice": pick("invoices", (2,)),
        "line": pick("invoice_line_items", (1, "0-365-25576-9")),
        "sku": pick("skus", ("0-493-95641-7",)),
    }


@integration
@pytest.mark.parametrize("backend", BACKENDS)
def test_snapshot_then_change_events(
    backend: str, cdc_source, kafka_connect, kafka_bootstrap, retail_db_password
) -> None:
    """The snapshot has every row of the real extracts once (op "r", the rows as in the
    files); then an insert, updates and a delete arrive as c/u/d with `before`/`after`."""
    real = need_real_extracts()
    source = cdc_source(backend)
    db_url, topics = source
    assert set(topics) == set(TABLES)
    if backend == "mariadb":  # the MySQL connector's naming: PREFIX.DATABASE.TABLE
        assert topics["skus"] == f"{source.topic_prefix}.{db_url.rsplit('/', 1)[1]}.skus"
    # the password is in no registered config and in no log line of the worker
    registered = kafka_connect.config(source.connector)
    assert registered["database.password"] == "${env:RETAIL_DB_PASSWORD}"
    assert retail_db_password not in str(registered)
    assert retail_db_password not in kafka_connect.log_path.read_text(errors="replace")

    snapshot = read_events(kafka_bootstrap, topics.values())
    first = snapshot[topics["accounts"]][0].after
    assert isinstance(first["joining_date"], int)  # a DATE: days since 1970-01-01
    assert isinstance(snapshot[topics["skus"]][0].after["item_retail_price"], str)
    for table, topic in topics.items():
        events = snapshot[topic]
        assert {e.op for e in events} == {"r"}, table
        assert len(events) == source.counts[table]
        assert Counter(event_row(table, e.after) for e in events) == csv_rows(real, table)
        key = SCHEMA[table].key
        assert len({tuple(e.key[k] for k in key) for e in events}) == len(events)

    ends = end_offsets(kafka_bootstrap, topics.values())
    _change_rows(RetailDb(url=db_url))
    changes = read_events(
        kafka_bootstrap,
        topics.values(),
        start=ends,
        until={t: ends[t] + 1 for t in topics.values()},
    )
    _assert_change_events(changes, topics, _old_rows(real))


@integration
def test_connect_restart_resumes_from_offsets(
    cdc_source, kafka_connect, kafka_bootstrap, kafka_server
) -> None:
    """Connect stopped, rows changed on both databases, Connect started and the connectors
    registered again (`python -m cli.cdc register`): the changes arrive, and no snapshot
    runs again (no op "r" after the first ones)."""
    sources = [cdc_source(backend, generated=200) for backend in BACKENDS]
    ends = {s.backend: end_offsets(kafka_bootstrap, s.topics.values()) for s in sources}
    with kafka_connect.stopped():
        for source in sources:
            with RetailDb(url=source.db_url).connection() as conn, conn.cursor() as cur:
                cur.execute(
                    "INSERT INTO accounts (account_id, company_name) VALUES (%s, %s)",
                    (90001, "after the stop"),
                )
                cur.execute("UPDATE invoices SET payment_dates = NULL WHERE invoice_id = 7")
                cur.execute("DELETE FROM invoice_line_items WHERE invoice_id = 7")
    for source in sources:
        subprocess.run(
            [
                sys.executable,
                "-m",
                "cli.cdc",
                "register",
                "--connect-url",
                kafka_connect.url,
                "--db-url",
                source.db_url,
                "--kafka",
                kafka_server.bootstrap,
                "--name",
                source.connector,
                "--topic-prefix",
                source.topic_prefix,
            ],
            cwd=ROOT,
            capture_output=True,
            text=True,
            timeout=120,
            check=True,
        )
        assert kafka_connect.config(source.connector) == {**source.config, "name": source.connector}
    for source in sources:
        kafka_connect.wait_running(source.connector)
        topics, start = source.topics, ends[source.backend]
        with RetailDb(url=source.db_url).connection() as conn, conn.cursor() as cur:
            cur.execute("SELECT count(*) FROM invoice_line_items")
            lines_left = cur.fetchone()[0]
        deleted = source.counts["invoice_line_items"] - lines_left
        assert deleted > 0
        want = {
            topics["accounts"]: 1,
            topics["invoices"]: 1,
            topics["invoice_line_items"]: deleted,
            topics["skus"]: 0,
        }
        events = read_events(
            kafka_bootstrap,
            topics.values(),
            start=start,
            until={t: start[t] + n for t, n in want.items()},
        )
        assert [e.op for e in events[topics["accounts"]]] == ["c"], source.backend
        assert [e.op for e in events[topics["invoices"]]] == ["u"]
        assert events[topics["invoices"]][0].after["payment_dates"] is None
        assert {e.op for e in events[topics["invoice_line_items"]]} == {"d"}
        # nothing else came: no second snapshot of any table
        assert end_offsets(kafka_bootstrap, topics.values()) == {
            t: start[t] + n for t, n in want.items()
        }


def test_retail_db_is_bound_from_its_variable(monkeypatch: pytest.MonkeyPatch) -> None:
    """RETAIL_DB_URL binds `retail_db` as an EnvVar: the UI shows the variable's name, and
    the password is one of the secrets every error is redacted of."""
    import dagster as dg

    from resources import build_resources
    from resources.bindings import described
    from resources.redaction import redact_secrets

    monkeypatch.delenv("RETAIL_DB_URL", raising=False)
    assert "retail_db" not in build_resources()
    monkeypatch.setenv("RETAIL_DB_URL", "mysql://retail:Sup3r-secret@127.0.0.1:3307/shop")
    db = build_resources()["retail_db"]
    assert isinstance(db.url, dg.EnvVar) and db.url.env_var_name == "RETAIL_DB_URL"
    assert db.dialect == "mysql" and "Sup3r-secret" not in db.describe()
    assert "Sup3r-secret" not in described(db) and "$RETAIL_DB_URL" in described(db)
    assert "Sup3r-secret" not in redact_secrets("login failed for Sup3r-secret")


@pytest.mark.parametrize("command", [
    ["cli.retail_db", "create", "--url", "postgresql://retail:s3cret-pw-9@127.0.0.1:1/retail"],
    ["cli.cdc", "register", "--connect-url", "http://127.0.0.1:1", "--kafka", "127.0.0.1:1",
     "--db-url", "postgresql://retail:s3cret-pw-9@127.0.0.1:1/retail"],
])
def test_a_failing_command_prints_one_redacted_line(command: list[str]) -> None:
    done = subprocess.run([sys.executable, "-m", *command], cwd=ROOT, capture_output=True,
                          text=True, timeout=60)
    assert done.returncode == 1
    assert done.stderr.startswith("error: ") and done.stderr.count("\n") == 1, done.stderr
    assert "s3cret-pw-9" not in done.stderr + done.stdout
