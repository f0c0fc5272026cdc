"""Trino on the platform's own `commerce` catalog: every table the late-payment and customer
runs published reads back through Trino as exactly the warehouse's rows, and its snapshots
name the Dagster run."""

from __future__ import annotations

from pathlib import Path

import duckdb
import pytest

from cli.generators.late_payments import write_extracts
from resources import PlatformPaths, Warehouse
from tests.catalog.test_customers import TABLES as CUSTOMER_TABLES
from tests.catalog.test_publication import TABLES as LATE_PAYMENT_TABLES
from tests.customers.test_pipeline import make_resources
from tests.customers.test_pipeline import materialize as materialize_customers
from tests.late_payments.conftest import materialize as materialize_late_payments

pytestmark = pytest.mark.integration


def _normal(rows: list[tuple]) -> list[tuple]:
    """Rows comparable across clients: each value as text (Decimal, date, list alike)."""
    return sorted(tuple(str(v) for v in row) for row in rows)


def _assert_trino_reads_the_warehouse(trino_catalog, warehouse: Path, schema: str,  # noqa: ANN001
                                      tables: tuple[str, ...]) -> None:
    with duckdb.connect(str(warehouse), read_only=True) as conn:
        for name in tables:
            columns = [d[0] for d in conn.execute(f"DESCRIBE {schema}.{name}").fetchall()]
            listed = ", ".join(f'"{c}"' for c in columns)
            want = conn.execute(f"SELECT {listed} FROM {schema}.{name}").fetchall()
            got = trino_catalog.query(f"SELECT {listed} FROM {schema}.{name}")
            assert len(got) == len(want) > 0, name
            assert _normal(got) == _normal(want), name


def test_trino_reads_every_published_table_as_the_warehouse_holds_it(tmp_path: Path, trino,  # noqa: ANN001
                                                                      dirty_source) -> None:  # noqa: ANN001
    paths = PlatformPaths(data_dir=str(tmp_path), landing_settle_seconds=0,
                          landing_sweep_seconds=0)
    write_extracts(paths.landing("retail"), invoices=300, messy=True)
    result = materialize_late_payments(paths, Warehouse(database=str(paths.warehouse)))
    assert result.success
    customers = make_resources(tmp_path, dirty_source)  # the same data root and warehouse
    assert materialize_customers(customers).success

    commerce = trino.catalog(paths.catalog())
    assert {"late_payments", "customers"} <= {r[0] for r in commerce.query("SHOW SCHEMAS")}
    _assert_trino_reads_the_warehouse(commerce, paths.warehouse, "late_payments",
                                      LATE_PAYMENT_TABLES)
    _assert_trino_reads_the_warehouse(commerce, paths.warehouse, "customers", CUSTOMER_TABLES)
    runs = commerce.query('SELECT summary[\'dagster.run_id\'] FROM '
                          'late_payments."invoice_features$snapshots"')
    assert (result.run_id,) in runs
