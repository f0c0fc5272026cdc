"""The customers job, its schedule (every 3 hours) and its run-failure sensor.

Failures are recorded in `<data root>/logs/customers_pipeline_failures.jsonl`, a plain
file: it needs neither the DuckDB warehouse (whose write lock another run may hold) nor the
document store (which may be the very system that failed).
"""

import datetime as dt
import json
from pathlib import Path

import dagster as dg

from assets.customers.assets import ASSETS, DOMAIN
from assets.shared import DOMAIN_TAG
from resources import PlatformPaths

JOB_NAME = "customers_insights_job"
FAILURE_LOG = Path("logs") / "customers_pipeline_failures.jsonl"

customers_job = dg.define_asset_job(
    JOB_NAME,
    tags={DOMAIN_TAG: "customers"},
    selection=dg.AssetSelection.assets(*ASSETS),
    description="Extract the e-commerce DB, rebuild customers.* tables, load the documents.",
)

customers_schedule = dg.ScheduleDefinition(
    name="customers_every_3_hours",
    job=customers_job,
    cron_schedule="0 */3 * * *",
    execution_timezone="UTC",
    default_status=dg.DefaultScheduleStatus.RUNNING,
)


def failure_log_path(paths: PlatformPaths) -> Path:
    path = paths.root / FAILURE_LOG
    path.parent.mkdir(parents=True, exist_ok=True)
    return path


def _is_ours(run: dg.DagsterRun, failed_steps: list[str]) -> bool:
    """Our job, a run selecting our assets, or a run in which one of our steps failed."""
    if run.job_name == JOB_NAME:
        return True
    if any(key.path[0] == DOMAIN for key in (run.asset_selection or ())):
        return True
    return any(step.startswith(DOMAIN) for step in failed_steps)


def _error_chain(error: object | None) -> str | None:
    """The error and its causes (a retried step's error is "Exceeded max_retries" <- cause)."""
    messages = []
    while error is not None:
        messages.append(error.message.strip())
        error = error.cause
    return " <- ".join(messages) or None


def _already_recorded(path: Path, run_id: str) -> bool:
    if not path.exists():
        return False
    with path.open() as handle:
        return any(json.loads(line).get("run_id") == run_id for line in handle if line.strip())


@dg.run_failure_sensor(
    name="customers_run_failure_sensor",
    default_status=dg.DefaultSensorStatus.RUNNING,
    description="Appends every failed customers run (job, steps, error) to a JSON-lines file.",
)
def customers_run_failure_sensor(context: dg.RunFailureSensorContext, paths: PlatformPaths) -> None:
    run = context.dagster_run
    step_events = context.get_step_failure_events()
    if not _is_ours(run, [event.step_key or "" for event in step_events]):
        return
    path = failure_log_path(paths)
    if _already_recorded(path, run.run_id):
        return
    steps = [
        {"step": event.step_key, "error": _error_chain(event.event_specific_data.error)}
        for event in step_events
    ]
    record = {
        "run_id": run.run_id,
        "job_name": run.job_name,
        "recorded_at": dt.datetime.now(dt.UTC).isoformat(),
        "message": context.failure_event.message,
        "failed_steps": steps,
    }
    with path.open("a") as handle:
        handle.write(json.dumps(record) + "\n")
    context.log.info(f"Recorded failure of run {run.run_id} ({run.job_name}) in {path}")


defs = dg.Definitions(
    jobs=[customers_job],
    schedules=[customers_schedule],
    sensors=[customers_run_failure_sensor],
)
