"""The deployment's run launcher sees run workers that died with their code server (issue 21).

A real `dagster code-server` on a loopback port, a run of a job that sleeps launched through
it (`dagster job launch`, DAGSTER_HOME in tmp_path with `resources.run_launcher`), then the
server's whole process group killed with SIGKILL (as `kill -9` of the user-code container
does) and a new server started on the same port. Before: the run stayed STARTED for ever
(nobody left to mark it) and so was never retried nor asked again. Now run monitoring is told
NOT_FOUND and fails it; while no server answers, the run is not judged.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import dagster as dg
import pytest
from dagster._core.errors import DagsterUserCodeUnreachableError
from dagster._core.launcher import WorkerStatus
from dagster._grpc.client import DagsterGrpcClient

from tests.test_crash_recovery import wait_for

JOB = '''
import time
import dagster as dg

@dg.op
def sleep_a_while():
    time.sleep(120)

@dg.job
def sleepy():
    sleep_a_while()

defs = dg.Definitions(jobs=[sleepy])
'''
CONFIG = """
run_coordinator:
  module: dagster.core.run_coordinator
  class: DefaultRunCoordinator
run_launcher:
  module: resources.run_launcher
  class: MonitoredRunLauncher
telemetry:
  enabled: false
"""


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture
def home(tmp_path: Path) -> Iterator[tuple[Path, dict]]:
    (tmp_path / "home").mkdir()
    (tmp_path / "home/dagster.yaml").write_text(CONFIG)
    (tmp_path / "sleepy.py").write_text(JOB)
    env = {**os.environ, "DAGSTER_HOME": str(tmp_path / "home")}
    yield tmp_path, env


def start_server(folder: Path, env: dict, port: int) -> subprocess.Popen:
    server = subprocess.Popen(
        [sys.executable, "-m", "dagster", "code-server", "start", "-h", "127.0.0.1", "-p",
         str(port), "-f", str(folder / "sleepy.py")], env=env, start_new_session=True,
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)

    def answers() -> bool:
        try:
            DagsterGrpcClient(port=port, host="127.0.0.1").ping("")
            return True
        except DagsterUserCodeUnreachableError:
            return False

    wait_for(answers, 60, "the code server to answer")
    return server


def test_a_run_whose_code_server_died_is_found_dead(home: tuple[Path, dict]) -> None:
    folder, env = home
    port = free_port()
    server = start_server(folder, env, port)
    try:
        subprocess.run([sys.executable, "-m", "dagster", "job", "launch", "-j", "sleepy",
                        "--grpc-host", "127.0.0.1", "--grpc-port", str(port)],
                       env=env, check=True, capture_output=True, timeout=120)
        os.environ["DAGSTER_HOME"], old = env["DAGSTER_HOME"], os.environ.get("DAGSTER_HOME")
        instance = dg.DagsterInstance.get()
        started = dg.DagsterRunStatus.STARTED
        run = wait_for(lambda: next((r for r in instance.get_runs() if r.status == started),
                                    None), 60, f"the run to start: {instance.get_runs()}")
        launcher = instance.run_launcher
        assert launcher.check_run_worker_health(run).status == WorkerStatus.RUNNING

        os.killpg(server.pid, signal.SIGKILL)  # the server and its run worker, like kill -9
        server.wait()
        down = launcher.check_run_worker_health(run)
        assert down.status == WorkerStatus.RUNNING and down.transient, down  # not judged
        assert instance.get_run_by_id(run.run_id).status == started  # nobody marked it

        server = start_server(folder, env, port)
        dead = launcher.check_run_worker_health(run)
        assert dead.status == WorkerStatus.NOT_FOUND, dead
        assert f"127.0.0.1:{port}" in (dead.msg or "")
    finally:
        os.killpg(server.pid, signal.SIGKILL)
        if "old" in locals():
            os.environ.pop("DAGSTER_HOME") if old is None else os.environ.update(
                DAGSTER_HOME=old)
