"""The extracts sensor with a real instance, and the generator + demo contract."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import dagster as dg
import pytest

from cli.demos import late_payments as demo
from cli.generators.late_payments import generate
from cli.runner import execute_run_request, tick_sensor
from definitions import domain_defs
from resources import SparkResource
from sensors.late_payments import JOB_NAME, SENSOR_NAME
from tests.late_payments.conftest import CHANGES_OFF


@pytest.fixture
def defs(paths, warehouse) -> dg.Definitions:
    resources = {"paths": paths, "warehouse": warehouse, "spark": SparkResource(), **CHANGES_OFF}
    return domain_defs("late_payments", resources)


@pytest.fixture
def instance(tmp_path: Path):
    home = tmp_path / "dagster_home"
    home.mkdir()
    with dg.instance_for_test(temp_dir=str(home)) as inst:
        yield inst


def test_sensor_waits_for_the_full_set_then_requests_once(real_extracts, defs, instance, warehouse):
    sensor = defs.resolve_sensor_def(SENSOR_NAME)
    assert sensor.default_status == dg.DefaultSensorStatus.RUNNING
    # an upload still in progress: three files plus a .part
    (real_extracts / "skus.csv").rename(real_extracts / "skus.csv.part")
    requests, cursor = tick_sensor(defs, SENSOR_NAME, instance, None)
    assert requests == []
    (real_extracts / "skus.csv.part").rename(real_extracts / "skus.csv")
    requests, cursor = tick_sensor(defs, SENSOR_NAME, instance, cursor)
    assert len(requests) == 1 and requests[0].run_key
    result = execute_run_request(defs, requests[0], instance)
    assert result.success and result.dagster_run.job_name == JOB_NAME
    with warehouse.get_connection() as conn:
        n = conn.execute("SELECT count(*) FROM late_payments.invoice_features").fetchone()[0]
    assert n == 9685
    first_key = requests[0].run_key
    # second tick: nothing new
    requests, cursor = tick_sensor(defs, SENSOR_NAME, instance, cursor)
    assert requests == []
    # same content re-copied (new mtime) is a no-op
    path = real_extracts / "accounts.csv"
    shutil.copy(path, real_extracts / "tmp_copy")
    os.replace(real_extracts / "tmp_copy", path)
    requests, cursor = tick_sensor(defs, SENSOR_NAME, instance, cursor)
    assert requests == []
    # a replaced set (one file changed) is a new run with a new key
    lines = path.read_text().splitlines(keepends=True)
    path.write_text("".join(lines[:-2]))  # drop the last account (2 physical lines)
    requests, cursor = tick_sensor(defs, SENSOR_NAME, instance, cursor)
    assert len(requests) == 1 and requests[0].run_key != first_key


def test_generator_and_demo(paths, defs, instance, tmp_path):
    counts = generate(Path(paths.data_dir), seed=7)
    assert counts["invoices"] == 2002 and counts["skus"] == 100
    landing = paths.landing("retail")
    first = {p.name: p.read_bytes() for p in landing.glob("*.csv")}
    generate(Path(paths.data_dir), seed=7)
    assert {p.name: p.read_bytes() for p in landing.glob("*.csv")} == first  # deterministic
    text = demo.run(defs, instance)
    assert "1 run(s)" in text
    assert "invoice_features: 2,000 rows" in text  # 2 of 2,002 rows are rejected on purpose
    assert "invoices.csv: 2" in text and "unknown SKU: 1" in text
    assert "late share:" in text and "; 0 unpaid" not in text  # recent unpaid: null
