"""`ctr/view_events`: landed product-view JSON parsed once into the lake Parquet."""

import hashlib
import json
from datetime import UTC, datetime
from typing import Any

import dagster as dg
import pyarrow.parquet as pq

from assets.ctr.catalog import publish_lake
from assets.ctr.intake import Ingested, ingest
from assets.ctr.lake import parse_embedded, read_ledger, rejected_rel
from assets.ctr.partitions import DOMAIN, VIEW_EVENTS, VIEWS_LANDING
from assets.ctr.rollups import SCHEMA
from assets.ctr.spark_engine import SparkViewsParser
from assets.shared import POOL, LaunchConfig, asset_key, md, md_table, no_reask
from resources import PlatformPaths, SparkResource, Warehouse
from resources.lib.landing import LandingFolder
from resources.lib.storage import Location
from resources.sql import transaction

TOUCHED = "partitions_touched"

view_files = dg.AssetSpec(
    key=asset_key(DOMAIN, "product_view_files"),
    group_name=DOMAIN,
    kinds={"json"},
    description="Product-view JSON files (array of batches or JSON Lines) dropped in "
    "`landing/product_views/<Platform>/` by the mobile/web event exporters.",
)


class ViewEventsConfig(LaunchConfig):
    files: list[str] = []
    """Landed files to ingest (`<Platform folder>/<name>`); empty: every landed file."""


def views_folder(paths: PlatformPaths) -> LandingFolder:
    """`landing/product_views/`, one folder per platform."""
    return paths.landing_folder(VIEWS_LANDING, depth=1)


def partitions_touched(manifests: list[dict[str, Any]]) -> dict[str, str]:
    """`date|platform` -> a digest of the files (id and content hash) that touched it: what
    the sensor refreshes, under a run key that names the content."""
    files: dict[str, list[str]] = {}
    for m in manifests:
        for day in m["dates_touched"]:
            files.setdefault(f"{day}|{m['platform']}", []).append(
                f"{m['platform']}/{m['file']}@{m['sha256']}"
            )
    return {
        key: hashlib.sha256("\n".join(sorted(ids)).encode()).hexdigest()[:16]
        for key, ids in sorted(files.items())
    }


def sync_file(conn: Any, lake: Location, m: dict[str, Any], now: datetime) -> None:
    """Replace one file's rows in ctr.view_file_ledger and ctr.rejected_view_events."""
    key = [m["platform"], m["file"]]
    conn.execute("DELETE FROM ctr.view_file_ledger WHERE platform = ? AND source_file = ?", key)
    conn.execute(
        "INSERT INTO ctr.view_file_ledger VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?)",
        [
            *key, m["sha256"], m["size_bytes"], m["batches"], m["events"], m["views"],
            m["rejected_rows"], m["malformed_batches"], json.dumps(m["other_events"]),
            m["dates"], m["parser"], now,
        ],
    )
    conn.execute(
        "DELETE FROM ctr.rejected_view_events WHERE platform = ? AND source_file = ?", key
    )
    rejected = read_rejected(lake, m) if m["rejected_rows"] else None
    if rejected is not None:
        conn.register("ctr_rejected_file", rejected)
        try:
            conn.execute(
                """INSERT INTO ctr.rejected_view_events
                   SELECT ?, ?, batch_no, reason, detail, ? FROM ctr_rejected_file""",
                [*key, now],
            )
        finally:
            conn.unregister("ctr_rejected_file")


def read_rejected(lake: Location, m: dict[str, Any]) -> Any:
    """The file's rejected rows kept in the lake, as an Arrow table (None when absent)."""
    try:
        with lake.open(rejected_rel(m["platform"], m["file"])) as f:
            return pq.read_table(f)
    except FileNotFoundError:
        return None


def sync_warehouse(warehouse: Warehouse, lake: Location) -> None:
    """Copy every manifest the warehouse does not have yet into its ledger tables (this
    run's files, and any file whose warehouse step failed earlier): the lake is the truth."""
    now = datetime.now(UTC).replace(tzinfo=None)
    with warehouse.get_connection(SCHEMA) as conn:
        # the parser too: a copy first recorded as a duplicate, then loaded on its own (its
        # original changed) keeps its hash
        sql = "SELECT platform, source_file, sha256, parser FROM ctr.view_file_ledger"
        in_warehouse = set(conn.execute(sql).fetchall())
        to_sync = [
            m for m in read_ledger(lake).values()
            if (m["platform"], m["file"], m["sha256"], m["parser"]) not in in_warehouse
        ]
        with transaction(conn):
            for m in to_sync:
                sync_file(conn, lake, m, now)


