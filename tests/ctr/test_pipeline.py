"""Sensor -> ingest -> only the touched partitions; bad input; purchases from SQL."""

from __future__ import annotations

import json
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import dagster as dg
import pyarrow.parquet as pq
import pytest

from api.query import CtrRequest, query_ctr
from assets.ctr.ingest import view_events
from assets.ctr.partitions import PLATFORMS, partition_key
from assets.ctr.purchases import purchases, purchases_per_minute
from assets.ctr.serving import serving_file, serving_root
from cli.generators.ctr import ORDER_COLUMNS, load_purchases
from cli.runner import RANGE_END_TAG, RANGE_START_TAG, execute_run_request, tick_sensor
from resources.env import resolve
from resources.lib.serving import lake_root
from tests.ctr.conftest import ctr_defs

SENSOR = "ctr_product_views_sensor"
MS = 1000


def ms(local: str) -> float:
    """'YYYY-MM-DD HH:MM:SS' GMT-03:00 -> UTC epoch ms (+ a fraction, as in the real data)."""
    from datetime import datetime

    dt = datetime.strptime(local, "%Y-%m-%d %H:%M:%S")
    return (dt - datetime(1970, 1, 1)).total_seconds() * MS + 3 * 3600 * MS + 0.4321


def view(product: str, local: str, event_type: str = "custom_event", name: str = "product"):
    return {
        "event_type": event_type,
        "data": {
            "event_name": name,
            "timestamp_unixtime_ms": ms(local),
            "event_id": 679644799952992000,
            "custom_attributes": {"codeColor": product},
        },
    }


def write_views(data_dir: Path, platform: str, name: str, batches: list, lines: bool = False):
    folder = data_dir / "landing" / "product_views" / platform
    folder.mkdir(parents=True, exist_ok=True)
    text = "\n".join(json.dumps(b) for b in batches) if lines else json.dumps(batches)
    (folder / name).write_text(text)
    return folder / name


def run_all(defs: dg.Definitions, instance: dg.DagsterInstance, requests: list) -> None:
    for request in requests:
        execute_run_request(defs, request, instance)


def keys_of(requests: list[dg.RunRequest]) -> list[str]:
    """The partitions the requests cover (one partition, or a range of one platform)."""
    keys = []
    for r in requests:
        if r.partition_key:
            keys.append(str(r.partition_key))
        elif RANGE_START_TAG in r.tags:
            (first, platform), (last, _) = (
                r.tags[t].split("|") for t in (RANGE_START_TAG, RANGE_END_TAG))
            day = datetime.fromisoformat(first)
            while day <= datetime.fromisoformat(last):
                keys.append(f"{day:%Y-%m-%d}|{platform}")
                day += timedelta(days=1)
    return sorted(keys)


def test_sensor_refreshes_only_touched_partitions(env: dict[str, Any]) -> None:
    root = env["paths"].root
    defs = ctr_defs(env)
    instance = dg.DagsterInstance.ephemeral()
    write_views(root, "ios", "a.json", [{"events": [view("P1", "2016-03-05 10:00:00")]}])
    requests, cursor = tick_sensor(defs, SENSOR, instance, None)
    assert [r.job_name for r in requests] == ["ctr_ingest_views"]
    ingest_key = requests[0].run_key
    run_all(defs, instance, requests)

    requests, cursor = tick_sensor(defs, SENSOR, instance, cursor)
    assert keys_of(requests) == ["2016-03-05|iOS"]
    assert {r.job_name for r in requests} == {"ctr_refresh_partition"}
    run_all(defs, instance, requests)
    assert tick_sensor(defs, SENSOR, instance, cursor)[0] == []  # nothing new: no run

    # a second file (JSON Lines, another platform, two dates): only its partitions
    write_views(
        root, "Android", "b.jsonl",
        [{"events": [view("P1", "2016-03-06 23:59:59")]},
         {"events": [view("P2", "2016-03-07 00:00:00"), view("P2", "2016-03-07 00:00:30")]}],
        lines=True,
    )
    requests, cursor = tick_sensor(defs, SENSOR, instance, cursor)
    assert len(requests) == 1 and requests[0].run_key != ingest_key
    run_all(defs, instance, requests)
    requests, cursor = tick_sensor(defs, SENSOR, instance, cursor)
    assert keys_of(requests) == ["2016-03-06|Android", "2016-03-07|Android"]
    run_all(defs, instance, requests)

    # the first file's content changes to another day: the stale day is refreshed too
    write_views(root, "ios", "a.json", [{"events": [view("P1", "2016-03-08 01:00:00")]}])
    requests, cursor = tick_sensor(defs, SENSOR, instance, cursor)
    run_all(defs, instance, requests)
    requests, cursor = tick_sensor(defs, SENSOR, instance, cursor)
    assert keys_of(requests) == ["2016-03-05|iOS", "2016-03-08|iOS"]
    run_all(defs, instance, requests)
    assert tick_sensor(defs, SENSOR, instance, cursor)[0] == []

    serving = serving_root(lake_root(root))
    emptied = serving_file(serving, "views_per_minute", "iOS", "2016-03-05")
    assert pq.ParquetFile(emptied.open()).metadata.num_rows == 0  # emptied, never deleted
    answer = query_ctr(
        serving,
        CtrRequest(
            start=datetime(2016, 3, 1),
            end=datetime(2016, 3, 10),
            aggregation=60 * 24,
            platforms=PLATFORMS,
        ),
        limit=100,
    )
    got = [(r["timestamp"], r["platform"], r["product"], r["views"])
           for r in json.loads(answer.body)]
    assert got == [
        ("2016-03-06 00:00:00", "Android", "P1", 1),
        ("2016-03-07 00:00:00", "Android", "P2", 2),
        ("2016-03-08 00:00:00", "iOS", "P1", 1),
    ]
    with env["warehouse"].get_connection() as conn:
        assert conn.execute("SELECT sum(count) FROM ctr.views_per_minute").fetchall() == [(4,)]


