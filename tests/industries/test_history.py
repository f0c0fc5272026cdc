"""A history load is O(1) runs, each hour records its own figures, and no wrong score is ever
published: not before any order is loaded, not against a window the orders do not cover."""

from __future__ import annotations

from datetime import timedelta

import dagster as dg

from assets.industries.common import CUSTOMER_HOURLY, ORDERS, SCORES, hour_key
from cli.runner import drain_sensor, execute_run_request, tick_sensor
from definitions import domain_defs
from tests.industries.conftest import T0, order_line, query, write_customers, write_lines

STREAM, HOURS, CUSTOMERS = (
    "industries_order_stream_sensor", "industries_order_hours_sensor",
    "industries_customers_sensor")


def month(days: int = 30, per_day_hours: tuple[int, ...] = (8, 9, 13, 17)) -> list[str]:
    """Orders on a few daytime hours of each day before T0 (quiet nights in between)."""
    return [
        order_line(f"o{d}-{h}", "C1" if h % 2 else "C2", 10.0 + h,
                   T0 - timedelta(days=d, hours=24 - h))
        for d in range(1, days + 1) for h in per_day_hours
    ]


def scores(res: dict) -> list[tuple]:
    return query(res, "SELECT industry, last_24h, complete FROM industries.industry_change_scores"
                      " ORDER BY rank")


def test_scoring_before_any_order_publishes_nothing_then_a_month_loads_in_one_run(
    res, tmp_path, instance
):
    defs = domain_defs("industries", res)
    write_customers(tmp_path / "landing/customers/c1.csv", "specialized_industries",
                    [("C1", "One", "Food"), ("C2", "Two", "Polymer")])
    # the customer batch lands first: customers + scores run, but there is nothing to score
    assert drain_sensor(defs, CUSTOMERS, instance)[0] == 1
    assert scores(res) == []
    assert instance.get_latest_materialization_event(SCORES) is None
    observed = instance.fetch_observations(SCORES, limit=1).records[0]
    assert "no order is loaded yet" in observed.asset_observation.metadata["skipped"].value

    # a month of history (quiet nights) lands: one stream run, ONE hours run, scored in it
    write_lines(tmp_path / "landing/orders/history.jsonl", month(days=32))
    assert drain_sensor(defs, STREAM, instance)[0] == 1
    requests, _ = tick_sensor(defs, HOURS, instance, None)
    assert len(requests) == 1
    first = hour_key(T0 - timedelta(days=32, hours=16))
    assert requests[0].tags["dagster/asset_partition_range_start"] == first
    assert set(requests[0].asset_selection) >= {ORDERS, CUSTOMER_HOURLY, SCORES}
    assert execute_run_request(defs, requests[0], instance).success
    got = {i: (float(last), complete) for i, last, complete in scores(res)}
    assert got["Food"][0] > 0 and got["Polymer"][0] > 0
    assert {complete for _, complete in got.values()} == {True}  # the window is covered
    as_of = query(res, "SELECT DISTINCT as_of FROM industries.industry_change_scores")[0][0]
    newest = T0 - timedelta(days=1, hours=24 - 17)  # the newest order's hour
    assert as_of == newest + timedelta(hours=1)  # the end of the history, not the clock


def test_orders_before_any_customer_batch_publish_no_score(res, tmp_path, instance):
    defs = domain_defs("industries", res)
    write_lines(tmp_path / "landing/orders/history.jsonl", month(days=3))
    assert drain_sensor(defs, STREAM, instance)[0] == 1
    assert drain_sensor(defs, HOURS, instance)[0] == 1  # orders and rollup loaded, scored...
    assert scores(res) == []  # ...but every order's industry is unknown: nothing published
    observed = instance.fetch_observations(SCORES, limit=1).records[0]
    assert "no customer batch is loaded yet" in observed.asset_observation.metadata[
        "skipped"].value
    write_customers(tmp_path / "landing/customers/c1.csv", "specialized_industries",
                    [("C1", "One", "Food"), ("C2", "Two", "Polymer")])
    assert drain_sensor(defs, CUSTOMERS, instance)[0] == 1
    assert {industry for industry, last, _ in scores(res) if last > 0} == {"Food", "Polymer"}


def test_each_hour_of_a_range_run_shows_its_own_figures_never_the_range(res, tmp_path, instance):
    """A short range (< a day of hours): every hour's latest materialization is its own."""
    defs = domain_defs("industries", res)
    write_lines(tmp_path / "landing/orders/history.jsonl", month(days=1))
    drain_sensor(defs, STREAM, instance)
    (request,), _ = tick_sensor(defs, HOURS, instance, None)
    execute_run_request(defs, request, instance)
    hours = {hour_key(T0 - timedelta(days=1, hours=24 - h)): 1 for h in (8, 9, 13, 17)}
    quiet = hour_key(T0 - timedelta(days=1, hours=24 - 10))  # between orders: rebuilt, empty
    for key, expected in (*hours.items(), (quiet, 0)):
        for asset in (ORDERS, CUSTOMER_HOURLY):
            meta = latest(instance, asset, key)
            assert meta["orders"].value == expected, (asset, key)
            assert meta["dagster/row_count"].value == expected
            assert "run_range" not in meta


def test_a_long_range_labels_its_figures_as_the_runs(res, tmp_path, instance):
    """A month of hours: each hour carries only the run's figures, labelled as such, with
    the hours' own figures in the run's table; nothing that reads as one hour's count."""
    defs = domain_defs("industries", res)
    write_lines(tmp_path / "landing/orders/history.jsonl", month(days=3))
    drain_sensor(defs, STREAM, instance)
    (request,), _ = tick_sensor(defs, HOURS, instance, None)
    execute_run_request(defs, request, instance)
    some_hour = hour_key(T0 - timedelta(days=2, hours=24 - 13))
    meta = latest(instance, ORDERS, some_hour)
    assert "dagster/row_count" not in meta and "orders" not in meta
    assert "partitions in one run" in meta["run_range"].value
    assert f"| {some_hour} | 23.0 | 1 | 1 |" in meta["run_partitions"].value


def latest(instance: dg.DagsterInstance, asset: dg.AssetKey, partition: str) -> dict:
    record = instance.fetch_materializations(
        dg.AssetRecordsFilter(asset_key=asset, asset_partitions=[partition]), limit=1
    ).records[0]
    return record.asset_materialization.metadata


def test_a_short_history_is_published_marked_partial(res, tmp_path, instance):
    defs = domain_defs("industries", res)
    write_customers(tmp_path / "landing/customers/c1.csv", "specialized_industries",
                    [("C1", "One", "Food"), ("C2", "Two", "Polymer")])
    write_lines(tmp_path / "landing/orders/history.jsonl", month(days=3))
    for sensor in (CUSTOMERS, STREAM, HOURS):
        drain_sensor(defs, sensor, instance)
    # 3 days of orders do not cover the 31-day window: published, marked partial
    assert {complete for _, _, complete in scores(res)} == {False}
    meta = instance.get_latest_materialization_event(SCORES).asset_materialization.metadata
    assert meta["complete"].value is False and "after the window" in meta["partial_because"].value
