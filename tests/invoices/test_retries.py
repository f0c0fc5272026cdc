"""A database that is briefly down does not leave a file unloaded; a bad file is not retried."""

from __future__ import annotations

import time
from concurrent.futures import ThreadPoolExecutor

import dagster as dg
import pytest

from assets.invoices.partitions import RAW_KEY
from cli.generators.invoices import write_invoice_file
from cli.runner import execute_run_request
from definitions import domain_defs
from resources import build_resources
from tests.invoices.conftest import uid


def step_retries(result: dg.ExecuteInProcessResult) -> int:
    return sum(e.event_type == dg.DagsterEventType.STEP_UP_FOR_RETRY for e in result.all_events)


def wait_for_a_retry(instance: dg.DagsterInstance, timeout: float = 60) -> None:
    """Until a run of `instance` has failed a step and been put up for retry (a fixed sleep
    raced the run's start on a busy machine: the database was back before the first try)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if any(instance.all_logs(run.run_id, of_type=dg.DagsterEventType.STEP_UP_FOR_RETRY)
               for run in instance.get_runs()):
            return
        time.sleep(0.2)
    raise AssertionError(f"no step was put up for retry within {timeout} s")


@pytest.mark.integration
def test_raw_run_retries_through_a_postgres_restart(pg_server, pg_url, tmp_path, monkeypatch):
    monkeypatch.setenv("PLATFORM_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.setenv("INVOICES_DB_URL", pg_url)
    resources = build_resources()
    defs = domain_defs("invoices", resources)
    landing = tmp_path / "data" / "landing" / "invoices"
    write_invoice_file(landing / "invoices_2024-03-01.csv",
                       [["v1", uid(1), "2024-02-27 09:00:00", "10.00"]])
    request = dg.RunRequest(partition_key="2024-03-01", asset_selection=[RAW_KEY])
    pg_server.stop()  # the RDS is restarting when the run starts...
    try:
        with dg.instance_for_test() as instance, ThreadPoolExecutor(1) as pool:
            run = pool.submit(execute_run_request, defs, request, instance)
            wait_for_a_retry(instance)
            # ...and back once the run has failed a try (started from this thread: the
            # server process is tied to the thread that spawns it)
            pg_server.start()
            result = run.result()
    finally:
        pg_server.start()  # no-op when already up
    assert result.success and step_retries(result) >= 1
    import psycopg

    with psycopg.connect(pg_url) as conn:
        assert conn.execute("SELECT count(*) FROM invoices.raw_invoices").fetchone() == (1,)


def test_a_bad_file_fails_at_once_without_retries(invoices_env):
    path = invoices_env.landing / "invoices_2024-03-01.csv"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("venue,id,created,amount\nv1,x,2024-01-01,1\n")
    request = dg.RunRequest(partition_key="2024-03-01", asset_selection=[RAW_KEY])
    with dg.instance_for_test() as instance:
        result = execute_run_request(invoices_env.defs, request, instance, raise_on_error=False)
    assert not result.success and step_retries(result) == 0
