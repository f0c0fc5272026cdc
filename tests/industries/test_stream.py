"""The file stream: offsets, dedup, late orders in their own hour, crash before commit."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

import dagster as dg
import pytest

from assets.industries.batches import order_batches
from assets.industries.common import DOMAIN, HOUR_FMT, ORDERS, hour_key, hour_ranges
from assets.industries.customers import customers
from assets.industries.orders import customer_hourly, orders
from assets.industries.scores import industry_change_scores
from assets.industries.stream import batch_files, load_state
from cli.runner import drain_sensor, tick_sensor
from sensors.industries import sensors
from tests.industries.conftest import build_hours, ingest, order_line, query, write_lines

NOW = datetime.now(UTC).replace(minute=0, second=0, microsecond=0)
H1 = NOW - timedelta(hours=6)


def _defs(res: dict) -> dg.Definitions:
    return dg.Definitions(
        assets=[order_batches, orders, customer_hourly, customers, industry_change_scores],
        sensors=sensors, resources=res,
    )


def test_offsets_partial_lines_and_rejects(res, tmp_path):
    path = tmp_path / "landing/orders/live.jsonl"
    write_lines(path, [order_line("a", "C1", 10, H1), "{broken", order_line("b", "C1", 5, H1)])
    with open(path, "a") as fh:
        fh.write(order_line("c", "C1", 1, H1)[:20])  # half-written line: not read yet
    assert ingest(res).success
    state = load_state(res["paths"].lake_location(DOMAIN))
    assert state.seq == 1 and state.files["live.jsonl"][1] == 3
    rejected = query(res, "SELECT source_file, line_number, reason FROM industries.rejected_orders")
    assert rejected[0][:2] == ("live.jsonl", 2) and "JSONDecodeError" in rejected[0][2]
    # Running again with nothing new writes no batch (idempotent).
    assert ingest(res).success
    assert len(batch_files(res["paths"].lake_location(DOMAIN))) == 1
    with open(path, "a") as fh:
        fh.write(order_line("c", "C1", 1, H1)[20:] + "\n")
    assert ingest(res).success
    build_hours(res, H1, H1)
    got = query(res, "SELECT order_id, source_file, line_number FROM industries.orders ORDER BY 1")
    assert got == [("a", "live.jsonl", 1), ("b", "live.jsonl", 3), ("c", "live.jsonl", 4)]


def test_repeated_order_ids_counted_once(res, tmp_path):
    line = order_line("dup", "C1", 10, H1)
    write_lines(tmp_path / "landing/orders/a.jsonl", [line, line, order_line("x", "C2", 1, H1)])
    assert ingest(res).success
    write_lines(tmp_path / "landing/orders/b.jsonl", [line])  # redelivered in a later batch
    assert ingest(res).success
    build_hours(res, H1, H1)
    assert query(res, "SELECT order_id, count(*) FROM industries.orders GROUP BY 1 ORDER BY 1") \
        == [("dup", 1), ("x", 1)]
    assert query(res, "SELECT customer_id, amount, order_count FROM industries.customer_hourly "
                      "ORDER BY 1") == [("C1", 10, 1), ("C2", 1, 1)]


def test_crash_after_write_before_commit_resumes_from_stored_offsets(res, tmp_path):
    path = tmp_path / "landing/orders/s.jsonl"
    write_lines(path, [order_line(f"o{i}", "C1", 1, H1) for i in range(5)])
    with pytest.raises(Exception, match="simulated crash"):
        ingest(res, crash_after_write=True)
    write_lines(path, [order_line(f"o{i}", "C1", 1, H1) for i in range(5, 8)])
    assert ingest(res).success
    lake = res["paths"].lake_location(DOMAIN)
    assert [seq for seq, _ in batch_files(lake)] == [1, 2]
    rows = query(res, "SELECT count(*), count(DISTINCT order_id) FROM read_parquet(?)",
                 [[lake.path(rel) for _, rel in batch_files(lake)]])
    assert rows == [(8, 8)]  # nothing read twice: the crashed batch's offsets were durable
    assert query(res, "SELECT batch_seq FROM industries.order_batches ORDER BY 1") == [(1,), (2,)]


def test_sensors_late_order_rematerializes_only_its_hour(res, tmp_path, instance):
    defs = _defs(res)
    path = tmp_path / "landing/orders/live.jsonl"
    write_lines(path, [order_line(f"o{h}", "C1", 10, NOW - timedelta(hours=h)) for h in (1, 2, 3)])
    runs, cursor = drain_sensor(defs, "industries_order_stream_sensor", instance)
    assert runs == 1
    reqs, hcur = tick_sensor(defs, "industries_order_hours_sensor", instance, None)
    assert len(reqs) == 1 and reqs[0].tags["dagster/asset_partition_range_start"] == (
        NOW - timedelta(hours=3)).strftime(HOUR_FMT)
    drain_sensor(defs, "industries_order_hours_sensor", instance)
    # A late order, 9 hours old, arrives: exactly its hour is requested, alone.
    late = NOW - timedelta(hours=9, minutes=-5)
    write_lines(path, [order_line("late", "C2", 7, late)])
    reqs, cursor = tick_sensor(defs, "industries_order_stream_sensor", instance, cursor)
    assert len(reqs) == 1
    drain_sensor(defs, "industries_order_stream_sensor", instance, cursor)
    reqs, _ = tick_sensor(defs, "industries_order_hours_sensor", instance, hcur)
    late_key = hour_key(late)
    assert [r.partition_key for r in reqs] == [late_key]  # one hour: a partition, no range
    runs, _ = drain_sensor(defs, "industries_order_hours_sensor", instance, hcur)
    assert runs == 1
    mat = instance.get_latest_materialization_event(ORDERS).asset_materialization
    assert mat.partition == late_key
    assert mat.metadata["rows_read"].value == 1  # that hour's rows only, not the history
    assert query(res, "SELECT count(*) FROM industries.orders")[0][0] == 4


def test_hour_ranges():
    keys = ["2025-01-01-03:00", "2025-01-01-01:00", "2025-01-01-02:00", "2025-01-01-07:00"]
    assert hour_ranges(keys) == [
        ("2025-01-01-01:00", "2025-01-01-03:00"), ("2025-01-01-07:00", "2025-01-01-07:00")]
    # quiet hours in between join runs up to the gap (a history with quiet nights: one run)
    assert hour_ranges(keys + ["2025-01-02-07:00"], timedelta(hours=24)) == [
        ("2025-01-01-01:00", "2025-01-02-07:00")]
    assert hour_ranges(keys + ["2025-01-02-07:00"], timedelta(hours=4)) == [
        ("2025-01-01-01:00", "2025-01-01-07:00"), ("2025-01-02-07:00", "2025-01-02-07:00")]


def test_stream_sensor_waits_while_its_run_is_pending(res, tmp_path, instance):
    """A live stream grows every tick: with one of its runs still queued (or running) the
    sensor asks for no other, so runs cannot pile up faster than they finish."""
    defs = _defs(res)
    path = tmp_path / "landing/orders/live.jsonl"
    write_lines(path, [order_line("o1", "C1", 10, NOW - timedelta(hours=1))])
    reqs, cursor = tick_sensor(defs, "industries_order_stream_sensor", instance, None)
    assert len(reqs) == 1
    running = instance.add_run(dg.DagsterRun(
        job_name="__ASSET_JOB", run_id=str(uuid.uuid4()), status=dg.DagsterRunStatus.STARTED,
        tags={"dagster/sensor_name": "industries_order_stream_sensor"}))
    write_lines(path, [order_line("o2", "C1", 11, NOW - timedelta(hours=1))])
    reqs, later = tick_sensor(defs, "industries_order_stream_sensor", instance, cursor)
    assert reqs == [] and later == cursor
    instance.report_run_canceled(running)  # done (here: cancelled) -> asked again
    reqs, _ = tick_sensor(defs, "industries_order_stream_sensor", instance, cursor)
    assert len(reqs) == 1
