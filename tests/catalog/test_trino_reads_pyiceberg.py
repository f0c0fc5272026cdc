"""Trino reads the Iceberg tables PyIceberg's SqlCatalog writes: the same catalog database
(SQLite file, or PostgreSQL), the same files (a local folder, or a bucket of the S3 store).

Every column kind the contract tables use (decimal, date, timestamp, string, bigint,
list<string>, nulls) comes back with the same values after an append and after an overwrite
of some rows (by filter); `FOR VERSION AS OF` gives every earlier snapshot's rows; the
snapshot summary properties PyIceberg sets (`dagster.run_id`) are in `"table$snapshots"`;
Trino reading while PyIceberg commits sees whole commits only (SQLite catalog).
"""

from __future__ import annotations

import datetime as dt
import threading
from decimal import Decimal
from pathlib import Path

import pyarrow as pa
import pytest
from pyiceberg.catalog.sql import SqlCatalog
from pyiceberg.expressions import EqualTo

pytestmark = pytest.mark.integration

SCHEMA = pa.schema([
    pa.field("id", pa.int64(), nullable=False),
    pa.field("amount", pa.decimal128(12, 2)),
    pa.field("day", pa.date32()),
    pa.field("at", pa.timestamp("us")),
    pa.field("venue", pa.string()),
    pa.field("tags", pa.list_(pa.string())),
])
COLUMNS = ", ".join(SCHEMA.names)
TRINO_TYPES = [("id", "bigint"), ("amount", "decimal(12,2)"), ("day", "date"),
               ("at", "timestamp(6)"), ("venue", "varchar"), ("tags", "array(varchar)")]

D1, D2 = dt.date(2024, 3, 1), dt.date(2024, 3, 2)
FIRST = [
    (1, Decimal("1234567890.12"), D1, dt.datetime(2024, 3, 1, 0, 0, 0, 1), "Zürich ☕", ["a", "b"]),
    (2, Decimal("-0.01"), D1, dt.datetime(2024, 3, 1, 23, 59, 59, 999999), "", []),
    (3, Decimal("0.00"), D2, dt.datetime(1970, 1, 1), "o'clock", ["x"]),
    (2**62, None, D2, None, None, None),
]
REPLACEMENT = [  # the rows of day D2 after the overwrite
    (3, Decimal("99.95"), D2, dt.datetime(2024, 3, 2, 12, 30, 15, 250000), "o'clock", ["y", "z"]),
    (5, Decimal("7.00"), D2, dt.datetime(2024, 3, 2, 8), "new", [""]),
]
SECOND = [row for row in FIRST if row[2] != D2] + REPLACEMENT


def arrow(rows: list[tuple]) -> pa.Table:
    return pa.Table.from_pylist([dict(zip(SCHEMA.names, row, strict=True)) for row in rows],
                                schema=SCHEMA)


def as_rows(table: pa.Table) -> list[tuple]:
    return sorted(tuple(row[name] for name in SCHEMA.names) for row in table.to_pylist())


def sqlite_catalog(tmp_path: Path, warehouse: str, **props: str) -> SqlCatalog:
    return SqlCatalog("commerce", uri=f"sqlite:///{tmp_path / 'catalog.sqlite'}",
                      warehouse=warehouse, **{"py-io-impl": "pyiceberg.io.pyarrow.PyArrowFileIO"},
                      **props)


@pytest.fixture(params=["local", "bucket"])
def commerce(request: pytest.FixtureRequest, tmp_path: Path) -> SqlCatalog:
    """The `commerce` SqlCatalog on a SQLite file, its files in a local folder or in a fresh
    bucket of the session's S3 store."""
    if request.param == "local":
        return sqlite_catalog(tmp_path, (tmp_path / "warehouse").as_uri())
    store = request.getfixturevalue("s3_server")
    return sqlite_catalog(tmp_path, f"s3://{store.bucket()}/lake", **{
        "s3.endpoint": store.endpoint_url, "s3.access-key-id": store.access_key,
        "s3.secret-access-key": store.secret_key, "s3.region": "us-east-1",
        "s3.force-virtual-addressing": "false"})


def write_history(catalog: SqlCatalog):  # noqa: ANN201 - (table, first snapshot id)
    """sales.orders: FIRST appended (run-1), then day D2 overwritten by REPLACEMENT (run-2)."""
    catalog.create_namespace("sales")
    table = catalog.create_table("sales.orders", schema=SCHEMA)
    table.append(arrow(FIRST), snapshot_properties={"dagster.run_id": "run-1"})
    first = table.current_snapshot().snapshot_id
    table.overwrite(arrow(REPLACEMENT), overwrite_filter=EqualTo("day", D2.isoformat()),
                    snapshot_properties={"dagster.run_id": "run-2"})
    return table, first


