"""The industry scores and their history in the `commerce` catalog: the warehouse's rows
after each scoring run, one snapshot per run naming it, and the scores as of an earlier run
by time travel."""

from __future__ import annotations

from datetime import timedelta

import dagster as dg

from cli.runner import drain_sensor, execute_run_request, tick_sensor
from definitions import domain_defs
from tests.catalog.conftest import assert_catalog_equals_warehouse
from tests.industries.conftest import T0, order_line, query, score, write_customers, write_lines
from tests.industries.test_history import CUSTOMERS, HOURS, STREAM, month

SCORE_COLUMNS = "industry, last_24h, baseline, change_abs, change_pct, rank, as_of, complete"


def _catalog_rows(res: dict, name: str, snapshot_id: int | None = None) -> list[tuple]:
    table = res["paths"].catalog().load_table(("industries", name))
    rows = table.scan(snapshot_id=snapshot_id).to_arrow().to_pylist()
    return sorted((tuple(r[c.strip()] for c in SCORE_COLUMNS.split(",")) for r in rows),
                  key=repr)


def _warehouse_rows(res: dict, name: str) -> list[tuple]:
    return sorted(query(res, f"SELECT {SCORE_COLUMNS} FROM industries.{name}"), key=repr)


def test_each_scoring_run_publishes_its_scores_and_history(res, tmp_path, instance) -> None:
    defs = domain_defs("industries", res)
    write_customers(tmp_path / "landing/customers/c1.csv", "specialized_industries",
                    [("C1", "One", "Food"), ("C2", "Two", "Polymer")])
    drain_sensor(defs, CUSTOMERS, instance)
    write_lines(tmp_path / "landing/orders/history.jsonl", month(days=32))
    drain_sensor(defs, STREAM, instance)
    requests, _ = tick_sensor(defs, HOURS, instance, None)
    assert execute_run_request(defs, requests[0], instance).success
    first = instance.get_latest_materialization_event(dg.AssetKey(["industries",
                                                                   "industry_change_scores"]))
    first_meta = first.asset_materialization.metadata
    first_scores = _warehouse_rows(res, "industry_change_scores")
    assert _catalog_rows(res, "industry_change_scores") == first_scores
    assert _catalog_rows(res, "industry_change_history") == _warehouse_rows(
        res, "industry_change_history")

    # a late order and a rescoring an hour later: new rows in both, history kept
    write_lines(tmp_path / "landing/orders/late.jsonl",
                [order_line("late-1", "C1", 99.0, T0 - timedelta(hours=30))])
    drain_sensor(defs, STREAM, instance)
    result = score(res, as_of=T0 - timedelta(hours=5), instance=instance)
    assert result.success
    assert _catalog_rows(res, "industry_change_scores") == _warehouse_rows(
        res, "industry_change_scores") != first_scores
    history = _warehouse_rows(res, "industry_change_history")
    assert _catalog_rows(res, "industry_change_history") == history
    assert len({r[6] for r in history}) == 2  # two as_of values, each its own partition

    table = res["paths"].catalog().load_table(("industries", "industry_change_scores"))
    summary = table.current_snapshot().summary.additional_properties
    assert summary["dagster.run_id"] == result.run_id
    earlier = int(first_meta["iceberg_snapshot/industry_change_scores"].value)
    assert _catalog_rows(res, "industry_change_scores", earlier) == first_scores  # time travel

    # the lake tables an analyst queries beside them: orders (whole UTC days) and customers
    assert_catalog_equals_warehouse(res["paths"], "industries",
                                    ("orders", "customers", "customer_industries"))
    orders = res["paths"].catalog().load_table(("industries", "orders"))
    assert [(f.name, str(f.transform)) for f in orders.spec().fields] == [("hour_day", "day")]
