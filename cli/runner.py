"""Run what a sensor or schedule asks for, in this process: used by `make demo` and tests.

A run made for a sensor's request carries the tags the daemon gives it (`dagster/run_key`,
`dagster/sensor_name`): when the daemon later evaluates that sensor from scratch and asks
for the same content again, it finds the run already done and launches nothing.
"""

from __future__ import annotations

import os

import dagster as dg

from sensors import RANGE_END_TAG, RANGE_START_TAG

# Dagster's run tags for the run a sensor's request became.
RUN_KEY_TAG = "dagster/run_key"
SENSOR_NAME_TAG = "dagster/sensor_name"


def execute_run_request(
    defs: dg.Definitions,
    request: dg.RunRequest,
    instance: dg.DagsterInstance,
    raise_on_error: bool = True,
    sensor_name: str | None = None,
) -> dg.ExecuteInProcessResult:
    """Execute one RunRequest (single partition or partition range) in-process; with
    `sensor_name`, tagged as that sensor's run of the request's run key."""
    if request.job_name:
        job = defs.resolve_job_def(request.job_name)
    else:
        job = defs.resolve_implicit_global_asset_job_def()
    tags = dict(request.tags or {})
    if sensor_name and request.run_key:
        tags.update({RUN_KEY_TAG: request.run_key, SENSOR_NAME_TAG: sensor_name})
    partition_key = request.partition_key
    key_range = request.partition_key_range
    if key_range is not None:
        tags[RANGE_START_TAG] = key_range.start
        tags[RANGE_END_TAG] = key_range.end
        partition_key = None
    run_config = dict(request.run_config or {})
    level = os.environ.get("PLATFORM_RUN_LOG_LEVEL")  # e.g. WARNING for a quiet `make demo`
    if level:
        run_config.setdefault("loggers", {"console": {"config": {"log_level": level}}})
    return job.execute_in_process(
        instance=instance,
        partition_key=partition_key,
        asset_selection=list(request.asset_selection) if request.asset_selection else None,
        run_config=run_config or None,
        tags=tags,
        raise_on_error=raise_on_error,
    )


def tick_sensor(
    defs: dg.Definitions, sensor_name: str, instance: dg.DagsterInstance, cursor: str | None
) -> tuple[list[dg.RunRequest], str | None]:
    """Evaluate a sensor once with a real instance; return its run requests and new cursor."""
    sensor = defs.resolve_sensor_def(sensor_name)
    resources = defs.resources or {}
    with dg.build_sensor_context(
        instance=instance, cursor=cursor, definitions=defs, resources=resources
    ) as context:
        result = sensor.evaluate_tick(context)
    return list(result.run_requests or []), result.cursor


def drain_sensor(
    defs: dg.Definitions,
    sensor_name: str,
    instance: dg.DagsterInstance,
    cursor: str | None = None,
    max_ticks: int = 20,
) -> tuple[int, str | None]:
    """Tick a sensor and run its requests until a tick asks for nothing; return runs, cursor."""
    runs = 0
    seen: set[str] = set()
    for _ in range(max_ticks):
        requests, cursor = tick_sensor(defs, sensor_name, instance, cursor)
        fresh = [r for r in requests if r.run_key is None or r.run_key not in seen]
        if not fresh:
            return runs, cursor
        for request in fresh:
            if request.run_key:
                seen.add(request.run_key)
            execute_run_request(defs, request, instance, sensor_name=sensor_name)
            runs += 1
    return runs, cursor
