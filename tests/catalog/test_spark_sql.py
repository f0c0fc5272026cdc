"""Spark SQL on the cluster and the platform's own `commerce` catalog: every table the
late-payment and customer runs published reads back through Spark as exactly the
warehouse's rows, and a table Spark writes there is one PyIceberg (so Trino) reads."""

from __future__ import annotations

from pathlib import Path

import duckdb
import pytest

from cli.generators.late_payments import write_extracts
from resources import PlatformPaths, Warehouse
from resources.spark import SparkResource
from tests.catalog.test_customers import TABLES as CUSTOMER_TABLES
from tests.catalog.test_publication import TABLES as LATE_PAYMENT_TABLES
from tests.catalog.test_trino_platform import _normal
from tests.customers.test_pipeline import make_resources
from tests.customers.test_pipeline import materialize as materialize_customers
from tests.late_payments.conftest import materialize as materialize_late_payments

pytestmark = pytest.mark.integration


def _assert_spark_reads_the_warehouse(session, warehouse: Path, schema: str,  # noqa: ANN001
                                      tables: tuple[str, ...]) -> None:
    listed = {r.tableName for r in session.sql(f"SHOW TABLES IN commerce.{schema}").collect()}
    assert set(tables) <= listed, schema
    with duckdb.connect(str(warehouse), read_only=True) as conn:
        for name in tables:
            columns = [d[0] for d in conn.execute(f"DESCRIBE {schema}.{name}").fetchall()]
            frame = session.table(f"commerce.{schema}.{name}")
            assert frame.columns == columns, name
            want = conn.execute(f"SELECT * FROM {schema}.{name}").fetchall()
            got = [tuple(row) for row in frame.collect()]
            assert len(got) == len(want) > 0, name
            assert _normal(got) == _normal(want), name


def _platform_session(remote: str, paths: PlatformPaths) -> SparkResource:
    """A SparkResource on `paths` whose session is new (a Connect session loads a catalog
    once: one left by an earlier test would still point at that test's data root)."""
    resource = SparkResource(remote=remote, paths=paths)
    resource.close()
    return resource


def test_spark_sql_reads_the_published_tables_and_writes_one_pyiceberg_reads(
        tmp_path: Path, spark_cluster, dirty_source) -> None:  # noqa: ANN001
    paths = PlatformPaths(data_dir=str(tmp_path), landing_settle_seconds=0,
                          landing_sweep_seconds=0)
    write_extracts(paths.landing("retail"), invoices=300, messy=True)
    assert materialize_late_payments(paths, Warehouse(database=str(paths.warehouse))).success
    assert materialize_customers(make_resources(tmp_path, dirty_source)).success

    resource = _platform_session(spark_cluster.remote, paths)
    try:
        session = resource.session()
        namespaces = {r.namespace for r in session.sql("SHOW NAMESPACES IN commerce").collect()}
        assert {"late_payments", "customers"} <= namespaces
        _assert_spark_reads_the_warehouse(session, paths.warehouse, "late_payments",
                                          LATE_PAYMENT_TABLES)
        _assert_spark_reads_the_warehouse(session, paths.warehouse, "customers",
                                          CUSTOMER_TABLES)

        session.sql("CREATE NAMESPACE IF NOT EXISTS commerce.scratch")
        # Spark SQL's CREATE TABLE AS SELECT, then the DataFrame API's append (Spark binds no
        # named parameter inside a CTAS: the late flag is this test's constant)
        session.sql("CREATE TABLE commerce.scratch.invoice_totals AS SELECT acct_id, inv_id,"
                    " inv_total FROM commerce.late_payments.invoice_features WHERE is_late = 1")
        features = session.table("commerce.late_payments.invoice_features")
        (features.where(~features.is_late.eqNullSafe(1))
         .select("acct_id", "inv_id", "inv_total")
         .writeTo("commerce.scratch.invoice_totals").append())
        spark_rows = session.table("commerce.scratch.invoice_totals").collect()
    finally:
        resource.close()

    written = paths.catalog().load_table(("scratch", "invoice_totals"))
    assert written.location() == f"file://{paths.lake_root().path()}/scratch/iceberg/invoice_totals"
    by_pyiceberg = written.scan().to_arrow()
    with duckdb.connect(str(paths.warehouse), read_only=True) as conn:
        want = conn.execute("SELECT acct_id, inv_id, inv_total"
                            " FROM late_payments.invoice_features").fetchall()
    assert len(want) > 0 and sorted(map(tuple, spark_rows)) == sorted(want)
    assert sorted(zip(*by_pyiceberg.to_pydict().values(), strict=True)) == sorted(want)
