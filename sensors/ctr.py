"""File-arrival sensor of the ctr domain (import it through `assets.ctr`).

Two kinds of run request, from one cursor:
1. new or changed files in `landing/product_views/<Platform>/` (by sha256 of the content)
   -> one `ctr_ingest_views` run (run_key names the files' content hashes);
2. ingested files whose partitions were not refreshed yet (read from the lake's per-file
   manifests, which list the GMT-03:00 dates each file touched) -> one
   `ctr_refresh_partition` run per touched (date, platform): purchases of that day and both
   per-minute rollups. Nothing else is recomputed.
The sensor never opens the DuckDB warehouse (it reads files only), so it never waits on
the writer's lock.
"""

from __future__ import annotations

import hashlib
import json
from collections import defaultdict

import dagster as dg

from assets.ctr.jobs import ingest_views_job, refresh_partition_job
from assets.ctr.lake import landing_files, read_ledger, source_name
from assets.ctr.partitions import DOMAIN, VIEWS_LANDING, date_partitions, partition_key
from assets.shared import file_sha256
from resources import PlatformPaths

MAX_RETRIES = 3


def _digest(items: list[str]) -> str:
    return hashlib.sha256("\n".join(sorted(items)).encode()).hexdigest()[:16]


def _run_key(context: dg.SensorEvaluationContext, key: str) -> str:
    """`key`, or `key:retryN` when every earlier run of it failed (at most MAX_RETRIES), so a
    transient failure does not leave the same content stuck behind a used run key."""
    runs = context.instance.get_runs(
        filters=dg.RunsFilter(tags={"ctr/run_key_base": key}), limit=MAX_RETRIES + 1
    )
    if runs and len(runs) <= MAX_RETRIES and all(
        r.status == dg.DagsterRunStatus.FAILURE for r in runs
    ):
        return f"{key}:retry{len(runs)}"
    return key


@dg.sensor(
    name="ctr_product_views_sensor",
    jobs=[ingest_views_job, refresh_partition_job],
    minimum_interval_seconds=30,
    default_status=dg.DefaultSensorStatus.RUNNING,
    description="New product-view files -> parse into the lake -> refresh only the "
    "(date, platform) partitions they touched, purchases included.",
)
def ctr_product_views_sensor(
    context: dg.SensorEvaluationContext, paths: PlatformPaths
) -> dg.SensorResult:
    state = json.loads(context.cursor) if context.cursor else {}
    seen: dict[str, list] = state.get("seen", {})
    rolled: set[str] = set(state.get("rolled", []))
    lake = paths.lake(DOMAIN)
    ledger = read_ledger(lake)

    now_seen: dict[str, list] = {}
    pending: list[str] = []
    files, _ = landing_files(paths.landing(VIEWS_LANDING))
    for platform, path in files:
        st = path.stat()
        key = f"{platform}/{source_name(path, platform)}"
        prev = seen.get(key)
        if prev and prev[0] == st.st_size and prev[1] == st.st_mtime_ns:
            sha = prev[2]
        else:
            sha = file_sha256(path)
        now_seen[key] = [st.st_size, st.st_mtime_ns, sha]
        manifest = ledger.get(key)
        if manifest is None or manifest["sha256"] != sha:
            pending.append(f"{key}@{sha}")

    requests: list[dg.RunRequest] = []
    if pending:
        base = f"ctr-ingest:{_digest(pending)}"
        requests.append(
            dg.RunRequest(
                job_name=ingest_views_job.name,
                run_key=_run_key(context, base),
                tags={
                    "ctr/files": ", ".join(sorted(p.split("@")[0] for p in pending))[:1000],
                    "ctr/run_key_base": base,
                },
            )
        )

    current = {f"{k}@{m['sha256']}": m for k, m in ledger.items()}
    fresh = {fid: m for fid, m in current.items() if fid not in rolled}
    latest = date_partitions.get_last_partition_key() or ""
    touched: dict[tuple[str, str], list[str]] = defaultdict(list)
    for fid, m in fresh.items():
        for day in m["dates_touched"]:
            if day <= latest:
                touched[(day, m["platform"])].append(fid)
            else:
                context.log.warning(f"{fid}: date {day} is after the last partition; skipped")
    for (day, platform), fids in sorted(touched.items()):
        base = f"ctr-refresh:{day}|{platform}:{_digest(fids)}"
        requests.append(
            dg.RunRequest(
                job_name=refresh_partition_job.name,
                partition_key=partition_key(day, platform),
                run_key=_run_key(context, base),
                tags={
                    "ctr/files": ", ".join(sorted(f.split("@")[0] for f in fids))[:1000],
                    "ctr/run_key_base": base,
                },
            )
        )
    cursor = {"seen": now_seen, "rolled": sorted(rolled & set(current) | set(fresh))}
    return dg.SensorResult(run_requests=requests, cursor=json.dumps(cursor))