def test_rerun_is_a_no_op(env: dict[str, Any]) -> None:
    root = env["paths"].root
    write_views(root, "MobileWeb", "a.json", [{"events": [view("P1", "2016-03-05 10:00:00")]}])
    first = dg.materialize([view_events], resources=env)
    second = dg.materialize([view_events], resources=env)
    m1 = first.asset_materializations_for_node("ctr__view_events")[0].metadata
    m2 = second.asset_materializations_for_node("ctr__view_events")[0].metadata
    assert (m1["files_loaded"].value, m2["files_loaded"].value) == (1, 0)
    assert m2["files_unchanged"].value == 1
    parts = list((root / "lake" / "ctr" / "views").glob("platform=*/date=*/*.parquet"))
    assert len(parts) == 1 and pq.read_table(parts[0]).num_rows == 1


def test_malformed_batches_and_unknown_events_are_counted(env: dict[str, Any]) -> None:
    root = env["paths"].root
    write_views(
        root, "iOS", "messy.json",
        [
            {"events": [view("P1", "2016-03-05 10:00:00")]},
            42,
            {"mpid": 7},
            {"events": [view("P1", "2016-03-05 10:01:00", event_type="screen_view"),
                        view("P1", "2016-03-05 10:02:00", name="add_to_cart"),
                        {"event_type": "custom_event", "data": {"event_name": "product"}}]},
        ],
    )
    write_views(root, "Android", "lines.jsonl", [], lines=True)
    (root / "landing" / "product_views" / "Android" / "lines.jsonl").write_text(
        json.dumps({"events": [view("P2", "2016-03-05 10:00:00")]}) + "\n{broken\n"
    )
    result = dg.materialize([view_events], resources=env)
    meta = result.asset_materializations_for_node("ctr__view_events")[0].metadata
    assert meta["dagster/row_count"].value == 2
    assert meta["malformed_batches"].value == 3  # 42, no events, the broken line
    assert meta["rejected_rows"].value == 4  # + the product event without product/time
    assert meta["other_event_types"].value == {"screen_view": 1, "custom_event:add_to_cart": 1}
    check = result.get_asset_check_evaluations()[0]
    assert not check.passed and check.severity == dg.AssetCheckSeverity.WARN
    with env["warehouse"].get_connection() as conn:
        rows = conn.execute(
            """SELECT platform, source_file, batch_no, reason FROM ctr.rejected_view_events
               ORDER BY platform, batch_no"""
        ).fetchall()
    assert [(p, f, b) for p, f, b, _ in rows] == [
        ("Android", "lines.jsonl", 2),
        ("iOS", "messy.json", 2),
        ("iOS", "messy.json", 3),
        ("iOS", "messy.json", 4),
    ]
    assert "invalid JSON" in rows[0][3] and "not an object" in rows[1][3]

    # the warehouse copy is rebuilt from the lake if its step was lost (e.g. a failed run)
    with env["warehouse"].get_connection() as conn:
        conn.execute("DELETE FROM ctr.view_file_ledger")
        conn.execute("DELETE FROM ctr.rejected_view_events")
    again = dg.materialize([view_events], resources=env)
    assert again.asset_materializations_for_node("ctr__view_events")[0].metadata[
        "files_loaded"
    ].value == 0  # nothing re-parsed
    with env["warehouse"].get_connection() as conn:
        assert conn.execute(
            """SELECT platform, source_file, batch_no, reason FROM ctr.rejected_view_events
               ORDER BY platform, batch_no"""
        ).fetchall() == rows
        assert conn.execute("SELECT count(*) FROM ctr.view_file_ledger").fetchall() == [(2,)]


