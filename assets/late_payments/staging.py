"""Typed staging tables, one per extract: `late_payments.stg_<extract>`.

Why a staging layer: every later model can rely on types (DATE, BIGINT, DECIMAL), trimmed
text and unique keys, and every row that did not make it is in `late_payments.rejected_rows`
with its file, physical line and reason. A file that cannot be loaded at all is moved to
`landing/retail/_rejected/` with `<name>.reason.txt` beside it and the run fails naming it.
The landing folder may be on a bucket (LANDING_URL): the file is then read from a temporary
local copy (`LandingFolder.local_copy`). With Spark configured the cluster parses, types and
judges the file (`spark_engine.py`, the same contract) into Parquet under the lake, and the
step loads that into the same tables.
"""

from pathlib import Path
from typing import NoReturn

import dagster as dg

from assets.late_payments import spark_models
from assets.late_payments.common import GROUP, TABLES, key, md_preview
from assets.late_payments.extracts import DOMAIN, EXTRACTS, LANDING, SCHEMA, BadExtractFile, Extract
from assets.late_payments.lake import load_staging
from assets.late_payments.load import LoadStats, load_extract
from assets.shared import POOL, no_reask
from assets.shared.catalog import publish_partitions, publish_tables
from resources import PlatformPaths, SparkResource, Warehouse
from resources.lib.landing import LandingFolder
from resources.lines import first_too_long, max_line_bytes


def _unique_key_check(conn, extract: Extract) -> dg.AssetCheckResult:
    k = extract.key
    total, distinct = conn.execute(
        f"SELECT count(*), count(DISTINCT {k}) FROM {extract.table}"
    ).fetchone()
    dups_in_file = conn.execute(
        f"SELECT count(*) FROM {SCHEMA}.rejected_rows WHERE file = ? AND reason LIKE 'duplicate%'",
        [extract.file_name],
    ).fetchone()[0]
    return dg.AssetCheckResult(
        check_name=f"unique_{k}",
        passed=total == distinct and dups_in_file == 0,
        severity=dg.AssetCheckSeverity.WARN,
        metadata={"rows": total, "distinct_ids": distinct, "duplicates_rejected": dups_in_file},
        description=f"{k} is unique in the extract (later duplicates go to rejected_rows)",
    )


def _stage(
    extract: Extract, path: Path, paths: PlatformPaths, warehouse: Warehouse, spark: SparkResource
) -> tuple[LoadStats, str, list[dg.AssetCheckResult]]:
    """Stage the file on the cluster (CSV -> lake Parquet -> warehouse) or embedded (DuckDB
    reads the CSV); then the preview and the key check, the same for both engines."""
    lake = paths.lake_location(DOMAIN)
    if (long := first_too_long(path)) is not None:  # neither reader can reject it alone
        raise BadExtractFile(f"{path.name}: {long.reason(max_line_bytes())}")
    if spark.enabled:  # the cluster's work first: no warehouse lock held meanwhile
        spark_models.stage(spark.session(), extract, path, lake)
    with warehouse.get_connection(TABLES) as conn:
        if spark.enabled:
            stats = load_staging(conn, extract, path.name, lake)
        else:
            stats = load_extract(conn, extract, path)
        preview = md_preview(conn, f"SELECT * FROM {extract.table} LIMIT 5")
        checks = [_unique_key_check(conn, extract)] if extract.key else []
    return stats, preview, checks


def _move_aside(
    context: dg.AssetExecutionContext, folder: LandingFolder, path: Path, reason: str,
    cause: Exception | None = None,
) -> NoReturn:
    """Move a file that cannot be loaded to `_rejected/` with its reason; fail the step
    naming it (the features already published stay as they are), not to be asked again."""
    target = folder.reject(path, reason)
    no_reask(context, f"{path.name} moved to _rejected/: {reason}")
    raise dg.Failure(
        description=f"bad file {path.name}: {reason} (moved to {target})",
        metadata={"file": path.name, "moved_to": str(target)},
    ) from cause


def build_staging_asset(extract: Extract) -> dg.AssetsDefinition:
    check_specs = (
        [dg.AssetCheckSpec(f"unique_{extract.key}", asset=key(f"stg_{extract.name}"))]
        if extract.key
        else []
    )

    @dg.asset(
        key=key(f"stg_{extract.name}"),
        group_name=GROUP,
        kinds={"duckdb"},
        pool=POOL,
        check_specs=check_specs,
        description=(
            f"`{extract.file_name}` from landing/retail/, trimmed and typed; bad rows go to "
            f"`{SCHEMA}.rejected_rows` with file, physical line and reason."
        ),
    )
    def _staging(
        context: dg.AssetExecutionContext,
        paths: PlatformPaths,
        warehouse: Warehouse,
        spark: SparkResource,
    ) -> dg.MaterializeResult:
        folder = paths.landing_folder(LANDING)
        path = folder.path / extract.file_name
        if not folder.inside(path):  # a link out of the folder: moved aside, never read
            _move_aside(context, folder, path, f"{extract.file_name}: a symbolic link to outside "
                        f"landing/{LANDING}/; not read")
        if not folder.location.exists(extract.file_name):
            no_reask(context, f"landing/{LANDING}/{extract.file_name} is missing")
            raise dg.Failure(
                description=f"landing/{LANDING}/{extract.file_name} is missing: "
                "the set of four extracts is incomplete"
            )
        try:
            with folder.local_copy(extract.file_name) as local:
                size = local.stat().st_size
                stats, preview, checks = _stage(extract, local, paths, warehouse, spark)
        except BadExtractFile as exc:
            _move_aside(context, folder, path, str(exc), exc)
        context.log.info(f"{stats.file}: {stats.loaded} rows staged, {stats.rejected} rejected")
        with warehouse.get_connection(TABLES) as conn:  # committed: the catalog may show it
            published = publish_tables(context, paths, conn, extract.table) | publish_partitions(
                context, paths, conn, f"{SCHEMA}.rejected_rows", "file", [stats.file])
        return dg.MaterializeResult(
            metadata={
                **published,
                "dagster/row_count": stats.loaded,
                "rejected_rows": stats.rejected,
                "file": stats.file,
                "file_bytes": size,
                "engine": spark.describe(),
                "preview": dg.MetadataValue.md(preview),
            },
            check_results=checks,
        )

    return _staging


STAGING_ASSETS = [build_staging_asset(e) for e in EXTRACTS.values()]
