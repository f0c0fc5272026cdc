"""Late payments and customers with the landing zone and the lake on a bucket of a real
S3-compatible store (LANDING_URL, LAKE_URL): the real retail extracts put into the bucket
give the same `invoice_features` as the same files in the local folder, nothing is written
under the local `lake/`, the API answers from the bucket; the store down for a tick skips
it; a bad object is moved aside with its reason. The customers pipeline leaves its Parquet
copies in the bucket and the API's insights are read from there."""

from __future__ import annotations

import time
import uuid
from pathlib import Path

import dagster as dg
import duckdb
import pytest
from fastapi.testclient import TestClient

from api.main import create_app
from assets.customers.assets import build_assets
from assets.late_payments.extracts import EXTRACT_FILES
from cli.runner import drain_sensor, execute_run_request, tick_sensor
from definitions import domain_defs
from resources import SqlSource, build_resources
from resources.lib.landing_index import RACY_BUCKET_NS
from resources.lib.storage import Location
from sensors.late_payments import SENSOR_NAME
from tests.customers.conftest import write_source
from tests.customers.test_pipeline import FAST
from tests.late_payments.conftest import REAL_EXTRACTS

pytestmark = pytest.mark.integration
FEATURES = "SELECT * FROM late_payments.invoice_features ORDER BY inv_id"
SHARE = "/late-payments/share?granularity=month"
INSIGHTS = ("top_customers", "top_products", "category_ratings", "monthly_sales")


def _environment(root: Path, monkeypatch, bucket: str | None) -> None:
    """PLATFORM_DATA_DIR = `root`; LANDING_URL and LAKE_URL on `bucket` (None: unset)."""
    monkeypatch.setenv("PLATFORM_DATA_DIR", str(root))
    monkeypatch.delenv("SPARK_REMOTE", raising=False)
    for name, prefix in (("LANDING_URL", "landing"), ("LAKE_URL", "lake")):
        if bucket:
            monkeypatch.setenv(name, f"s3://{bucket}/{prefix}")
        else:
            monkeypatch.delenv(name, raising=False)


def _rows(root: Path, sql: str) -> list[tuple]:
    with duckdb.connect(str(root / "warehouse.duckdb"), read_only=True) as conn:
        return conn.execute(sql).fetchall()


def _land(folder: Location) -> None:
    for name in EXTRACT_FILES:
        folder.write_bytes(name, (REAL_EXTRACTS / name).read_bytes())
    _settle(folder)


def _settle(folder: Location) -> None:
    """Past the racy window of the uploads: an object hashed that soon after its
    Last-Modified (whole seconds) is hashed again before the set counts as ready."""
    if not folder.is_local:
        time.sleep(RACY_BUCKET_NS / 1e9 + 0.1)


@pytest.fixture
def real_set() -> Path:
    if not REAL_EXTRACTS.is_dir():
        pytest.skip(f"real extracts not found at {REAL_EXTRACTS}")
    return REAL_EXTRACTS


def test_the_real_extracts_in_a_bucket_give_the_same_features(
    real_set, s3_bucket, s3_server, tmp_path, monkeypatch
) -> None:
    local = tmp_path / "local"
    _environment(local, monkeypatch, None)
    _land(Location(local / "landing" / "retail"))
    with dg.instance_for_test() as instance:
        assert drain_sensor(domain_defs("late_payments", build_resources()), SENSOR_NAME,
                            instance)[0] == 1
    want, share = _rows(local, FEATURES), TestClient(create_app(str(local))).get(SHARE).json()
    assert len(want) == 9685 and share

    root = tmp_path / "bucket"
    _environment(root, monkeypatch, s3_bucket)
    defs = domain_defs("late_payments", build_resources())
    retail = Location(f"s3://{s3_bucket}/landing/retail", s3_server.settings())
    _land(retail)
    with dg.instance_for_test() as instance:
        runs, cursor = drain_sensor(defs, SENSOR_NAME, instance)
        assert runs == 1 and _rows(root, FEATURES) == want
        logs = [str(e) for r in instance.get_runs() for e in instance.all_logs(r.run_id)]
        assert logs and not any(s3_server.secret_key in line for line in logs)
        with s3_server.stopped():
            requests, kept = tick_sensor(defs, SENSOR_NAME, instance, cursor)
        assert requests == [] and kept == cursor
        retail.write_bytes("invoices.csv", b"invoice_id,account_id,payment_dates\n1,1,\n")
        _settle(retail)
        requests, cursor = tick_sensor(defs, SENSOR_NAME, instance, cursor)
        assert len(requests) == 1
        assert not execute_run_request(defs, requests[0], instance, raise_on_error=False).success
    assert _rows(root, FEATURES) == want  # the bad file failed the run; the features stay
    assert b"missing column(s) date_issued" in retail.read_bytes(
        "_rejected/invoices.csv.reason.txt")
    assert not retail.exists("invoices.csv")
    assert not (root / "lake").exists() and not (root / "landing").exists()
    lake = Location(f"s3://{s3_bucket}/lake", s3_server.settings())
    assert lake.exists("late_payments/serving/late_payment_share.parquet")
    assert TestClient(create_app(str(root))).get(SHARE).json() == share  # from the bucket


def _customers(root: Path, monkeypatch, bucket: str | None, mongodb_uri: str | None
               ) -> dg.ExecuteInProcessResult:
    """The customers assets over the hand-built source, as the code location binds them."""
    _environment(root, monkeypatch, bucket)
    source = root / "sources" / "ecommerce.sqlite"
    monkeypatch.setenv("ECOMMERCE_DB_URL", f"sqlite:///{source}")
    write_source(SqlSource(url=f"sqlite:///{source}"))
    if mongodb_uri:
        monkeypatch.setenv("MONGODB_URI", mongodb_uri)
        monkeypatch.setenv("MONGODB_DATABASE", f"customers_{uuid.uuid4().hex[:10]}")
    else:
        monkeypatch.delenv("MONGODB_URI", raising=False)
    resources = {k: v for k, v in build_resources().items()
                 if k in ("paths", "ecommerce_db", "warehouse", "docstore")}
    return dg.materialize(build_assets(FAST), resources=resources)


def test_customers_copies_in_a_bucket_are_what_the_api_answers(
    s3_bucket, s3_server, mongodb_uri, tmp_path, monkeypatch
) -> None:
    local = tmp_path / "local"
    assert _customers(local, monkeypatch, None, None).success
    client = TestClient(create_app(str(local)))
    want = {name: client.get(f"/customers/insights/{name}").json() for name in INSIGHTS}
    assert all(want.values())

    root = tmp_path / "bucket"
    result = _customers(root, monkeypatch, s3_bucket, mongodb_uri)
    assert result.success
    loaded = result.asset_materializations_for_node("customers_docstore_load")
    written = {m.asset_key.path[-1]: m.metadata["written"].value for m in loaded
               if "written" in m.metadata}
    assert written == {"docstore_insights": 4}
    customers = Location(f"s3://{s3_bucket}/lake/customers", s3_server.settings())
    names = {e.rel for e in customers.list()}
    assert {f"output/{n}.parquet" for n in (*INSIGHTS, "customer_aggregates")} <= names
    assert {"extract/orders.parquet", "extract/customers.parquet"} <= names
    assert not (root / "lake").exists()
    client = TestClient(create_app(str(root)))
    assert {name: client.get(f"/customers/insights/{name}").json() for name in INSIGHTS} == want
