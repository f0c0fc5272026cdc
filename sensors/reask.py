"""One re-ask rule for every sensor: a run that failed is asked for again until it succeeds.

A sensor's run key names the content it asks for, and Dagster never launches a used key
again: without this, a run that failed for a passing reason (a full disk, a database down
longer than the step retries) left its files unloaded for good. Here, for every request a
sensor makes (`Ask`: the request, keyed by its content, and the landing sequence of its
newest file) and every failed run of that sensor:

- a run that FAILED is asked again as `<key>:retryN`, after a backoff from its end
  (`REASK_DELAYS_SECONDS`, default 60, 300, 900, 3600 s, then hourly), with the same
  config, partitions and tags; at once when its content landed again since (a file deleted
  before its run and copied back);
- a run that marked its input bad (`NO_REASK_TAG`: the file was moved aside), or that a
  person cancelled, or whose failure the daemon retries (crashes), is not asked again,
  unless its content landed again since;
- every retry is visible: `platform/attempt` and `platform/reask_of` on the new run,
  `platform/reask` on the failed one (what became of it), and the tick's log or reason;
- a backlog yields: of the requests of one tick, the first keeps the default priority and
  the others, and every re-ask, get `dagster/priority` -1, so the run queue and the
  `warehouse` pool serve another domain's fresh file before the rest of a backlog.

Details and the tests of each case: docs/reliability.md ("Asked again").
"""

from __future__ import annotations

import os
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime

import dagster as dg

from assets.shared import DOMAIN_TAG, NO_REASK_TAG
from sensors import RANGE_END_TAG, RANGE_START_TAG

ASK_TAG = "platform/ask"  # the content key the run was asked for (its first run key)
SENSOR_TAG = "platform/sensor"  # the sensor that asked for it
ATTEMPT_TAG = "platform/attempt"  # 1 for the first run of a content key, N for the N-th
LANDED_TAG = "platform/landed"  # the landing sequence of the newest file it was asked for
REASK_OF_TAG = "platform/reask_of"  # the failed run a re-ask stands in for
REASK_TAG = "platform/reask"  # on a failed run: what became of it (set once)
PRIORITY_TAG = "dagster/priority"  # Dagster's: orders the run queue and the pools' claims
BACKLOG_PRIORITY = "-1"
DEFAULT_DELAYS = (60, 300, 900, 3600)
LOOKBACK_SECONDS = 7 * 24 * 3600  # failed runs older than this are no longer looked at
SCAN_LIMIT = 200  # failed runs of one sensor looked at per tick
_KEPT = (RANGE_START_TAG, RANGE_END_TAG)  # Dagster's tags a re-asked run must keep


@dataclass(frozen=True)
class Ask:
    """A run a sensor wants: `request.run_key` names its content; `landed`, the landing
    sequence of its newest file (None when it does not come from a landing folder)."""

    request: dg.RunRequest
    landed: int | None = None


@dataclass
class Asked:
    """What the rule decided this tick: the requests to make and notes for the tick."""

    requests: list[dg.RunRequest] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)


def delays() -> tuple[float, ...]:
    """Seconds to wait after the 1st, 2nd, ... failure (the last one repeats)."""
    raw = os.environ.get("REASK_DELAYS_SECONDS", "")
    try:
        values = tuple(float(v) for v in raw.split(",") if v.strip())
    except ValueError:
        raise ValueError(f"REASK_DELAYS_SECONDS={raw!r}: expected seconds, e.g. 60,300") from None
    return values or DEFAULT_DELAYS


def due_at(record: dg.RunRecord) -> float:
    """When a failed run may be asked again: its end plus the backoff of its attempt."""
    attempt = int(record.dagster_run.tags.get(ATTEMPT_TAG, "1"))
    wait = delays()[min(attempt, len(delays())) - 1]
    return (record.end_time or record.update_timestamp.timestamp()) + wait


def _newest(instance: dg.DagsterInstance, key: str) -> dg.RunRecord | None:
    records = instance.get_run_records(dg.RunsFilter(tags={ASK_TAG: key}), limit=1)
    return records[0] if records else None


def _tagged(request: dg.RunRequest, sensor: str, key: str, landed: int | None) -> dg.RunRequest:
    """The first request of a content key, tagged so that its runs can be found (and, for
    assets, with their domain: a job's runs carry the job's own tag)."""
    tags = {**request.tags, SENSOR_TAG: sensor, ASK_TAG: key, ATTEMPT_TAG: "1"}
    if request.asset_selection:
        tags.setdefault(DOMAIN_TAG, request.asset_selection[0].path[0])
    if landed is not None:
        tags[LANDED_TAG] = str(landed)
    return request.with_replaced_attrs(tags=tags)


def _stamp(seconds: float) -> str:
    return datetime.fromtimestamp(seconds, UTC).strftime("%Y-%m-%d %H:%M:%S UTC")


