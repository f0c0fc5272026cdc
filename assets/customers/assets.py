"""Dagster assets of the customers domain: extract -> clean/aggregate (warehouse) -> load.

Data passes between steps as Parquet under `<lake>/customers/` (inspectable by a person on
call; this disk or LAKE_URL's bucket, through a `Location`), so the load step never opens
the DuckDB warehouse: its retries while MongoDB is
down do not hold the `warehouse` pool. Every asset can be materialized on its own (the
multi-assets are subsettable): a selection writes exactly the tables it names.
"""

import time

import dagster as dg
import polars as pl

from assets.customers import cleaning, documents, insights
from assets.customers.source import TABLES, extract_table
from assets.customers.tables import (
    CHECKS,
    DOMAIN,
    INSIGHT_NAMES,
    SCHEMA,
    WAREHOUSE_KEYS,
    WAREHOUSE_TABLES,
    check_results,
    table_metadata,
)
from assets.shared import POOL, RETRY, LaunchConfig, asset_key
from assets.shared.catalog import publish_tables
from resources import DocumentStore, PlatformPaths, SqlSource, Warehouse
from resources.lib.serving import customers_output
from resources.lib.storage import Location
from resources.sql import transaction

SOURCE_KEYS = [asset_key(DOMAIN, "ecommerce_db", table) for table in TABLES]
EXTRACT_KEY = asset_key(DOMAIN, "ecommerce_extract")
DOC_CUSTOMERS_KEY = asset_key(DOMAIN, "docstore_customer_aggregates")
DOC_INSIGHTS_KEY = asset_key(DOMAIN, "docstore_insights")

SOURCE_SPECS = [
    dg.AssetSpec(
        key,
        group_name=DOMAIN,
        kinds={"sql"},
        description=f"Table `{key.path[-1]}` of the e-commerce source DB (ECOMMERCE_DB_URL).",
    )
    for key in SOURCE_KEYS
]
class DocstoreLoadConfig(LaunchConfig):
    """How long one attempt waits for the document store before failing (and retrying)."""

    server_selection_timeout_ms: int = 10_000


def extract_dir(paths: PlatformPaths) -> Location:
    """The source tables' snapshot: `<lake>/customers/extract/`."""
    return paths.lake_location(DOMAIN).child("extract")


def output_dir(paths: PlatformPaths) -> Location:
    """The tables' Parquet copies: read by the document-store load and by the API."""
    return customers_output(paths.lake_root())


def write_parquet_atomic(frame: pl.DataFrame, folder: Location, name: str) -> str:
    """Replace `<folder>/<name>.parquet` whole (a rename here, one upload on a bucket), so a
    reader never sees half a file. Returns the URI written."""
    return folder.write(f"{name}.parquet", frame.write_parquet)


def read_parquet(folder: Location, name: str) -> pl.DataFrame:
    """`<folder>/<name>.parquet`, read through the location (this disk or a bucket)."""
    with folder.open(f"{name}.parquet") as file:
        return pl.read_parquet(file)


def read_extract(paths: PlatformPaths) -> dict[str, pl.DataFrame]:
    return {t: read_parquet(extract_dir(paths), t) for t in TABLES}


def build_assets(retry_policy: dg.RetryPolicy = RETRY) -> list[dg.AssetsDefinition]:
    """The three steps; tests pass a retry policy with tiny delays."""
    return [_extract(retry_policy), _warehouse_tables(), _docstore_load(retry_policy)]


def _extract(retry_policy: dg.RetryPolicy) -> dg.AssetsDefinition:
    @dg.asset(
        key=EXTRACT_KEY,
        deps=SOURCE_KEYS,
        group_name=DOMAIN,
        kinds={"sql", "polars", "parquet"},
        retry_policy=retry_policy,
    )
    def ecommerce_extract(
        context: dg.AssetExecutionContext, ecommerce_db: SqlSource, paths: PlatformPaths
    ) -> dg.MaterializeResult:
        """Snapshot of the six source tables, read with SQL (one code path for SQLite and
        PostgreSQL) into Parquet under <lake>/customers/extract/. Retried with backoff when
        the source is unreachable."""
        where = ecommerce_db.describe()
        attempt = context.retry_number + 1
        context.log.info(f"Extracting {len(TABLES)} tables from {where} (attempt {attempt})")
        counts: dict[str, int] = {}
        started = time.perf_counter()
        try:
            for table in TABLES:
                frame = extract_table(ecommerce_db, table)
                write_parquet_atomic(frame, extract_dir(paths), table)
                counts[table] = frame.height
                context.log.info(f"Extracted {frame.height} rows from {where} table {table}")
        except Exception as exc:
            context.log.error(
                f"Extract from {where} failed on attempt {attempt} at table "
                f"{table!r}: {type(exc).__name__}: {exc}. Retrying with backoff if attempts "
                "remain; check that the source database is reachable."
            )
            raise
        return dg.MaterializeResult(
            metadata={
                "dagster/row_count": sum(counts.values()),
                "source": where,
                "seconds": round(time.perf_counter() - started, 3),
                **{f"rows_{t}": n for t, n in counts.items()},
            }
        )

    return ecommerce_extract


