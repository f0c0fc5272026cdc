"""Sensors of the invoices domain.

`invoice_files_sensor`: a new invoice file (by content) → one run of its sync-date partition
of `raw_invoices`. That run also brings the creation-date partitions of `venue_daily_totals`
the file touched up to date (in the same transaction as the rows) and records them, so the
right totals are there when the run ends: no second run. Its cursor is the landing sequence
it acted on.
"""

from __future__ import annotations

import json

import dagster as dg

from assets.invoices.files import DOMAIN, BadInvoiceFile, is_invoice_file, sync_date_of
from assets.invoices.partitions import RAW_KEY, START_DATE, sync_date_partitions
from assets.invoices.raw import raw_invoices
from resources import PlatformPaths
from sensors import TICK_SECONDS

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


@dg.sensor(
    name="invoice_files_sensor",
    target=[raw_invoices],
    default_status=dg.DefaultSensorStatus.RUNNING,
    minimum_interval_seconds=TICK_SECONDS,
)
def invoice_files_sensor(
    context: dg.SensorEvaluationContext, paths: PlatformPaths
) -> dg.SensorResult:
    """Requests one run per new file (run key = its content hash) for its sync date; the
    run records the creation dates of the totals the file touched."""
    cursor = json.loads(context.cursor) if context.cursor else {}
    files, landing = _file_requests(context, paths, cursor.get("landing", 0))
    return dg.SensorResult(run_requests=files, cursor=json.dumps({"landing": landing}))


defs = dg.Definitions(sensors=[invoice_files_sensor])