def _retry(request: dg.RunRequest | None, run: dg.DagsterRun, key: str,
           landed: int | None) -> dg.RunRequest:
    """`key` asked again after `run` failed: the sensor's fresh `request` when it has one
    (the same content, perhaps under new names), else a copy of the failed run."""
    attempt = int(run.tags.get(ATTEMPT_TAG, "1")) + 1
    tags = {SENSOR_TAG: run.tags.get(SENSOR_TAG, ""), ASK_TAG: key, ATTEMPT_TAG: str(attempt),
            REASK_OF_TAG: run.run_id}
    if landed is not None:
        tags[LANDED_TAG] = str(landed)
    run_key = f"{key}:retry{attempt - 1}"
    if request is not None:
        return request.with_replaced_attrs(run_key=run_key, tags={**request.tags, **tags})
    kept = {k: v for k, v in run.tags.items() if not k.startswith("dagster/") or k in _KEPT}
    target = ({"asset_selection": list(run.asset_selection or [])}
              if run.job_name.startswith("__ASSET_JOB") else {"job_name": run.job_name})
    checks = list(run.asset_check_selection) if run.asset_check_selection else None
    return dg.RunRequest(
        run_key=run_key, run_config=run.run_config, tags={**kept, **tags},
        partition_key=run.tags.get("dagster/partition"), asset_check_keys=checks, **target,
    )


def _follow(instance: dg.DagsterInstance, record: dg.RunRecord, key: str, ask: Ask | None,
            now: float, asked: Asked) -> None:
    """Decide for the newest run of `key`: nothing (it runs, waits or succeeded), wait for
    its backoff, stop (bad input, cancelled), or ask again."""
    run = record.dagster_run
    if run.status not in (dg.DagsterRunStatus.FAILURE, dg.DagsterRunStatus.CANCELED):
        return
    if run.tags.get("dagster/will_retry") == "true":
        return  # a crash: the daemon's run retries take it (dagster.yaml)
    landed = ask.landed if ask is not None else None
    again = landed is not None and landed > int(run.tags.get(LANDED_TAG, "-1"))
    stop = ("cancelled" if run.status == dg.DagsterRunStatus.CANCELED
            else run.tags.get(NO_REASK_TAG))
    if stop and not again:
        if REASK_TAG not in run.tags:
            instance.add_run_tags(run.run_id, {REASK_TAG: f"not asked again: {stop}"[:200]})
        return
    if not again and now < due_at(record):
        asked.notes.append(f"{key}: run {run.run_id[:8]} failed; asked again at "
                           f"{_stamp(due_at(record))} (attempt {run.tags.get(ATTEMPT_TAG, 1)})")
        return
    request = _retry(ask.request if ask is not None else None, run, key, landed)
    why = "its content landed again" if again else "after its backoff"
    instance.add_run_tags(run.run_id, {REASK_TAG: f"asked again as {request.run_key} at "
                                                  f"{_stamp(now)} ({why})"[:200]})
    asked.notes.append(f"{key}: run {run.run_id[:8]} failed; asked again as "
                       f"{request.run_key} ({why})")
    asked.requests.append(request)


def _failed(instance: dg.DagsterInstance, sensor: str, now: float) -> list[dg.RunRecord]:
    """This sensor's failed runs of the last LOOKBACK_SECONDS not yet settled."""
    records = instance.get_run_records(
        dg.RunsFilter(tags={SENSOR_TAG: sensor}, statuses=[dg.DagsterRunStatus.FAILURE],
                      updated_after=datetime.fromtimestamp(now - LOOKBACK_SECONDS, UTC)),
        limit=SCAN_LIMIT,
    )
    return [r for r in records if REASK_TAG not in r.dagster_run.tags
            and r.dagster_run.tags.get("dagster/will_retry") != "true"]


def reask(context: dg.SensorEvaluationContext, sensor: str, asks: list[Ask]) -> Asked:
    """The requests to make now for `asks` (the sensor's wishes this tick) and for the
    failed runs of `sensor` it no longer sees (its cursor moved past their files)."""
    instance, now, asked, keys = context.instance, time.time(), Asked(), set()
    for ask in asks:
        key = ask.request.run_key or ""
        keys.add(key)
        record = _newest(instance, key)
        if record is None:
            asked.requests.append(_tagged(ask.request, sensor, key, ask.landed))
        else:
            _follow(instance, record, key, ask, now, asked)
    for failed in _failed(instance, sensor, now):
        key = failed.dagster_run.tags.get(ASK_TAG)
        if key is None or key in keys:
            continue
        keys.add(key)
        newest = _newest(instance, key)
        if newest is not None and newest.dagster_run.run_id != failed.dagster_run.run_id:
            instance.add_run_tags(failed.dagster_run.run_id,
                                  {REASK_TAG: f"superseded by run {newest.dagster_run.run_id}"})
        _follow(instance, newest or failed, key, None, now, asked)
    return asked


def _yielding(requests: list[dg.RunRequest]) -> list[dg.RunRequest]:
    """The tick's requests, a backlog's tail and the re-asks at priority -1 (see above)."""
    return [r if (i == 0 and REASK_OF_TAG not in r.tags) or PRIORITY_TAG in r.tags
            else r.with_replaced_attrs(tags={**r.tags, PRIORITY_TAG: BACKLOG_PRIORITY})
            for i, r in enumerate(requests)]


def sensor_result(context: dg.SensorEvaluationContext, sensor: str, asks: list[Ask],
                  cursor: str | None = None, idle: str | None = None) -> dg.SensorResult:
    """The tick's result: the re-ask rule applied to `asks`; when nothing is asked, the
    reason (`idle`, and the failed runs waiting for their backoff)."""
    asked = reask(context, sensor, asks)
    for note in asked.notes:
        if "asked again as" in note:
            context.log.info(note)
    if asked.requests:
        return dg.SensorResult(run_requests=_yielding(asked.requests), cursor=cursor)
    reason = "; ".join(([idle] if idle else []) + asked.notes) or None
    return dg.SensorResult(cursor=cursor, skip_reason=reason)
