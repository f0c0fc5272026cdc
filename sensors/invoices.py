"""Sensors of the invoices domain.

`invoice_files_sensor`: new invoice files (by content) → one run of `raw_invoices` over the
sync dates they carry, consecutive dates in one run (bounded: at most a month of dates, so
each sync date still gets its own materialization event, and MAX_FILES files or MAX_BYTES,
so many small files coalesce into few runs of seconds each); dates with no new file between
them split the runs, so no partition is shown as materialized without a file. That run also
brings the creation-date partitions of `venue_daily_totals` the files touched up to date (in
the same transaction as each file's rows) and records them, so the right totals are there
when the run ends: no second run. Its cursor is the landing sequence it acted on; a failed
run is asked again by the one re-ask rule (`sensors/reask.py`).
"""

from __future__ import annotations

import hashlib
import json
import os
from datetime import date, timedelta

import dagster as dg

from assets.invoices.files import DOMAIN, BadInvoiceFile, is_invoice_file, sync_date_of
from assets.invoices.partitions import RAW_KEY, START_DATE, sync_date_partitions
from assets.invoices.raw import raw_invoices
from assets.shared.partitions import OWN_EVENTS_MAX
from resources import PlatformPaths
from resources.lib.landing import Landed, LandingFolder, run_tags
from resources.lib.storage import StoreUnavailable
from sensors import TICK_SECONDS, partitions_of_run
from sensors.reask import Ask, sensor_result

RAW_OP = "invoices__raw_invoices"
SENSOR_NAME = "invoice_files_sensor"
# Per run, at most (each: INVOICES_MAX_FILES_PER_RUN, INVOICES_MAX_MB_PER_RUN): about 3 s
# of loading for one-row files (batched, assets/invoices/load.py) or for 64 MB of CSV: a
# run holds the `warehouse` pool for seconds, and another domain's file waits at most that
# long (bench/freshness_backlog.py).
MAX_FILES = int(os.environ.get("INVOICES_MAX_FILES_PER_RUN", "1000"))
MAX_BYTES = int(float(os.environ.get("INVOICES_MAX_MB_PER_RUN", "64")) * 2**20)


def _sync_partition(name: str) -> str:
    """The sync-date partition a file belongs to; BadInvoiceFile when there is none."""
    key = sync_date_of(name).isoformat()
    if not sync_date_partitions.has_partition_key(key):
        raise BadInvoiceFile(
            f"{name}: sync date {key} has no partition (from {START_DATE} to tomorrow)"
        )
    return key


def _new_files(
    context: dg.SensorEvaluationContext, folder: LandingFolder, after: int
) -> tuple[list[tuple[date, Landed]], int]:
    """The new invoice files with their sync dates (oldest first); a file whose date has no
    partition is moved aside with the reason."""
    changes = folder.changes(after)
    found = []
    for landed in changes.files:
        if not is_invoice_file(landed.rel):
            continue
        try:
            found.append((date.fromisoformat(_sync_partition(landed.name)), landed))
        except BadInvoiceFile as exc:
            folder.reject(landed.path, str(exc))
            context.log.error(f"{exc}; moved to _rejected/")
    return sorted(found, key=lambda f: (f[0], f[1].rel)), changes.seq


def _groups(found: list[tuple[date, Landed]]) -> list[list[tuple[date, Landed]]]:
    """Files of consecutive sync dates together: many small files coalesce into one run,
    bounded (at most OWN_EVENTS_MAX dates, MAX_FILES files, MAX_BYTES bytes) so that one
    run holds the warehouse for seconds, not minutes, and other domains get their turn."""
    groups: list[list[tuple[date, Landed]]] = []
    dates = size = 0
    for day, landed in found:
        last = groups[-1][-1][0] if groups else None
        new_date = last is None or day != last
        if (last is None or day - last > timedelta(days=1) or len(groups[-1]) >= MAX_FILES
                or size + landed.size > MAX_BYTES or (new_date and dates >= OWN_EVENTS_MAX)):
            groups.append([])
            dates = size = 0
            new_date = True
        groups[-1].append((day, landed))
        dates += new_date
        size += landed.size
    return groups


def _request(group: list[tuple[date, Landed]]) -> Ask:
    """One run over the group's sync dates, loading exactly its files; the key names their
    content (one file: its hash, as `invoice-file:<sha256>`)."""
    files = [landed for _, landed in group]
    hashes = sorted({f.sha256 for f in files})
    key = (f"invoice-file:{hashes[0]}" if len(hashes) == 1 else
           "invoice-files:" + hashlib.sha256("\n".join(hashes).encode()).hexdigest())
    first, last = group[0][0].isoformat(), group[-1][0].isoformat()
    return Ask(dg.RunRequest(
        run_key=key,
        asset_selection=[RAW_KEY],
        run_config={"ops": {RAW_OP: {"config": {"files": [f.name for f in files]}}}},
        **partitions_of_run(first, last, run_tags(files)),
    ), landed=max(f.seq for f in files))


@dg.sensor(
    name=SENSOR_NAME,
    target=[raw_invoices],
    default_status=dg.DefaultSensorStatus.RUNNING,
    minimum_interval_seconds=TICK_SECONDS,
)
def invoice_files_sensor(
    context: dg.SensorEvaluationContext, paths: PlatformPaths
) -> dg.SensorResult | dg.SkipReason:
    """Requests one run per group of new files of consecutive sync dates (run key = their
    content); the run records the creation dates of the totals the files touched. A failed
    run is asked again (`sensors.reask`)."""
    cursor = json.loads(context.cursor) if context.cursor else {}
    try:
        found, landing = _new_files(context, paths.landing_folder(DOMAIN),
                                    cursor.get("landing", 0))
    except StoreUnavailable as exc:  # nothing read, the cursor kept: the next tick catches up
        return dg.SkipReason(f"{exc}; looking again at the next tick")
    asks = [_request(group) for group in _groups(found)]
    return sensor_result(context, SENSOR_NAME, asks, cursor=json.dumps({"landing": landing}))


defs = dg.Definitions(sensors=[invoice_files_sensor])
