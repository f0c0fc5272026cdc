"""Sensors of the invoices domain.

`invoice_files_sensor`: a new invoice file (by content) → a run of its sync-date partition of
`raw_invoices`; once that run has materialized, one run per contiguous range of the
creation dates it touched of `venue_daily_totals`. Its cursor is two numbers: the landing
sequence it acted on and the last materialization it read.
"""

from __future__ import annotations

import hashlib
import json
from datetime import date

import dagster as dg

from assets.invoices.files import DOMAIN, BadInvoiceFile, is_invoice_file, sync_date_of
from assets.invoices.partitions import START_DATE, sync_date_partitions
from assets.invoices.raw import RAW_KEY, TOUCHED_DATES, raw_invoices
from assets.invoices.totals import TOTALS_KEY, venue_daily_totals
from assets.shared import date_ranges
from resources import PlatformPaths
from sensors.events import materializations_after

RAW_OP = "invoices__raw_invoices"


def _sync_partition(name: str) -> str:
    """The sync-date partition a file belongs to; BadInvoiceFile when there is none."""
    key = sync_date_of(name).isoformat()
    if not sync_date_partitions.has_partition_key(key):
        raise BadInvoiceFile(
            f"{name}: sync date {key} has no partition (from {START_DATE} to tomorrow)"
        )
    return key


def _file_requests(
    context: dg.SensorEvaluationContext, paths: PlatformPaths, after: int
) -> tuple[list[dg.RunRequest], int]:
    folder = paths.landing_folder(DOMAIN)
    changes = folder.changes(after)
    requests = []
    for landed in changes.files:
        if not is_invoice_file(landed.rel):
            continue
        try:
            partition = _sync_partition(landed.name)
        except BadInvoiceFile as exc:
            folder.reject(landed.path, str(exc))
            context.log.error(f"{exc}; moved to _rejected/")
            continue
        requests.append(
            dg.RunRequest(
                run_key=f"invoice-file:{landed.sha256}",
                partition_key=partition,
                asset_selection=[RAW_KEY],
                run_config={"ops": {RAW_OP: {"config": {"files": [landed.name]}}}},
                tags=landed.tags(),
            )
        )
    return requests, changes.seq


def _totals_requests(
    context: dg.SensorEvaluationContext, after: int | None
) -> tuple[list[dg.RunRequest], int | None]:
    events, after = materializations_after(context, RAW_KEY, after)
    dates: set[date] = set()
    hashes: list[str] = []
    for metadata in events:
        touched = metadata.get(TOUCHED_DATES)
        dates |= {date.fromisoformat(d) for d in (touched.value if touched else [])}
        content = metadata.get("content_hashes")
        hashes += content.value if content else []
    if not dates:
        return [], after
    batch = hashlib.sha256("".join(sorted(hashes)).encode()).hexdigest()[:16]
    requests = [
        dg.RunRequest(
            run_key=f"venue-totals:{batch}:{start}:{end}",
            asset_selection=[TOTALS_KEY],
            tags={
                "dagster/asset_partition_range_start": start.isoformat(),
                "dagster/asset_partition_range_end": end.isoformat(),
                "invoices/content_hashes": ",".join(h[:16] for h in sorted(hashes))[:200],
            },
        )
        for start, end in date_ranges(dates)
    ]
    return requests, after


@dg.sensor(
    name="invoice_files_sensor",
    target=[raw_invoices, venue_daily_totals],
    default_status=dg.DefaultSensorStatus.RUNNING,
    minimum_interval_seconds=15,
)
def invoice_files_sensor(
    context: dg.SensorEvaluationContext, paths: PlatformPaths
) -> dg.SensorResult:
    """Requests one run per new file (run key = its content hash) for its sync date, and
    once that run has materialized, one run per contiguous range of the creation dates it
    touched (run key = the files' hashes and the range)."""
    cursor = json.loads(context.cursor) if context.cursor else {}
    files, landing = _file_requests(context, paths, cursor.get("landing", 0))
    totals, after = _totals_requests(context, cursor.get("after"))
    return dg.SensorResult(
        run_requests=files + totals,
        cursor=json.dumps({"landing": landing, "after": after}),
    )


defs = dg.Definitions(sensors=[invoice_files_sensor])
