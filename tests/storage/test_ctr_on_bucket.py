"""CTR with LANDING_URL and LAKE_URL on a bucket of a real S3-compatible store: the real
MobileWeb day put into the bucket gives the contract tables and the API answers of the same
day in the local folder, and nothing is written on this disk's lake; the same file again is
a no-op; an object that is not JSON is moved aside with its reason; the store down for a
tick skips it, the next tick catches up."""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

import dagster as dg
import pytest
from fastapi.testclient import TestClient

from api.main import create_app
from assets.ctr.ingest import view_events
from cli.generators import ctr as generator
from cli.runner import drain_sensor
from resources import build_resources
from resources.lib.storage import Location
from tests.ctr.conftest import ctr_defs
from tests.ctr.test_pipeline import view

pytestmark = pytest.mark.integration
SENSOR = "ctr_product_views_sensor"
DAY = "MobileWeb/productEvent_20160201.json"
TABLES = ("views_per_minute", "purchases_per_minute")
ASKS = [{"startTimestamp": "2016-01-31 21:00:00", "endTimestamp": "2016-02-01 21:00:00",
         "aggregation": minutes, "platform": "mobileweb"} for minutes in (1, 10, 60, 1440)]


@pytest.fixture(scope="module")
def purchases(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The generator's purchases database over the real day (its products, every platform)."""
    if not generator.REAL_FILE.exists():
        pytest.skip(f"real event file absent: {generator.REAL_FILE}")
    root = tmp_path_factory.mktemp("ctr-source")
    generator.generate(root, scale=0.3)
    return root / "sources" / "purchases.sqlite"


def _platform(root: Path, monkeypatch: pytest.MonkeyPatch, purchases: Path,
              bucket: str | None) -> dict[str, Any]:
    """Resources over `root` (landing and lake on `bucket` when given)."""
    monkeypatch.setenv("PLATFORM_DATA_DIR", str(root))
    monkeypatch.delenv("PURCHASES_DB_URL", raising=False)
    for name, folder in (("LANDING_URL", "landing"), ("LAKE_URL", "lake")):
        if bucket:
            monkeypatch.setenv(name, f"s3://{bucket}/{folder}")
        else:
            monkeypatch.delenv(name, raising=False)
    (root / "sources").mkdir(parents=True)
    shutil.copyfile(purchases, root / "sources" / "purchases.sqlite")
    return build_resources()


def _tables(resources: dict[str, Any]) -> dict[str, list[tuple]]:
    with resources["warehouse"].get_connection() as conn:
        return {t: conn.execute(f"SELECT * FROM ctr.{t} ORDER BY ALL").fetchall()
                for t in TABLES}


def _answers(data_dir: Path) -> list[Any]:
    """The API's /ctr answers (the lake from LAKE_URL when set, else `data_dir`)."""
    with TestClient(create_app(data_dir=str(data_dir))) as client:
        return [client.get("/ctr", params=ask).json() for ask in ASKS]


def _tick(resources: dict[str, Any], instance: dg.DagsterInstance, cursor: str | None):
    """One evaluation of the sensor: its tick data (requests, cursor, skip message)."""
    defs = ctr_defs(resources)
    with dg.build_sensor_context(instance=instance, cursor=cursor, definitions=defs,
                                 resources=defs.resources) as context:
        return defs.resolve_sensor_def(SENSOR).evaluate_tick(context)


def _local_run(tmp_path: Path, monkeypatch, purchases: Path, real: bytes) -> tuple[dict, list]:
    """The real day in the local folder: (contract tables, API answers)."""
    resources = _platform(tmp_path / "local", monkeypatch, purchases, None)
    Location(tmp_path / "local" / "landing" / "product_views").write_bytes(DAY, real)
    with dg.instance_for_test() as instance:
        assert drain_sensor(ctr_defs(resources), SENSOR, instance)[0] == 2  # ingest, refresh
    return _tables(resources), _answers(tmp_path / "local")


def test_the_real_day_in_a_bucket_gives_the_local_tables_and_answers(
    s3_bucket: str, s3_server: Any, purchases: Path, tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    real = generator.REAL_FILE.read_bytes()
    want, answers = _local_run(tmp_path, monkeypatch, purchases, real)
    assert sum(r[3] for r in want["views_per_minute"]) == 47633 and want["purchases_per_minute"]

    resources = _platform(tmp_path / "bucket", monkeypatch, purchases, s3_bucket)
    landing = Location(f"s3://{s3_bucket}/landing/product_views", s3_server.settings())
    landing.write_bytes(DAY, real)
    defs = ctr_defs(resources)
    with dg.instance_for_test() as instance:
        runs, cursor = drain_sensor(defs, SENSOR, instance)
        assert runs == 2 and _tables(resources) == want
        assert _answers(tmp_path / "bucket") == answers and answers[-1]
        lake = Location(f"s3://{s3_bucket}/lake/ctr", s3_server.settings())
        assert any(e.rel.startswith("views/platform=MobileWeb/") for e in lake.list())
        logs = [str(e) for r in instance.get_runs() for e in instance.all_logs(r.run_id)]
        assert logs and not any(s3_server.secret_key in line for line in logs)

        landing.write_bytes(DAY, real)  # the same file again: nothing to do
        assert drain_sensor(defs, SENSOR, instance, cursor)[0] == 0
        again = dg.materialize([view_events], resources=resources, instance=instance)
        meta = again.asset_materializations_for_node("ctr__view_events")[0].metadata
        assert (meta["files_unchanged"].value, meta["files_loaded"].value) == (1, 0)
        assert _tables(resources) == want

        landing.write_bytes("MobileWeb/late.jsonl", json.dumps(
            {"events": [view("LATE-1", "2016-02-01 12:00:10")]}).encode())
        with s3_server.stopped():
            down = _tick(resources, instance, cursor)
        assert down.skip_message and "looking again at the next tick" in down.skip_message
        assert not down.run_requests and down.cursor in (None, cursor)
        assert drain_sensor(defs, SENSOR, instance, cursor)[0] == 2  # caught up
    views = _tables(resources)["views_per_minute"]
    assert [r for r in views if r[1] == "LATE-1"] and len(views) == len(want[TABLES[0]]) + 1
    assert not (tmp_path / "bucket" / "lake").exists()  # nothing of the lake on this disk
    assert not (tmp_path / "bucket" / "landing").exists()


def test_an_object_that_is_not_json_is_moved_aside_with_its_reason(
    s3_bucket: str, s3_server: Any, purchases: Path, tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    resources = _platform(tmp_path, monkeypatch, purchases, s3_bucket)
    landing = Location(f"s3://{s3_bucket}/landing/product_views", s3_server.settings())
    landing.write_bytes("MobileWeb/good.json", json.dumps(
        [{"events": [view("P1", "2016-02-01 10:00:00")]}]).encode())
    landing.write_bytes("MobileWeb/bad.json", b'[{"events": [nope]}]')
    result = dg.materialize([view_events], resources=resources, raise_on_error=False)
    assert not result.success
    failure = result.get_step_failure_events()[0].step_failure_data.error
    assert "MobileWeb/bad.json" in failure.message
    names = sorted(e.rel for e in landing.list())
    assert names == ["MobileWeb/good.json", "_rejected/MobileWeb/bad.json",
                     "_rejected/MobileWeb/bad.json.reason.txt"]
    reason = landing.read_bytes("_rejected/MobileWeb/bad.json.reason.txt").decode()
    assert "MobileWeb/bad.json" in reason
    lake = Location(f"s3://{s3_bucket}/lake/ctr", s3_server.settings())
    manifest = json.loads(lake.read_bytes("views/_ledger/MobileWeb/good.json.json"))
    assert manifest["views"] == 1  # the good file still went in
    assert not (tmp_path / "lake").exists()
