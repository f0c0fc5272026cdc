"""The deployment's run launcher: Dagster's default one, plus a health check of run workers.

Runs are launched in the code server's container (DefaultRunLauncher). When that container
dies (`kill -9`, the OOM killer, a host reboot), its run workers die with it and nobody
marks their runs failed: they stay STARTED forever, hold their pool slots, and their
sensor's re-ask rule (sensors/reask.py) waits for a run that will never end. Here run
monitoring asks the code server that launched a run (its `dagster/grpc_info` tag) whether
it is executing it (the one such question its proxy passes on); a STARTED run it does not
know (the server was restarted) is marked failed, and so retried by the daemon
(dagster.yaml `run_retries`) or asked again by its sensor. A server that does not answer is
not taken for a dead worker (the run is reported running): its runs are judged once it
answers again. docs/reliability.md.
"""

from __future__ import annotations

import json

from dagster._core.launcher import CheckRunHealthResult, DefaultRunLauncher, WorkerStatus
from dagster._core.storage.dagster_run import DagsterRun
from dagster._core.storage.tags import GRPC_INFO_TAG
from dagster._grpc.client import DagsterGrpcClient
from dagster._grpc.types import CanCancelExecutionRequest, CanCancelExecutionResult
from dagster._serdes import deserialize_value


def _client(run: DagsterRun) -> DagsterGrpcClient | None:
    raw = run.tags.get(GRPC_INFO_TAG)
    if not raw:
        return None
    info = json.loads(raw)
    return DagsterGrpcClient(port=info.get("port"), socket=info.get("socket"),
                             host=info.get("host", "localhost"),
                             use_ssl=bool(info.get("use_ssl", False)))


class MonitoredRunLauncher(DefaultRunLauncher):
    """DefaultRunLauncher whose run workers run monitoring can check (see above)."""

    @property
    def supports_check_run_worker_health(self) -> bool:
        return True

    def check_run_worker_health(self, run: DagsterRun) -> CheckRunHealthResult:
        client = _client(run)
        if client is None:
            return CheckRunHealthResult(WorkerStatus.RUNNING, "not launched through a server")
        try:
            found = deserialize_value(client.can_cancel_execution(
                CanCancelExecutionRequest(run_id=run.run_id), timeout=30),
                CanCancelExecutionResult).can_cancel
        except Exception as exc:  # noqa: BLE001 - the server is down or restarting
            return CheckRunHealthResult(
                WorkerStatus.RUNNING, f"code server not answering ({type(exc).__name__})",
                transient=True)
        if found:
            return CheckRunHealthResult(WorkerStatus.RUNNING)
        return CheckRunHealthResult(
            WorkerStatus.NOT_FOUND,
            f"the code server at {client.host}:{client.port or client.socket} is not running "
            "this run (it was restarted, or the run's process died unreported)")