def _warehouse_tables() -> dg.AssetsDefinition:
    @dg.multi_asset(
        specs=[
            dg.AssetSpec(
                WAREHOUSE_KEYS[name],
                deps=[EXTRACT_KEY],
                group_name=DOMAIN,
                kinds={"duckdb", "polars"},
                description=f"Warehouse table `customers.{name}`.",
            )
            for name in WAREHOUSE_TABLES
        ],
        check_specs=[
            dg.AssetCheckSpec(check, asset=WAREHOUSE_KEYS[table], description=text)
            for (table, check), text in CHECKS.items()
        ],
        pool=POOL,
        name="customers_warehouse_tables",
        can_subset=True,
    )
    def warehouse_tables(context: dg.AssetExecutionContext, warehouse: Warehouse,
                         paths: PlatformPaths):
        """Clean the extract (policy in docs/customers.md), aggregate per customer, compute
        the four insights with Polars; replace the selected `customers.*` tables (all six
        by default) in ONE DuckDB transaction and leave Parquet copies for the load step."""
        cleaned = cleaning.clean(read_extract(paths))
        aggregates = insights.customer_aggregates(cleaned)
        results = {"customer_aggregates": aggregates, **insights.all_insights(cleaned, aggregates),
                   "rejected_rows": cleaned.rejected}
        selected = context.selected_asset_keys
        chosen = {n: f for n, f in results.items() if WAREHOUSE_KEYS[n] in selected}
        context.log.info(
            f"Cleaned: {cleaned.customers.height} customers, {cleaned.orders.height} orders, "
            f"{cleaned.order_items.height} items, {cleaned.reviews.height} reviews; "
            f"{cleaned.rejected.height} rows set aside ({cleaned.stats})"
        )
        with warehouse.get_connection(SCHEMA) as conn, transaction(conn):
            for name, frame in chosen.items():
                conn.execute(f"DELETE FROM {DOMAIN}.{name}")
                conn.from_arrow(frame.to_arrow()).insert_into(f"{DOMAIN}.{name}")
        context.log.info(f"Replaced {len(chosen)} tables in DuckDB schema {DOMAIN}")
        for name, frame in chosen.items():
            write_parquet_atomic(frame, output_dir(paths), name)
        with warehouse.get_connection(SCHEMA) as conn:  # committed: the catalog may show it
            published = publish_tables(context, paths, conn, *(f"{DOMAIN}.{n}" for n in chosen))
        for (name, check), passed in check_results(cleaned, results).items():
            if dg.AssetCheckKey(WAREHOUSE_KEYS[name], check) in context.selected_asset_check_keys:
                yield dg.AssetCheckResult(asset_key=WAREHOUSE_KEYS[name], check_name=check,
                                          passed=bool(passed))
        for name, frame in chosen.items():
            mine = {k: v for k, v in published.items() if k == f"iceberg_snapshot/{name}"}
            yield dg.MaterializeResult(asset_key=WAREHOUSE_KEYS[name],
                                       metadata={**table_metadata(name, frame, cleaned), **mine})

    return warehouse_tables


def _docstore_load(retry_policy: dg.RetryPolicy) -> dg.AssetsDefinition:
    @dg.multi_asset(
        specs=[
            dg.AssetSpec(DOC_CUSTOMERS_KEY, deps=[WAREHOUSE_KEYS["customer_aggregates"]],
                         group_name=DOMAIN, kinds={"mongodb"},
                         description="Collection `customer_aggregates` (_id = customer_id)."),
            dg.AssetSpec(DOC_INSIGHTS_KEY,
                         deps=[WAREHOUSE_KEYS[name] for name in INSIGHT_NAMES],
                         group_name=DOMAIN, kinds={"mongodb"},
                         description="Collection `insights`: one document per insight and "
                                     "change, latest by (insight, generated_at)."),
        ],
        retry_policy=retry_policy,
        name="customers_docstore_load",
        can_subset=True,
    )
    def docstore_load(context: dg.AssetExecutionContext, config: DocstoreLoadConfig,
                      docstore: DocumentStore, paths: PlatformPaths):
        """Load the aggregate (upsert by _id, only what changed) and the insights (a new
        document only when its content changed) into MongoDB or the embedded store.
        Retried with exponential backoff and jitter while the store is unreachable."""
        where, attempt = docstore.describe(), context.retry_number + 1
        load_customers = DOC_CUSTOMERS_KEY in context.selected_asset_keys
        output = output_dir(paths)
        aggregates = read_parquet(output, "customer_aggregates") if load_customers else None
        frames = ({n: read_parquet(output, n) for n in INSIGHT_NAMES}
                  if DOC_INSIGHTS_KEY in context.selected_asset_keys else {})
        context.log.info(f"Loading {0 if aggregates is None else aggregates.height} customer "
                         f"documents and {len(frames)} insights into {where} (attempt {attempt})")
        started = time.perf_counter()
        try:
            with docstore.get_database(config.server_selection_timeout_ms) as db:
                stats = documents.load_all(db, aggregates, frames, docstore.embedded)
        except Exception as exc:
            context.log.error(
                f"Load into {where} failed on attempt {attempt}: {type(exc).__name__}: {exc}. "
                "Retrying with backoff if attempts remain; the load is idempotent, so a "
                "partial write is completed by the next attempt."
            )
            raise
        seconds = time.perf_counter() - started
        context.log.info(
            f"Loaded into {where} in {seconds:.2f}s: customers inserted={stats.inserted} "
            f"updated={stats.updated} unchanged={stats.unchanged} deleted={stats.deleted}; "
            f"insights written={stats.insights_written} unchanged={stats.insights_unchanged}"
        )
        if aggregates is not None:
            yield dg.MaterializeResult(asset_key=DOC_CUSTOMERS_KEY, metadata={
                "dagster/row_count": aggregates.height,
                "target": where,
                "inserted": stats.inserted, "updated": stats.updated,
                "unchanged": stats.unchanged, "deleted": stats.deleted,
                "seconds": round(seconds, 3),
            })
        if frames:
            yield dg.MaterializeResult(asset_key=DOC_INSIGHTS_KEY, metadata={
                "dagster/row_count": stats.insights_written,
                "target": where,
                "written": stats.insights_written, "unchanged": stats.insights_unchanged,
            })

    return docstore_load


ASSETS = build_assets()