@dg.asset(
    key=VIEW_EVENTS,
    deps=[view_files],
    group_name=DOMAIN,
    kinds={"parquet", "duckdb"},
    pool=POOL,
    check_specs=[
        dg.AssetCheckSpec(
            "no_malformed_batches",
            asset=VIEW_EVENTS,
            description="Files ingested in this run had no malformed batch/event (WARN).",
        )
    ],
)
def view_events(
    context: dg.AssetExecutionContext,
    config: ViewEventsConfig,
    paths: PlatformPaths,
    warehouse: Warehouse,
    spark: SparkResource,
) -> dg.MaterializeResult:
    """Every product view, parsed ONCE from the landing JSON into Parquet (on the Spark
    cluster when SPARK_REMOTE is set, same lake layout and rows: `spark_engine`).

    Writes `<lake>/ctr/views/platform=<P>/date=<GMT-03:00 date>/<file>.parquet` (the lake on
    this disk or LAKE_URL's bucket; landed files read from LANDING_URL's), one part per
    source file and date, plus a per-file manifest (sha256, dates, counts) that makes the
    same content a no-op. The ledger and the unusable batches/events go to
    `ctr.view_file_ledger` and `ctr.rejected_view_events`; the partitions each file touched
    are in the metadata, for the sensor to refresh. A file that is not JSON at all is moved
    to `landing/product_views/_rejected/` with a reason and fails the run (after the good
    files are ingested); a file with the bytes of another is recorded as its duplicate (no
    views); an array file without its closing `]` is left for its writer (`intake`).
    Why: the raw JSON is read once; everything downstream reads
    columnar Parquet of one day and platform.
    """
    lake = paths.lake_location(DOMAIN)
    parse = SparkViewsParser(spark.session()) if spark.enabled else parse_embedded
    done = ingest(context, views_folder(paths), lake, config.files, parse)
    sync_warehouse(warehouse, lake)
    loaded, bad = done.loaded, done.bad
    touched = partitions_touched(loaded)
    published = publish_lake(context, paths, warehouse, lake, list(touched))  # the good ones
    if bad:
        if loaded:  # the good files are in the lake: let the sensor refresh their partitions
            context.log_event(dg.AssetMaterialization(
                asset_key=VIEW_EVENTS,
                description="partial: the files ingested before a bad file failed the run",
                metadata={"files_loaded": len(loaded), TOUCHED: dg.MetadataValue.json(touched)},
            ))
        no_reask(context, "moved to landing/product_views/_rejected/: " + "; ".join(bad))
        raise dg.Failure(
            description="moved to landing/product_views/_rejected/: " + "; ".join(bad),
            metadata={"rejected_files": bad, "files_loaded": len(loaded)},
        )
    return dg.MaterializeResult(
        metadata={**ingest_metadata(done, touched), "engine": spark.describe(), **published},
        check_results=[
            dg.AssetCheckResult(
                check_name="no_malformed_batches",
                passed=sum(m["rejected_rows"] for m in loaded) == 0,
                severity=dg.AssetCheckSeverity.WARN,
                metadata={
                    "malformed_batches": sum(m["malformed_batches"] for m in loaded),
                    "rejected_rows": sum(m["rejected_rows"] for m in loaded),
                },
            )
        ],
    )


def ingest_metadata(done: Ingested, touched: dict[str, str]) -> dict[str, Any]:
    loaded = done.loaded
    other: dict[str, int] = {}
    for m in loaded:
        for k, v in m["other_events"].items():
            other[k] = other.get(k, 0) + v
    table = md_table(
        ["platform", "file", "views", "dates", "rejected"],
        [(m["platform"], m["file"], m["views"], ", ".join(m["dates"]), m["rejected_rows"])
         for m in loaded[:20]],
    )
    return {
        "dagster/row_count": sum(m["views"] for m in loaded),
        "files_loaded": len(loaded),
        "files_unchanged": done.unchanged,
        "files_ignored": done.ignored,
        "files_duplicate": sum(1 for m in loaded if m.get("duplicate_of")),
        "files_unfinished": done.unfinished,
        "malformed_batches": sum(m["malformed_batches"] for m in loaded),
        "rejected_rows": sum(m["rejected_rows"] for m in loaded),
        "other_event_types": other,
        TOUCHED: dg.MetadataValue.json(touched),
        "preview": md(table),
    }
