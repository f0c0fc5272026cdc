"""A killed run never stalls the platform (issue 15), on the real daemon.

`dagster-daemon run` on a DAGSTER_HOME in tmp_path holding the repository's dagster.yaml, the
invoices tables in the PostgreSQL fixture. The test holds a lock on `invoices.file_ledger`,
so the run of a landed invoice file blocks inside its step, holding the `warehouse` pool
slot; then it kill -9s that run worker, lands a second file and lets the lock go. Before
run monitoring and run retries were configured the slot stayed claimed forever (every later
writer blocked) and the crashed file was never loaded. Now the second file's run starts
its step within a minute of the kill, and the crashed run is retried and loads its file.
"""

from __future__ import annotations

import os
import random
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from datetime import datetime
from pathlib import Path

import dagster as dg
import psycopg
import pytest
from dagster._core.events import DagsterEventType

from assets.invoices.store import open_store
from cli.generators.invoices import invoice_row, write_invoice_file
from resources import InvoicesDb

ROOT = Path(__file__).resolve().parents[1]
SERVER_SETTINGS = ("_DB_URL", "MONGODB_", "KAFKA_", "SPARK_", "DAGSTER_", "ORDERS_TOPIC")
CRASHED, NEXT = "invoices_2024-03-01.csv", "invoices_2024-03-05.csv"
ROWS = 20  # per file


def wait_for(check: Callable[[], object], timeout: float, what: str) -> object:
    """Poll `check` every 0.5 s until it returns something truthy; that value."""
    deadline = time.monotonic() + timeout
    while not (found := check()):
        if time.monotonic() > deadline:
            raise AssertionError(f"waited {timeout:.0f} s for {what}")
        time.sleep(0.5)
    return found


@pytest.fixture
def daemon(tmp_path: Path, pg_url: str) -> Iterator[tuple[dg.DagsterInstance, Path]]:
    """The real daemon (sensors, run queue, monitoring, retries) on a tmp instance and data
    root, embedded resources but for the invoices tables in PostgreSQL."""
    home, data = tmp_path / "home", tmp_path / "data"
    home.mkdir()
    shutil.copy(ROOT / "dagster.yaml", home / "dagster.yaml")
    env = {k: v for k, v in os.environ.items() if not any(s in k for s in SERVER_SETTINGS)}
    env.update(DAGSTER_HOME=str(home), PLATFORM_DATA_DIR=str(data), INVOICES_DB_URL=pg_url,
               LANDING_SETTLE_SECONDS="0", LANDING_SWEEP_SECONDS="0")
    # the storage created (and its schema version stamped) before the daemon and its code
    # server open it: three processes creating one fresh SQLite storage at once can stamp
    # its version twice, and then none of them can load it
    instance = dg.DagsterInstance.from_config(str(home))
    instance.get_runs(limit=1)
    with (tmp_path / "daemon.log").open("w") as log:
        proc = subprocess.Popen(
            [str(Path(sys.executable).parent / "dagster-daemon"), "run", "-m", "definitions"],
            cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True,
        )
    try:
        yield instance, data / "landing" / "invoices"
    finally:
        instance.dispose()
        for sig in (signal.SIGTERM, signal.SIGKILL):  # the daemon's own process group only
            try:
                os.killpg(proc.pid, sig)
                proc.wait(timeout=30)
                break
            except (ProcessLookupError, subprocess.TimeoutExpired):
                continue


def land(folder: Path, name: str, seed: int) -> None:
    rng = random.Random(seed)
    created = datetime(2024, 2, 27, 12)
    write_invoice_file(folder / name, [invoice_row(rng, f"v{seed}", created) for _ in range(ROWS)])


def run_of(instance: dg.DagsterInstance, file: str) -> dg.DagsterRun | None:
    """The (first) run the sensor asked for for `file`."""
    runs = instance.get_runs(dg.RunsFilter(tags={"landing/file": file}))
    originals = [r for r in runs if not r.parent_run_id]
    return originals[0] if originals else None


def step_start(instance: dg.DagsterInstance, run: dg.DagsterRun | None):
    """The STEP_START record of the run's step (its pid, its time), or None yet."""
    if run is None:
        return None
    starts = instance.all_logs(run.run_id, of_type=DagsterEventType.STEP_START)
    return starts[0] if starts else None


def ledger(pg_url: str) -> list[tuple[str, int]]:
    with psycopg.connect(pg_url) as conn:
        return conn.execute(
            "SELECT file_name, rows_loaded FROM invoices.file_ledger ORDER BY 1").fetchall()


def test_a_killed_run_worker_frees_its_slot_and_its_file_is_loaded(daemon, pg_url):
    instance, landing = daemon
    with open_store(InvoicesDb(url=pg_url)):
        pass  # the tables, so that the test can lock one
    lock = psycopg.connect(pg_url)
    lock.execute("LOCK TABLE invoices.file_ledger IN ACCESS EXCLUSIVE MODE")
    land(landing, CRASHED, seed=1)
    started = wait_for(lambda: step_start(instance, run_of(instance, CRASHED)), 150,
                       f"the run of {CRASHED} to start its step")
    crashed = run_of(instance, CRASHED)
    slots = instance.event_log_storage.get_concurrency_info("warehouse").claimed_slots
    assert [s.run_id for s in slots] == [crashed.run_id]  # it holds the one writer slot
    time.sleep(1)  # blocked on the lock, inside its step
    os.kill(started.dagster_event.pid, signal.SIGKILL)
    killed_at = time.time()
    land(landing, NEXT, seed=2)
    lock.rollback()
    lock.close()

    nxt = wait_for(lambda: step_start(instance, run_of(instance, NEXT)), 60,
                   f"the next writer ({NEXT}) to start its step within a minute of the kill")
    assert nxt.timestamp - killed_at < 60
    loaded = wait_for(lambda: len(ledger(pg_url)) == 2 and ledger(pg_url), 90,
                      "both files in invoices.file_ledger")
    assert loaded == [(CRASHED, ROWS), (NEXT, ROWS)]
    with psycopg.connect(pg_url) as conn:  # nothing lost, nothing doubled
        rows = conn.execute("SELECT count(*) FROM invoices.raw_invoices").fetchone()[0]
    assert rows == 2 * ROWS
    assert instance.get_run_by_id(crashed.run_id).status == dg.DagsterRunStatus.FAILURE
    retried = dg.RunsFilter(tags={"dagster/parent_run_id": crashed.run_id})
    wait_for(lambda: [r.status for r in instance.get_runs(retried)]
             == [dg.DagsterRunStatus.SUCCESS], 30, "the one retry of the crashed run to succeed")
    wait_for(lambda: not instance.event_log_storage.get_concurrency_info(
        "warehouse").claimed_slots, 30, "the warehouse slot to be free")