def test_not_json_file_is_moved_aside_and_fails_the_run(env: dict[str, Any]) -> None:
    root = env["paths"].root
    good = write_views(root, "iOS", "good.json", [{"events": [view("P1", "2016-03-05 10:00:00")]}])
    bad = good.parent / "export.json"
    bad.write_text("venue_id,total\nv1,10.5\n")
    result = dg.materialize([view_events], resources=env, raise_on_error=False)
    assert not result.success
    failure = result.get_step_failure_events()[0].step_failure_data.error
    assert "iOS/export.json" in failure.message and "not JSON" in failure.message
    moved = root / "landing" / "product_views" / "_rejected" / "iOS"
    assert (moved / "export.json").read_text() == "venue_id,total\nv1,10.5\n"
    assert "not JSON" in (moved / "export.json.reason.txt").read_text()
    assert not bad.exists() and good.exists()
    ledger = root / "lake" / "ctr" / "views" / "_ledger" / "iOS" / "good.json.json"
    assert json.loads(ledger.read_text())["views"] == 1  # the good file still went in


def orders_fixture() -> tuple[list[dict], list[dict]]:
    base = dict.fromkeys(ORDER_COLUMNS)
    orders = [
        {**base, "id": 1, "order_date": "2016-02-01 00:00:00", "device_type": "ios"},
        {**base, "id": 2, "order_date": "2016-02-01 23:59:59", "device_type": " IOS "},
        {**base, "id": 3, "order_date": "2016-02-02 00:00:00", "device_type": "iOS"},
        {**base, "id": 4, "order_date": "2016-02-01 12:00:30", "device_type": "Android"},
    ]
    items = [
        {"id": 10, "order_id": 1, "sku": "s", "quantity": 3, "code_color": "A"},
        {"id": 11, "order_id": 1, "sku": "s", "quantity": 1, "code_color": " A "},
        {"id": 12, "order_id": 2, "sku": "s", "quantity": 1, "code_color": None},
        {"id": 13, "order_id": 2, "sku": "s", "quantity": 1, "code_color": "B"},
        {"id": 14, "order_id": 3, "sku": "s", "quantity": 1, "code_color": "A"},
        {"id": 15, "order_id": 4, "sku": "s", "quantity": 1, "code_color": "A"},
    ]
    return orders, items


def check_purchases(env: dict[str, Any]) -> None:
    orders, items = orders_fixture()
    load_purchases(resolve(env["purchases_db"].url), orders, items)
    result = dg.materialize(
        [purchases, purchases_per_minute],
        resources=env,
        partition_key=partition_key("2016-02-01", "iOS"),
    )
    meta = result.asset_materializations_for_node("ctr__purchases")[0].metadata
    assert meta["dagster/row_count"].value == 3 and meta["rejected_rows"].value == 1
    checks = {c.check_name: c for c in result.get_asset_check_evaluations()}
    match = checks["purchases_match_extract"]
    assert match.passed and match.metadata["tier_purchases"].value == 3
    with env["warehouse"].get_connection() as conn:
        got = conn.execute(
            """SELECT product, strftime(minute, '%Y-%m-%d %H:%M'), count
               FROM ctr.purchases_per_minute ORDER BY ALL"""
        ).fetchall()
        rejected = conn.execute("SELECT item_id, reason FROM ctr.rejected_purchases").fetchall()
    assert got == [("A", "2016-02-01 00:00", 2), ("B", "2016-02-01 23:59", 1)]
    assert rejected == [("12", "order item without code_color")]
    answer = query_ctr(
        serving_root(env["paths"].lake_root()),
        CtrRequest(datetime(2016, 2, 1), datetime(2016, 2, 2), 1440, ("iOS",)),
        limit=10,
    )
    assert json.loads(answer.body) == [
        {"timestamp": "2016-02-01 00:00:00", "platform": "iOS", "product": "A", "ctr": None,
         "purchases": 2, "views": 0},
        {"timestamp": "2016-02-01 00:00:00", "platform": "iOS", "product": "B", "ctr": None,
         "purchases": 1, "views": 0},
    ]
    # re-extracting the same day changes nothing
    dg.materialize(
        [purchases, purchases_per_minute], resources=env,
        partition_key=partition_key("2016-02-01", "iOS"),
    )
    with env["warehouse"].get_connection() as conn:
        assert conn.execute("SELECT count(*) FROM ctr.purchases").fetchall() == [(3,)]


