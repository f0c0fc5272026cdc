"""Product views: landing JSON -> lake Parquet (once) -> `ctr.views_per_minute`."""


import json
from datetime import UTC, datetime
from functools import partial
from pathlib import Path
from typing import Any

import dagster as dg

from api.serving import serving_root
from assets.ctr.backfill import POLICY, per_partition
from assets.ctr.lake import (
    ingest_file,
    landing_files,
    partition_files,
    read_ledger,
    reject_file,
    rejected_path,
)
from assets.ctr.partitions import DOMAIN, VIEWS_LANDING, partitions_def
from assets.ctr.rollups import (
    ensure_tables,
    md,
    publish_and_describe,
    replace_rollup,
)
from assets.ctr.views_parse import NotJsonError
from assets.shared import md_table
from resources import PlatformPaths, Warehouse

view_files = dg.AssetSpec(
    key=[DOMAIN, "product_view_files"],
    group_name=DOMAIN,
    kinds={"json"},
    description="Product-view JSON files (array of batches or JSON Lines) dropped in "
    "`landing/product_views/<Platform>/` by the mobile/web event exporters.",
)


def sync_file(conn: Any, lake: Path, m: dict[str, Any], now: datetime) -> None:
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
    rejected = rejected_path(lake, m["platform"], m["file"])
    if m["rejected_rows"] and rejected.exists():
        conn.execute(
            """INSERT INTO ctr.rejected_view_events
               SELECT ?, ?, batch_no, reason, detail, ? FROM read_parquet(?)""",
            [*key, now, str(rejected)],
        )


@dg.asset(
    key=[DOMAIN, "view_events"],
    deps=[view_files],
    group_name=DOMAIN,
    kinds={"parquet", "duckdb"},
    pool="warehouse",
    check_specs=[
        dg.AssetCheckSpec(
            "no_malformed_batches",
            asset=[DOMAIN, "view_events"],
            description="Files ingested in this run had no malformed batch/event (WARN).",
        )
    ],
)
def view_events(
    context: dg.AssetExecutionContext, paths: PlatformPaths, warehouse: Warehouse
) -> dg.MaterializeResult:
    """Every product view, parsed ONCE from the landing JSON into Parquet.

    Writes `lake/ctr/views/platform=<P>/date=<GMT-03:00 date>/<file>.parquet`, one part per
    source file and date, plus a per-file manifest (sha256, dates, counts) that makes the
    same content a no-op and tells the sensor which partitions a file touched. The ledger
    and the unusable batches/events go to `ctr.view_file_ledger` and
    `ctr.rejected_view_events`. A file that is not JSON at all is moved to
    `landing/product_views/_rejected/<P>/` with a reason and fails the run (after the good
    files are ingested). Why: the raw JSON is read once; everything downstream reads
    columnar Parquet of one day and platform.
    """
    lake = paths.lake(DOMAIN)
    files, ignored = landing_files(paths.landing(VIEWS_LANDING))
    for f in ignored:
        context.log.warning(f"ignored {f}: not under a platform folder (iOS/Android/MobileWeb)")
    loaded: list[dict[str, Any]] = []  # manifests of the files parsed in this run
    unchanged = 0
    bad: list[str] = []
    for platform, path in files:
        try:
            manifest, parsed = ingest_file(path, platform, lake)
        except NotJsonError as exc:
            target = reject_file(path, platform, paths.rejected(VIEWS_LANDING), str(exc))
            context.log.error(f"{path.parent.name}/{path.name}: {exc}; moved to {target}")
            bad.append(f"{path.parent.name}/{path.name}: {exc}")
            continue
        if parsed is None:
            unchanged += 1
            continue
        context.log.info(
            f"{path.parent.name}/{path.name}: {manifest['views']} views on {manifest['dates']}, "
            f"{manifest['rejected_rows']} rejected, parser={manifest['parser']}"
        )
        loaded.append(manifest)

    now = datetime.now(UTC).replace(tzinfo=None)
    with warehouse.get_connection() as conn:
        ensure_tables(conn)
        sql = "SELECT platform, source_file, sha256 FROM ctr.view_file_ledger"
        in_warehouse = set(conn.execute(sql).fetchall())
        # every manifest the warehouse does not have yet (this run's files, and any file whose
        # warehouse step failed earlier): the lake is the source of truth
        to_sync = [
            m for m in read_ledger(lake).values()
            if (m["platform"], m["file"], m["sha256"]) not in in_warehouse
        ]
        conn.execute("BEGIN")
        for m in to_sync:
            sync_file(conn, lake, m, now)
        conn.execute("COMMIT")
    if bad:
        raise dg.Failure(
            description="not JSON, moved to landing/product_views/_rejected/: " + "; ".join(bad),
            metadata={"rejected_files": bad, "files_loaded": len(loaded)},
        )
    malformed = sum(m["malformed_batches"] for m in loaded)
    rejected_rows = sum(m["rejected_rows"] for m in loaded)
    other: dict[str, int] = {}
    for m in loaded:
        for k, v in m["other_events"].items():
            other[k] = other.get(k, 0) + v
    table = md_table(
        ["platform", "file", "views", "dates", "rejected"],
        [(m["platform"], m["file"], m["views"], ", ".join(m["dates"]), m["rejected_rows"])
         for m in loaded[:20]],
    )
    return dg.MaterializeResult(
        metadata={
            "dagster/row_count": sum(m["views"] for m in loaded),
            "files_loaded": len(loaded),
            "files_unchanged": unchanged,
            "files_ignored": len(ignored),
            "malformed_batches": malformed,
            "rejected_rows": rejected_rows,
            "other_event_types": other,
            "partitions_touched": sorted(
                {f"{d}|{m['platform']}" for m in loaded for d in m["dates_touched"]}
            ),
            "preview": md(table),
        },
        check_results=[
            dg.AssetCheckResult(
                check_name="no_malformed_batches",
                passed=rejected_rows == 0,
                severity=dg.AssetCheckSeverity.WARN,
                metadata={"malformed_batches": malformed, "rejected_rows": rejected_rows},
            )
        ],
    )


