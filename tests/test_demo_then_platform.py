"""`make demo` then `make run`: the platform starts on the demo's instance, shows what the
demo made (every partition it materialized) and launches nothing again. The demo runs once
per session: the `after_demo` fixture is in tests/conftest.py (the browser tests use it too)."""

from __future__ import annotations

import logging
from pathlib import Path

import dagster as dg
import duckdb
import pytest

ROOT = Path(__file__).resolve().parents[1]
FILE_SENSORS = ("invoice_files_sensor", "ctr_product_views_sensor", "industries_customers_sensor",
                "industries_order_stream_sensor", "industries_order_hours_sensor",
                "late_payments_extracts_sensor")


def test_the_demo_s_partitions_show_as_materialized(after_demo: tuple[Path, Path]) -> None:
    from assets.invoices.partitions import TOTALS_KEY

    home, data = after_demo
    with duckdb.connect(str(data / "warehouse.duckdb"), read_only=True) as conn:
        dates = {d.isoformat() for (d,) in conn.execute(
            "SELECT DISTINCT created_date FROM invoices.venue_daily_totals").fetchall()}
    with dg.DagsterInstance.from_config(str(home)) as instance:
        shown = instance.get_materialized_partitions(TOTALS_KEY)
    assert dates and dates <= shown  # every date with totals; dates emptied by a correction too


def test_the_platform_started_after_the_demo_launches_nothing(
    after_demo: tuple[Path, Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    from dagster._core.scheduler.instigation import InstigatorType, TickStatus
    from dagster._core.test_utils import create_test_daemon_workspace_context
    from dagster._core.workspace.load_target import ModuleTarget
    from dagster._daemon.sensor import execute_sensor_iteration

    home, data = after_demo
    monkeypatch.setenv("PLATFORM_DATA_DIR", str(data))
    monkeypatch.chdir(ROOT)
    target = ModuleTarget(module_name="definitions", attribute="defs",
                          working_directory=str(ROOT), location_name="definitions")
    with dg.DagsterInstance.from_config(str(home)) as instance:
        before = instance.get_runs_count()
        assert before > 0
        with create_test_daemon_workspace_context(target, instance) as context:
            # every sensor's first tick, from an empty cursor: the whole landing folder is new
            list(execute_sensor_iteration(context, logging.getLogger("test"), None, None))
        assert instance.get_runs_count() == before
        ticks = {}
        for state in instance.all_instigator_state(instigator_type=InstigatorType.SENSOR):
            ticks[state.instigator_name] = instance.get_ticks(
                state.instigator_origin_id, state.selector_id, limit=2)
        for sensor in FILE_SENSORS:  # evaluated, without error, and nothing new launched
            assert [t.status for t in ticks[sensor]] == [TickStatus.SKIPPED], sensor

        # The automation condition of the scores, evaluated from scratch, asks for nothing.
        from definitions import defs

        result = dg.evaluate_automation_conditions(defs=defs, instance=instance)
        assert result.total_requested == 0
