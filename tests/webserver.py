"""The real Dagster webserver over the code location, for tests that ask it what the UI asks
(GraphQL), launch runs through it and read back what a run left in the logs and storage."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parents[1]
# Runs start at once (no daemon): the webserver launches them in a run worker process.
INSTANCE_YAML = """run_coordinator:
  module: dagster._core.run_coordinator
  class: DefaultRunCoordinator
telemetry:
  enabled: false
"""
LAUNCH = """
mutation Launch($params: ExecutionParams!) { launchRun(executionParams: $params) {
  __typename
  ... on LaunchRunSuccess { run { runId } }
  ... on RunConfigValidationInvalid { errors { message reason } }
  ... on PythonError { message }
  ... on Error { message }
} }
"""
RUN = """
query Run($runId: ID!) { runOrError(runId: $runId) { __typename
  ... on Run { status tags { key value } } } }
"""
ERROR = "error { message stack errorChain { error { message stack } } }"
LOGS = f"""
query Logs($runId: ID!) {{ logsForRun(runId: $runId) {{ __typename
  ... on EventConnection {{ events {{ __typename
    ... on MessageEvent {{ message level stepKey }}
    ... on ExecutionStepFailureEvent {{ {ERROR} }}
    ... on ExecutionStepUpForRetryEvent {{ {ERROR} }}
    ... on RunFailureEvent {{ {ERROR} }}
    ... on EngineEvent {{ {ERROR} }}
    ... on ResourceInitFailureEvent {{ {ERROR} }}
  }} }}
  ... on PythonError {{ message }} }} }}
"""


@dataclass
class Webserver:
    url: str
    home: Path
    log: Path

    def graphql(self, query: str, variables: dict | None = None) -> dict:
        response = httpx.post(f"{self.url}/graphql", timeout=60,
                              json={"query": query, "variables": variables or {}})
        response.raise_for_status()
        body = response.json()
        assert "errors" not in body, body
        return body["data"]

    def launch(self, job: str, run_config: dict | None = None, tags: dict | None = None,
               assets: list[list[str]] | None = None) -> dict:
        """The `launchRun` answer for `job` of the code location."""
        selector = {"repositoryLocationName": "definitions",
                    "repositoryName": "__repository__", "jobName": job}
        if assets:
            selector["assetSelection"] = [{"path": path} for path in assets]
        params = {"selector": selector, "runConfigData": run_config or {},
                  "executionMetadata": {"tags": [{"key": k, "value": v}
                                                 for k, v in (tags or {}).items()]}}
        return self.graphql(LAUNCH, {"params": params})["launchRun"]

    def wait_for_run(self, run_id: str, timeout: float = 300) -> str:
        deadline = time.monotonic() + timeout
        while True:
            status = self.graphql(RUN, {"runId": run_id})["runOrError"]["status"]
            if status in ("SUCCESS", "FAILURE", "CANCELED"):
                return status
            assert time.monotonic() < deadline, f"run {run_id} still {status}"
            time.sleep(1)

    def logs(self, run_id: str) -> list[dict]:
        """The run's event log as the UI's run page reads it (`logsForRun`)."""
        return self.graphql(LOGS, {"runId": run_id})["logsForRun"]["events"]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@contextmanager
def webserver(tmp_path: Path, env: dict[str, str], *args: str) -> Iterator[Webserver]:
    """`dagster-webserver -m definitions` (plus `args`) with `env` on top of this process'
    environment, a fresh DAGSTER_HOME and data root under `tmp_path`."""
    port = free_port()
    home = tmp_path / "dagster_home"
    home.mkdir(exist_ok=True)
    (home / "dagster.yaml").write_text(INSTANCE_YAML)
    full_env = {**os.environ, "DAGSTER_HOME": str(home),
                "PLATFORM_DATA_DIR": str(tmp_path / "data"), **env}
    log_path = tmp_path / "webserver.log"
    with log_path.open("w") as log:
        proc = subprocess.Popen(
            [sys.executable, "-m", "dagster_webserver", "-m", "definitions",
             "-h", "127.0.0.1", "-p", str(port), *args],
            cwd=ROOT, env=full_env, stdout=log, stderr=subprocess.STDOUT,
        )
        server = Webserver(f"http://127.0.0.1:{port}", home, log_path)
        try:
            _wait_until_up(proc, server)
            yield server
        finally:
            proc.terminate()
            proc.wait(timeout=30)


def _wait_until_up(proc: subprocess.Popen, server: Webserver) -> None:
    deadline = time.monotonic() + 120
    while True:
        assert proc.poll() is None, server.log.read_text()[-3000:]
        try:
            if httpx.get(f"{server.url}/server_info", timeout=2).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        assert time.monotonic() < deadline, "the webserver did not start in 120 s"
        time.sleep(0.5)
