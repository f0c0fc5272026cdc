"""`invoice_files_sensor`: new invoice files → their sync-date partition, then only the
creation-date partitions of `venue_daily_totals` that each file touched."""


import hashlib
import json
import os
from datetime import date

import dagster as dg

from assets.invoices.files import (
    DOMAIN,
    BadInvoiceFile,
    candidate_files,
    is_settled,
    move_aside,
    sync_date_of,
)
from assets.invoices.markdown import date_ranges
from assets.invoices.raw import RAW_KEY, TOUCHED_DATES, raw_invoices
from assets.invoices.totals import TOTALS_KEY, venue_daily_totals
from assets.shared import file_sha256
from resources import PlatformPaths

RAW_OP = "invoices__raw_invoices"


def min_file_age_seconds() -> float:
    """How long a file must be left alone before it is read (INVOICES_FILE_MIN_AGE_SECONDS)."""
    return float(os.environ.get("INVOICES_FILE_MIN_AGE_SECONDS", "5"))


def _file_requests(
    context: dg.SensorEvaluationContext, paths: PlatformPaths, seen: dict[str, str]
) -> list[dg.RunRequest]:
    requests = []
    for path in candidate_files(paths.landing(DOMAIN)):
        if not is_settled(path, min_file_age_seconds()):
            continue
        try:
            sync = sync_date_of(path.name)
        except BadInvoiceFile as exc:
            move_aside(path, paths.rejected(DOMAIN), str(exc))
            context.log.error(f"{exc}; moved to _rejected/")
            continue
        digest = file_sha256(path)
        if seen.get(path.name) == digest:
            continue
        seen[path.name] = digest
        requests.append(
            dg.RunRequest(
                run_key=f"invoice-file:{digest}",
                partition_key=sync.isoformat(),
                asset_selection=[RAW_KEY],
                run_config={"ops": {RAW_OP: {"config": {"files": [path.name]}}}},
                tags={"invoices/file": path.name, "invoices/content_hash": digest[:16]},
            )
        )
    return requests


def _totals_requests(
    context: dg.SensorEvaluationContext, after: int | None
) -> tuple[list[dg.RunRequest], int | None]:
    result = context.instance.fetch_materializations(
        dg.AssetRecordsFilter(asset_key=RAW_KEY, after_storage_id=after),
        limit=1000,
        ascending=True,
    )
    dates: set[date] = set()
    hashes: list[str] = []
    for record in result.records:
        metadata = record.asset_materialization.metadata if record.asset_materialization else {}
        touched = metadata.get(TOUCHED_DATES)
        dates |= {date.fromisoformat(d) for d in (touched.value if touched else [])}
        content = metadata.get("content_hashes")
        hashes += content.value if content else []
        after = record.storage_id
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
    seen: dict[str, str] = cursor.get("seen", {})
    requests = _file_requests(context, paths, seen)
    totals, after = _totals_requests(context, cursor.get("after"))
    return dg.SensorResult(
        run_requests=requests + totals,
        cursor=json.dumps({"seen": seen, "after": after}),
    )
