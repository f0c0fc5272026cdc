"""The CTR rollups in the catalog: `commerce.ctr.views_per_minute` partitioned by (platform,
day(minute)), one snapshot per run holding the run's slices; an emptied slice loses its
files, the other slices keep theirs."""

from __future__ import annotations

from typing import Any

import dagster as dg

from cli.runner import execute_run_request, tick_sensor
from tests.catalog.conftest import assert_catalog_equals_warehouse
from tests.ctr.conftest import ctr_defs, env  # noqa: F401 - fixture
from tests.ctr.test_pipeline import SENSOR, view, write_views


def _sync(defs: dg.Definitions, instance: dg.DagsterInstance, cursor: str | None) -> str:
    """Ingest what landed, then refresh the partitions it touched."""
    for _ in range(2):
        requests, cursor = tick_sensor(defs, SENSOR, instance, cursor)
        for request in requests:
            execute_run_request(defs, request, instance)
    return cursor


def _files(table: Any) -> dict[tuple, set[str]]:
    """Data files per (platform, day number) partition."""
    found: dict[tuple, set[str]] = {}
    for task in table.scan().plan_files():
        found.setdefault((task.file.partition[0], task.file.partition[1]), set()).add(
            task.file.file_path)
    return found


def test_views_per_minute_slices_follow_the_warehouse(env: dict[str, Any]) -> None:  # noqa: F811
    root, paths = env["paths"].root, env["paths"]
    defs, instance = ctr_defs(env), dg.DagsterInstance.ephemeral()
    write_views(root, "ios", "a.json", [{"events": [view("P1", "2016-03-05 10:00:00"),
                                                    view("P2", "2016-03-06 23:59:00")]}])
    write_views(root, "Android", "b.json", [{"events": [view("P1", "2016-03-05 00:00:00")]}])
    cursor = _sync(defs, instance, None)
    assert_catalog_equals_warehouse(paths, "ctr", ("views_per_minute",))
    table = paths.catalog().load_table(("ctr", "views_per_minute"))
    before = _files(table)
    assert len(before) == 3  # (iOS, 5th), (iOS, 6th), (Android, 5th)

    # a.json now holds one view on the 7th: iOS's 5th and 6th are emptied, the 7th added
    write_views(root, "ios", "a.json", [{"events": [view("P3", "2016-03-07 12:00:00")]}])
    _sync(defs, instance, cursor)
    assert_catalog_equals_warehouse(paths, "ctr", ("views_per_minute",))
    table = paths.catalog().load_table(("ctr", "views_per_minute"))
    after = _files(table)
    android = [key for key in before if key[0] == "Android"]
    assert {k: after[k] for k in android} == {k: before[k] for k in android}  # untouched
    assert sorted(k for k in after if k[0] == "iOS") == [("iOS", 16867)]  # 2016-03-07
    summary = table.current_snapshot().summary.additional_properties
    run = instance.get_run_by_id(summary["dagster.run_id"])
    assert run is not None and run.is_success


def test_view_events_and_the_ledger_follow_the_lake(env: dict[str, Any]) -> None:  # noqa: F811
    """Each view once, with its source file; a file's views moved to another day leave their
    old slice empty; the ledger tables equal the warehouse's."""
    root, paths = env["paths"].root, env["paths"]
    defs, instance = ctr_defs(env), dg.DagsterInstance.ephemeral()
    write_views(root, "ios", "a.json", [{"events": [view("P1", "2016-03-05 10:00:00"),
                                                    view("P1", "2016-03-05 10:00:20")]}])
    write_views(root, "Android", "b.json", [{"events": [view("P2", "2016-03-05 00:00:00")]}])
    cursor = _sync(defs, instance, None)
    events = paths.catalog().load_table(("ctr", "view_events"))
    got = sorted((r["platform"], str(r["date"]), r["product"], r["source_file"])
                 for r in events.scan().to_arrow().to_pylist())
    assert got == [("Android", "2016-03-05", "P2", "b.json"),  # ids as in the ledger
                   *[("iOS", "2016-03-05", "P1", "ios__a.json")] * 2]
    write_views(root, "ios", "a.json", [{"events": [view("P3", "2016-03-07 12:00:00")]}])
    _sync(defs, instance, cursor)
    events.refresh()
    got = sorted((r["platform"], str(r["date"]), r["product"])
                 for r in events.scan().to_arrow().to_pylist())
    assert got == [("Android", "2016-03-05", "P2"), ("iOS", "2016-03-07", "P3")]
    assert_catalog_equals_warehouse(paths, "ctr", ("view_file_ledger",))
