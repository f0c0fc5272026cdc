"""The daily catalog job: every table of the platform's catalog keeps its last `keep`
snapshots, the job's metadata says what it removed; the schedule runs by default."""

from __future__ import annotations

from pathlib import Path

import dagster as dg
import pyarrow as pa

from resources import PlatformPaths
from resources.lib.catalog import publish
from sensors.catalog import catalog_maintenance, catalog_maintenance_schedule


def test_the_job_expires_every_table_to_its_last_snapshots(tmp_path: Path) -> None:
    paths = PlatformPaths(data_dir=str(tmp_path))
    catalog = paths.catalog()
    for n in range(4):
        for table in (("ctr", "a"), ("industries", "b")):
            publish(catalog, paths.lake_root(), table, pa.table({"n": [n]}), {})
    result = catalog_maintenance.execute_in_process(
        resources={"paths": paths},
        run_config={"ops": {"expire_catalog_snapshots": {"config": {"keep": 2}}}})
    assert result.success
    for table in (("ctr", "a"), ("industries", "b")):
        loaded = catalog.load_table(table)
        assert len(loaded.snapshots()) == 2
        assert loaded.scan().to_arrow().column("n").to_pylist() == [3]
    (materialized,) = [e for e in result.all_events if e.event_type_value == "STEP_OUTPUT"]
    shown = materialized.event_specific_data.metadata["expired"].value
    assert "ctr.a | 2 |" in shown and "industries.b | 2 |" in shown
    assert catalog_maintenance_schedule.default_status == dg.DefaultScheduleStatus.RUNNING