def test_trino_reads_the_rows_pyiceberg_appended_and_overwrote(
    commerce, trino, request: pytest.FixtureRequest
) -> None:
    table, _ = write_history(commerce)
    assert as_rows(table.scan().to_arrow()) == sorted(SECOND)  # PyIceberg's own reading

    commerce_in_trino = trino.catalog(commerce)
    assert commerce_in_trino.name == "commerce"
    assert commerce_in_trino.query("SHOW TABLES FROM sales") == [("orders",)]
    assert [row[:2] for row in commerce_in_trino.query("DESCRIBE sales.orders")] == TRINO_TYPES
    store = request.getfixturevalue("s3_server") if table.location().startswith("s3://") else None
    before = store.requests().get("GET", 0) if store else 0
    got = commerce_in_trino.query(f"SELECT {COLUMNS} FROM sales.orders")
    assert sorted(got) == sorted(SECOND)
    if store:  # the files came from the bucket
        assert store.requests().get("GET", 0) > before

    # a later commit is seen by the next query: the catalog row is read again, not cached
    table.append(arrow([(6, Decimal("1.10"), D1, None, "late", None)]))
    got = commerce_in_trino.query("SELECT id, amount FROM sales.orders WHERE id = 6")
    assert got == [(6, Decimal("1.10"))]


def test_trino_time_travels_to_pyiceberg_snapshots(commerce, trino) -> None:
    table, first = write_history(commerce)
    commerce_in_trino = trino.catalog(commerce)

    def at(snapshot_id: int) -> list[tuple]:
        return sorted(commerce_in_trino.query(
            f"SELECT {COLUMNS} FROM sales.orders FOR VERSION AS OF {snapshot_id}"))

    assert at(first) == sorted(FIRST)
    assert at(table.current_snapshot().snapshot_id) == sorted(SECOND)
    for snapshot in table.snapshots():  # the overwrite's intermediate ones too
        assert at(snapshot.snapshot_id) == as_rows(
            table.scan(snapshot_id=snapshot.snapshot_id).to_arrow())


def test_snapshot_properties_are_in_trinos_snapshots_table(commerce, trino) -> None:
    table, first = write_history(commerce)
    commerce_in_trino = trino.catalog(commerce)
    got = commerce_in_trino.query(
        'SELECT snapshot_id, parent_id, operation, summary FROM sales."orders$snapshots"'
        " ORDER BY committed_at, snapshot_id")
    expected = [(s.snapshot_id, s.parent_snapshot_id, s.summary.operation.value,
                 s.summary.additional_properties) for s in table.snapshots()]
    assert [row[:3] for row in got] == [row[:3] for row in expected]
    for (_, _, _, summary), (*_, props) in zip(got, expected, strict=True):
        assert {k: summary.get(k) for k in props} == props
    assert got[0][0] == first and got[0][3]["dagster.run_id"] == "run-1"
    assert {row[3]["dagster.run_id"] for row in got[1:]} == {"run-2"}


def test_trino_reads_a_postgresql_catalog(tmp_path: Path, pg_url: str, trino) -> None:
    catalog = SqlCatalog(
        "commerce", uri=pg_url.replace("postgresql://", "postgresql+psycopg://", 1),
        warehouse=(tmp_path / "warehouse").as_uri(),
        **{"py-io-impl": "pyiceberg.io.pyarrow.PyArrowFileIO"})
    table, first = write_history(catalog)
    commerce_in_trino = trino.catalog(catalog)
    assert sorted(commerce_in_trino.query(f"SELECT {COLUMNS} FROM sales.orders")) == sorted(SECOND)
    assert sorted(commerce_in_trino.query(
        f"SELECT {COLUMNS} FROM sales.orders FOR VERSION AS OF {first}")) == sorted(FIRST)
    assert commerce_in_trino.query(
        "SELECT summary['dagster.run_id'] FROM sales.\"orders$snapshots\""
        f" WHERE snapshot_id = {first}") == [("run-1",)]


def test_trino_reads_while_pyiceberg_commits_to_the_sqlite_catalog(tmp_path: Path, trino) -> None:
    catalog = sqlite_catalog(tmp_path, (tmp_path / "warehouse").as_uri())
    catalog.create_namespace("sales")
    table = catalog.create_table("sales.orders", schema=SCHEMA)
    commerce_in_trino = trino.catalog(catalog)
    commits, batch = 30, 10
    errors: list[BaseException] = []
    done = threading.Event()

    def writer() -> None:
        try:
            writer_table = catalog.load_table("sales.orders")
            for n in range(commits):
                rows = [(n * batch + i, Decimal("1.00"), D1, None, f"c{n}", None)
                        for i in range(batch)]
                writer_table.append(arrow(rows), snapshot_properties={"dagster.run_id": f"w{n}"})
        except BaseException as exc:  # noqa: BLE001 - reported by the main thread
            errors.append(exc)
        finally:
            done.set()

    with commerce_in_trino.connect() as conn:
        cur = conn.cursor()

        def read() -> int:
            cur.execute("SELECT count(*), count(DISTINCT venue) FROM sales.orders")
            (count, venues), = cur.fetchall()
            assert count == venues * batch  # whole commits only
            return count

        assert read() == 0  # warm: the first query of a catalog is the slow one
        thread = threading.Thread(target=writer)
        thread.start()
        during: list[int] = []
        while not done.is_set():
            during.append(read())
        thread.join()
        final = read()
    assert not errors, errors
    assert during == sorted(during) and final == commits * batch
    assert len(set(during)) >= 2, during  # Trino did read between PyIceberg's commits
    assert len(table.refresh().snapshots()) == commits
