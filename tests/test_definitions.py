"""The code location loads, and holds every asset, check, sensor and schedule the spec names."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import dagster as dg
import duckdb
import pytest

from definitions import defs

ROOT = Path(__file__).resolve().parents[1]

SPEC_TABLES = {
    "invoices": ["raw_invoices", "venue_daily_totals"],
    "ctr": ["views_per_minute", "purchases_per_minute"],
    "industries": ["orders", "customers", "industry_change_scores", "industry_change_history"],
    "late_payments": ["invoice_features"],
    "customers": ["customer_aggregates", "top_customers", "top_products", "category_ratings",
                  "monthly_sales"],
}


def test_definitions_validate_loadable():
    dg.Definitions.validate_loadable(defs)


def _graph() -> dg.AssetGraph:  # type: ignore[name-defined]
    return defs.resolve_asset_graph()


@pytest.mark.parametrize("group", sorted(SPEC_TABLES))
def test_every_spec_table_is_an_asset_of_its_domain_group(group):
    graph = _graph()
    names = {
        key.path[-1]
        for key in graph.get_all_asset_keys()
        if graph.get(key).group_name == group
    }
    missing = set(SPEC_TABLES[group]) - names
    assert not missing, f"group {group!r} lacks assets {sorted(missing)}"


def test_every_materializable_asset_is_described_and_grouped():
    graph = _graph()
    for key in graph.materializable_asset_keys:
        node = graph.get(key)
        assert node.description, f"{key.to_user_string()} has no description"
        assert node.group_name in SPEC_TABLES, f"{key.to_user_string()}: {node.group_name}"


def test_every_domain_has_asset_checks():
    graph = _graph()
    checked_groups = {graph.get(check.asset_key).group_name for check in graph.asset_check_keys}
    assert checked_groups >= set(SPEC_TABLES)


def test_sensors_and_schedules_default_to_running():
    repo = defs.get_repository_def()
    sensors = repo.sensor_defs
    assert {"invoice_files_sensor"} <= {s.name for s in sensors}
    for sensor in sensors:
        assert sensor.default_status == dg.DefaultSensorStatus.RUNNING, sensor.name
    schedules = repo.schedule_defs
    assert schedules, "the spec names schedules (CTR purchases, customer insights every 3 hours)"
    for schedule in schedules:
        assert schedule.default_status == dg.DefaultScheduleStatus.RUNNING, schedule.name
    assert any(s.cron_schedule in ("0 */3 * * *", "0 0/3 * * *") for s in schedules)


def test_warehouse_writers_share_one_pool():
    graph = _graph()
    for key in graph.materializable_asset_keys:
        assets_def = graph.get(key).assets_def
        kinds = graph.get(key).kinds
        if "duckdb" in kinds:
            pools = {op.pool for op in assets_def.node_def.iterate_op_defs()}
            assert pools == {"warehouse"}, f"{key.to_user_string()} writes DuckDB, pool {pools}"


def test_every_asset_can_be_materialized_alone_with_its_upstream():
    """What the UI and `dagster asset materialize --select '*key'` ask for is a valid run."""
    graph = _graph()
    job = defs.resolve_implicit_global_asset_job_def()
    for key in graph.materializable_asset_keys:
        for selection in (dg.AssetSelection.assets(key),
                          dg.AssetSelection.assets(key).upstream()):
            keys = selection.resolve(graph) & graph.materializable_asset_keys
            subset = job.get_subset(asset_selection=keys)
            assert subset.asset_layer.executable_asset_keys >= keys, key.to_user_string()


def test_dagster_validates_the_code_location(tmp_path):
    env = {**os.environ, "PLATFORM_DATA_DIR": str(tmp_path / "data"),
           "DAGSTER_HOME": str(tmp_path)}
    (tmp_path / "dagster.yaml").write_text("telemetry:\n  enabled: false\n")
    done = subprocess.run(
        [str(Path(sys.executable).parent / "dagster"), "definitions", "validate",
         "-m", "definitions"],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=300,
    )
    assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-2000:]
    assert "Validation successful" in done.stdout + done.stderr


def test_one_customers_table_with_its_upstream_from_the_cli(tmp_path):
    """The user's command from the issue: one asset of the customers multi-asset, with its
    upstream, gets a run that writes that table only."""
    from cli.generators.customers import generate

    data = tmp_path / "data"
    generate(data, seed=3, scale=0.05)
    env = {**os.environ, "PLATFORM_DATA_DIR": str(data), "DAGSTER_HOME": str(tmp_path)}
    (tmp_path / "dagster.yaml").write_text("telemetry:\n  enabled: false\n")
    done = subprocess.run(
        [str(Path(sys.executable).parent / "dagster"), "asset", "materialize", "-f",
         "definitions.py", "--select", "*customers/customer_aggregates"],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=300,
    )
    output = done.stdout + done.stderr
    assert done.returncode == 0 and "RUN_SUCCESS" in output, output[-3000:]
    with duckdb.connect(str(data / "warehouse.duckdb"), read_only=True) as conn:
        assert conn.execute("SELECT count(*) FROM customers.customer_aggregates").fetchone()[0]
        assert conn.execute("SELECT count(*) FROM customers.top_customers").fetchone()[0] == 0