def test_purchases_extracted_from_sqlite(env: dict[str, Any]) -> None:
    assert env["purchases_db"].url.startswith("sqlite:///")
    check_purchases(env)


@pytest.mark.integration
def test_purchases_extracted_from_postgres(
    env: dict[str, Any], pg_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    from resources import build_resources

    monkeypatch.setenv("PURCHASES_DB_URL", pg_url)
    env = build_resources()
    assert env["purchases_db"].is_postgres
    check_purchases(env)


def test_schedule_requests_recent_days(env: dict[str, Any]) -> None:
    from datetime import datetime, timedelta, timezone

    from sensors.ctr import recent_purchases_schedule

    when = datetime(2016, 2, 3, 10, 20, tzinfo=timezone(timedelta(hours=-3)))
    context = dg.build_schedule_context(scheduled_execution_time=when)
    requests = recent_purchases_schedule(context)
    assert keys_of(requests) == sorted(
        f"{d}|{p}" for d in ("2016-02-01", "2016-02-02", "2016-02-03") for p in PLATFORMS
    )
    assert len({r.run_key for r in requests}) == 9


def test_failed_run_gets_a_fresh_run_key(env: dict[str, Any], monkeypatch) -> None:
    """A run that failed (a transient error) is asked again under `<key>:retry1` by the
    shared rule (`sensors/reask.py`, which replaced this sensor's own retries)."""
    from sensors.reask import ASK_TAG, ATTEMPT_TAG, REASK_OF_TAG, SENSOR_TAG

    monkeypatch.setenv("REASK_DELAYS_SECONDS", "0")
    batch = {"events": [view("P", "2016-03-05 10:00:00")]}
    write_views(env["paths"].root, "iOS", "a.json", [batch])
    defs = ctr_defs(env)
    instance = dg.DagsterInstance.ephemeral()
    (request,), _ = tick_sensor(defs, SENSOR, instance, None)
    key = request.tags[ASK_TAG]
    assert request.run_key == key and request.tags[ATTEMPT_TAG] == "1"

    @dg.op
    def boom() -> None:
        raise RuntimeError("transient")

    @dg.job
    def failing() -> None:
        boom()

    failed = failing.execute_in_process(
        instance=instance, tags={ASK_TAG: key, SENSOR_TAG: SENSOR, ATTEMPT_TAG: "1"},
        raise_on_error=False)
    (request,), _ = tick_sensor(defs, SENSOR, instance, None)
    assert request.run_key == f"{key}:retry1"
    assert request.tags[REASK_OF_TAG] == failed.run_id and request.tags[ATTEMPT_TAG] == "2"


def test_single_run_backfill_of_a_date_range(env: dict[str, Any]) -> None:
    """A backfill runs as one run per platform over a date range (BackfillPolicy.single_run):
    every partition of the range is materialized, each in its own transaction, with its
    serving files, and the checks hold for all of them."""
    from assets.ctr.partitions import PURCHASES, PURCHASES_PER_MINUTE, VIEWS_PER_MINUTE

    root = env["paths"].root
    defs = ctr_defs(env)
    instance = dg.DagsterInstance.ephemeral()
    orders, items = orders_fixture()  # iOS purchases on 2016-02-01 and 2016-02-02
    load_purchases(resolve(env["purchases_db"].url), orders, items)
    write_views(root, "iOS", "a.json", [{"events": [
        view("A", "2016-01-31 23:00:00"), view("A", "2016-02-01 00:00:10"),
        view("B", "2016-02-01 23:59:00"), view("A", "2016-02-02 12:00:00"),
    ]}])
    dg.materialize([view_events], resources=env, instance=instance)
    selection = [PURCHASES, PURCHASES_PER_MINUTE, VIEWS_PER_MINUTE]
    backfill = dg.RunRequest(  # the tags Dagster puts on a single-run backfill
        job_name="ctr_refresh_partition",
        tags={RANGE_START_TAG: "2016-01-31|iOS", RANGE_END_TAG: "2016-02-02|iOS"},
    )
    result = execute_run_request(defs, backfill, instance)
    assert result.success
    days = ["2016-01-31", "2016-02-01", "2016-02-02"]
    for key in selection:
        done = instance.get_materialized_partitions(key)
        assert {str(k) for k in done} == {f"{d}|iOS" for d in days}
    checks = {c.check_name: c for c in result.get_asset_check_evaluations()}
    assert checks["views_match_lake"].passed and checks["purchases_match_extract"].passed
    # the fixture's item without code_color (2016-02-01) fails the WARN check of that day
    have_product = checks["purchases_have_product"]
    assert not have_product.passed
    assert have_product.metadata["failed_partitions"].value == ["2016-02-01|iOS"]
    # each partition's latest materialization carries its own figures, not the range's
    latest = {
        day: instance.fetch_materializations(
            dg.AssetRecordsFilter(asset_key=VIEWS_PER_MINUTE, asset_partitions=[f"{day}|iOS"]),
            limit=1,
        ).records[0].asset_materialization.metadata
        for day in days
    }
    assert {day: m["views"].value for day, m in latest.items()} == {
        "2016-01-31": 1, "2016-02-01": 2, "2016-02-02": 1}
    assert all(m["dagster/row_count"].value == m["views"].value for m in latest.values())
    run = [m.metadata for m in result.asset_materializations_for_node("ctr__views_per_minute")
           if "run_range" in m.metadata]
    assert run and "2016-02-02" in run[0]["run_partitions"].value and "views" not in run[0]
    serving = serving_root(lake_root(root))
    assert serving_file(serving, "ctr_10min", "iOS", "2016-01-31").exists()
    answer = query_ctr(
        serving, CtrRequest(datetime(2016, 1, 31), datetime(2016, 2, 3), 1440, ("iOS",)),
        limit=100,
    )
    got = {(r["timestamp"][:10], r["product"]): (r["views"], r["purchases"])
           for r in json.loads(answer.body)}
    assert got == {
        ("2016-01-31", "A"): (1, 0),
        ("2016-02-01", "A"): (1, 2), ("2016-02-01", "B"): (1, 1),
        ("2016-02-02", "A"): (1, 1),
    }


def test_a_refresh_publishes_views_and_purchases_together(
    env: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    """The API never joins new purchases with old views: in a refresh run the purchases
    rollup leaves publishing to the views rollup, so a run that fails in between changes
    nothing the API serves; a purchases-only refresh publishes at once."""
    import assets.ctr.views

    root = env["paths"].root
    defs = ctr_defs(env)
    instance = dg.DagsterInstance.ephemeral()
    orders, items = orders_fixture()
    write_views(root, "iOS", "a.json", [{"events": [view("A", "2016-02-01 00:00:10")]}])
    dg.materialize([view_events], resources=env, instance=instance)
    refresh = dg.RunRequest(job_name="ctr_refresh_partition",
                            partition_key=partition_key("2016-02-01", "iOS"))
    assert execute_run_request(defs, refresh, instance).success
    served = serving_file(serving_root(lake_root(root)), "ctr_10min", "iOS", "2016-02-01")
    before = pq.read_table(served.open()).to_pylist()
    assert [(r["product"], r["views"], r["purchases"]) for r in before] == [("A", 1, 0)]

    load_purchases(resolve(env["purchases_db"].url), orders, items)  # new orders arrive
    def broken(*args):
        raise RuntimeError("views step fails")
    monkeypatch.setattr(assets.ctr.views, "partition_files", broken)
    failed = execute_run_request(defs, refresh, instance, raise_on_error=False)
    assert not failed.success
    assert pq.read_table(served.open()).to_pylist() == before  # nothing half-published
    purchases_meta = failed.asset_materializations_for_node("ctr__purchases_per_minute")[0]
    assert "published with the views rollup" in purchases_meta.metadata["serving_file"].value

    purchases_only = dg.RunRequest(job_name="ctr_refresh_purchases",
                                   partition_key=partition_key("2016-02-01", "iOS"))
    assert execute_run_request(defs, purchases_only, instance).success
    rows = pq.read_table(served.open()).to_pylist()
    after = {r["product"]: (r["views"], r["purchases"]) for r in rows}
    assert after == {"A": (1, 2), "B": (0, 1)}
