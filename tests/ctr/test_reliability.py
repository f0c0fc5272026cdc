"""Reliability of the view ingest: one bad file or line never stops the others, content is
counted once, a file still being written is not moved aside (issue 15, findings 6, 10a)."""

from __future__ import annotations

import json
import os
import time
from pathlib import Path
from typing import Any

import dagster as dg
import pyarrow.parquet as pq

from assets.ctr.ingest import view_events
from assets.ctr.lake import UNFINISHED_SECONDS
from cli.runner import execute_run_request, tick_sensor
from tests.ctr.conftest import ctr_defs
from tests.ctr.test_pipeline import SENSOR, view, write_views


def lake_views(root: Path) -> int:
    """Every view row in the lake (what the rollups count)."""
    parts = (root / "lake" / "ctr" / "views").glob("platform=*/date=*/*.parquet")
    return sum(pq.ParquetFile(p).metadata.num_rows for p in parts)


def rejected(env: dict[str, Any]) -> list[tuple]:
    with env["warehouse"].get_connection() as conn:
        return conn.execute(
            """SELECT platform, source_file, batch_no, reason FROM ctr.rejected_view_events
               ORDER BY ALL"""
        ).fetchall()


def test_same_content_under_two_names_is_counted_once(env: dict[str, Any]) -> None:
    """Finding 6a: the copy is in the ledger with a reason and adds no view; when the
    original changes, the copy's views are loaded on their own (nothing lost)."""
    root = env["paths"].root
    batches = [{"events": [view("P1", "2016-03-05 10:00:00"), view("P2", "2016-03-05 10:01:00")]}]
    original = write_views(root, "iOS", "a.json", batches)
    write_views(root, "iOS", "resent.json", batches)
    dg.materialize([view_events], resources=env)
    assert lake_views(root) == 2
    assert rejected(env) == [("iOS", "resent.json", None, "same content as iOS/a.json")]
    with env["warehouse"].get_connection() as conn:
        ledger = conn.execute(
            "SELECT source_file, views FROM ctr.view_file_ledger ORDER BY ALL").fetchall()
    assert ledger == [("a.json", 2), ("resent.json", 0)]

    again = dg.materialize([view_events], resources=env)  # re-running is a no-op
    meta = again.asset_materializations_for_node("ctr__view_events")[0].metadata
    assert meta["files_loaded"].value == 0 and lake_views(root) == 2

    original.write_text(json.dumps([{"events": [view("P9", "2016-03-06 10:00:00")]}]))
    changed = dg.materialize([view_events], resources=env, run_config={
        "ops": {"ctr__view_events": {"config": {"files": ["iOS/a.json"]}}}})
    meta = changed.asset_materializations_for_node("ctr__view_events")[0].metadata
    assert lake_views(root) == 3  # the new a.json (1) + the copy, now on its own (2)
    assert rejected(env) == []
    assert set(meta["partitions_touched"].value) == {"2016-03-05|iOS", "2016-03-06|iOS"}


def test_a_non_utf8_line_is_one_rejected_line(env: dict[str, Any]) -> None:
    """Finding 6b: a JSON Lines file with one line that is not UTF-8 loads its other lines;
    the bad line is rejected with the file and its line number."""
    root = env["paths"].root
    good = json.dumps({"events": [view("P1", "2016-03-05 10:00:00")]}).encode()
    folder = root / "landing" / "product_views" / "Android"
    folder.mkdir(parents=True)
    (folder / "mixed.jsonl").write_bytes(
        good + b"\n" + b'{"events": [{"event_type": "caf\xe9"}]}\n' + good + b"\n")
    result = dg.materialize([view_events], resources=env)
    assert result.success and (folder / "mixed.jsonl").exists()
    assert lake_views(root) == 2
    assert rejected(env) == [("Android", "mixed.jsonl", 2, "malformed batch: not UTF-8 text")]


def test_views_after_the_last_partition_are_rejected(env: dict[str, Any]) -> None:
    """Finding 10a: a far-future view is a rejected row with its reason, not a lake row no
    partition will ever read."""
    root = env["paths"].root
    write_views(root, "iOS", "a.json", [{"events": [
        view("P1", "2016-03-05 10:00:00"), view("P2", "2999-01-01 00:00:00")]}])
    result = dg.materialize([view_events], resources=env)
    meta = result.asset_materializations_for_node("ctr__view_events")[0].metadata
    assert lake_views(root) == 1 and meta["rejected_rows"].value == 1
    ((platform, file, batch, reason),) = rejected(env)
    assert (platform, file, batch) == ("iOS", "a.json", 1)
    assert reason.startswith("timestamp after the last partition (")
    assert list(meta["partitions_touched"].value) == ["2016-03-05|iOS"]


def run(defs: dg.Definitions, instance: dg.DagsterInstance, requests: list) -> list:
    return [execute_run_request(defs, r, instance, raise_on_error=False) for r in requests]


def test_an_unfinished_array_waits_for_its_writer(env: dict[str, Any]) -> None:
    """Finding 6c: an array file without its closing `]` stays where it landed and is not
    asked for again until it changes; completed, it loads. One unchanged for
    UNFINISHED_SECONDS is moved aside once, with the reason, and the run names it."""
    root = env["paths"].root
    defs, instance = ctr_defs(env), dg.DagsterInstance.ephemeral()
    first = json.dumps({"events": [view("P1", "2016-03-05 10:00:00")]})
    slow = write_views(root, "iOS", "slow.json", [])
    slow.write_text("[" + first + ",")
    requests, cursor = tick_sensor(defs, SENSOR, instance, None)
    (result,) = run(defs, instance, requests)
    assert result.success and slow.exists() and lake_views(root) == 0
    assert tick_sensor(defs, SENSOR, instance, cursor)[0] == []  # waits, asks nothing

    slow.write_text("[" + first + "," + first + "]")  # the writer finishes
    requests, cursor = tick_sensor(defs, SENSOR, instance, cursor)
    assert all(r.success for r in run(defs, instance, requests)) and lake_views(root) == 2

    stale = write_views(root, "iOS", "stale.json", [])
    stale.write_text("[" + first + ",")
    requests, cursor = tick_sensor(defs, SENSOR, instance, cursor)
    requests = [r for r in requests if r.job_name == "ctr_ingest_views"]
    assert [r.success for r in run(defs, instance, requests)] == [True] and stale.exists()
    assert tick_sensor(defs, SENSOR, instance, cursor)[0] == []
    old = time.time() - UNFINISHED_SECONDS - 60  # its writer died 11 minutes ago
    os.utime(stale, (old, old))
    requests, cursor = tick_sensor(defs, SENSOR, instance, cursor)
    ingests = [r for r in requests if r.job_name == "ctr_ingest_views"]
    (failed,) = run(defs, instance, ingests)
    assert not failed.success and not stale.exists()
    message = failed.get_step_failure_events()[0].step_failure_data.error.message
    assert "iOS/stale.json" in message and "no closing ']'" in message
    moved = root / "landing" / "product_views" / "_rejected" / "iOS" / "stale.json.reason.txt"
    assert "no closing ']'" in moved.read_text() and lake_views(root) == 2
    requests, _ = tick_sensor(defs, SENSOR, instance, cursor)
    assert [r for r in requests if r.job_name == "ctr_ingest_views"] == []