@dg.asset(
    key=[DOMAIN, "views_per_minute"],
    deps=[view_events],
    partitions_def=partitions_def,
    backfill_policy=POLICY,
    group_name=DOMAIN,
    kinds={"duckdb", "parquet"},
    pool="warehouse",
    check_specs=[
        dg.AssetCheckSpec(
            "views_match_lake",
            asset=[DOMAIN, "views_per_minute"],
            description="Σ count of the partition equals the lake's view rows for it, and "
            "the served per-minute file and 10-minute tier hold the same views.",
        )
    ],
)
def views_per_minute(
    context: dg.AssetExecutionContext, paths: PlatformPaths, warehouse: Warehouse
) -> dg.MaterializeResult:
    """Product views per (platform, product, GMT-03:00 minute) for one day and platform.

    Rolled up from the lake Parquet of the partition, replaced in one transaction, then
    published to `lake/ctr/serving/` for the API. Why: the API's cost then depends on the
    number of (product, minute) cells of the requested days, not on raw event volume.
    """
    return per_partition(context, partial(_views_slice, paths, warehouse))


def _views_slice(
    paths: PlatformPaths, warehouse: Warehouse, day: str, platform: str
) -> dg.MaterializeResult:
    files = partition_files(paths.lake(DOMAIN), platform, day)
    with warehouse.get_connection() as conn:
        ensure_tables(conn)
        conn.execute("BEGIN")
        if files:
            select = """SELECT ?, product, date_trunc('minute', event_time), count(*)
                        FROM read_parquet(?) GROUP BY ALL"""
            rows = replace_rollup(
                conn, "views_per_minute", platform, day, select, [platform, files]
            )
            sql = "SELECT count(*) FROM read_parquet(?)"
            (lake_rows,) = conn.execute(sql, [files]).fetchall()[0]
        else:
            rows = replace_rollup(
                conn, "views_per_minute", platform, day, "SELECT * FROM ctr.views_per_minute "
                "WHERE false", []
            )
            lake_rows = 0
        conn.execute("COMMIT")
        published = publish_and_describe(
            conn, serving_root(paths.root), "views_per_minute", platform, day
        )
    return dg.MaterializeResult(
        metadata={
            "dagster/row_count": rows,
            "views": published.total,
            "products": published.products,
            "lake_files": len(files),
            "serving_file": published.path or "(none: no views)",
            "serving_10min_rows": published.tier_rows,
            "preview": md(published.preview),
        },
        check_results=[
            dg.AssetCheckResult(
                check_name="views_match_lake",
                passed=published.total == lake_rows == published.tier_total
                and published.served == rows,
                metadata={
                    "rollup_views": published.total,
                    "lake_views": int(lake_rows),
                    "served": published.served,
                    "tier_views": published.tier_total,
                },
            )
        ],
    )
