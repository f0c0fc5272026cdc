"""Dagster assets of the customers domain: extract -> clean/aggregate (warehouse) -> load.

Data passes between steps as Parquet under `lake/customers/` (inspectable by a person on
call), so the load step never opens the DuckDB warehouse: its retries while MongoDB is
down do not hold the `warehouse` pool.
"""


import os
import time
from pathlib import Path

import dagster as dg
import polars as pl

from assets.customers import cleaning, documents, insights
from assets.customers.source import TABLES, describe_url, extract_table
from resources import DocumentStore, PlatformPaths, SqlSource, Warehouse

DOMAIN = "customers"
RETRY = dg.RetryPolicy(
    max_retries=3, delay=15, backoff=dg.Backoff.EXPONENTIAL, jitter=dg.Jitter.PLUS_MINUS
)

SOURCE_KEYS = [dg.AssetKey([DOMAIN, "ecommerce_db", table]) for table in TABLES]
EXTRACT_KEY = dg.AssetKey([DOMAIN, "ecommerce_extract"])
INSIGHT_NAMES = ("top_customers", "top_products", "category_ratings", "monthly_sales")
WAREHOUSE_TABLES = ("customer_aggregates", *INSIGHT_NAMES, "rejected_rows")
WAREHOUSE_KEYS = {name: dg.AssetKey([DOMAIN, name]) for name in WAREHOUSE_TABLES}
DOC_CUSTOMERS_KEY = dg.AssetKey([DOMAIN, "docstore_customer_aggregates"])
DOC_INSIGHTS_KEY = dg.AssetKey([DOMAIN, "docstore_insights"])

WAREHOUSE_DDL = {
    "customer_aggregates": """(
        customer_id BIGINT PRIMARY KEY, name VARCHAR, email VARCHAR, country VARCHAR,
        total_amount_spent DECIMAL(18, 2) NOT NULL, total_orders BIGINT NOT NULL,
        average_order_value DECIMAL(18, 2), total_products_ordered BIGINT NOT NULL,
        average_rating DOUBLE)""",
    "top_customers": """(
        rank INTEGER, customer_id BIGINT, name VARCHAR, email VARCHAR, country VARCHAR,
        total_amount_spent DECIMAL(18, 2), total_orders BIGINT)""",
    "top_products": """(
        rank INTEGER, product_id BIGINT, product_name VARCHAR, category_name VARCHAR,
        order_count BIGINT, units_sold BIGINT)""",
    "category_ratings": """(
        category_id BIGINT, category_name VARCHAR, average_rating DOUBLE,
        review_count BIGINT)""",
    "monthly_sales": """(
        month DATE, order_count BIGINT, total_sales DECIMAL(18, 2),
        average_order_value DECIMAL(18, 2), customer_count BIGINT)""",
    "rejected_rows": """(
        source_table VARCHAR, source_key BIGINT, reason VARCHAR)""",
}

SOURCE_SPECS = [
    dg.AssetSpec(
        key,
        group_name=DOMAIN,
        kinds={"sql"},
        description=f"Table `{key.path[-1]}` of the e-commerce source DB (ECOMMERCE_DB_URL).",
    )
    for key in SOURCE_KEYS
]


class DocstoreLoadConfig(dg.Config):
    """How long one attempt waits for the document store before failing (and retrying)."""

    server_selection_timeout_ms: int = 10_000


def extract_dir(paths: PlatformPaths) -> Path:
    return paths.lake(DOMAIN) / "extract"


def output_dir(paths: PlatformPaths) -> Path:
    return paths.lake(DOMAIN) / "output"


def write_parquet_atomic(frame: pl.DataFrame, path: Path) -> None:
    """Write to a temp name then rename, so a reader never sees half a file."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".parquet.tmp")
    frame.write_parquet(tmp)
    os.replace(tmp, path)


def read_extract(paths: PlatformPaths) -> dict[str, pl.DataFrame]:
    return {t: pl.read_parquet(extract_dir(paths) / f"{t}.parquet") for t in TABLES}


def md_preview(frame: pl.DataFrame, rows: int = 5) -> dg.MetadataValue:
    with pl.Config(tbl_formatting="MARKDOWN", tbl_hide_dataframe_shape=True,
                   tbl_hide_column_data_types=True, tbl_rows=rows):
        return dg.MetadataValue.md(str(frame.head(rows)))


def build_assets(retry_policy: dg.RetryPolicy = RETRY) -> list[dg.AssetsDefinition]:
    """The three steps; tests pass a retry policy with tiny delays."""

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
        PostgreSQL) into Parquet under lake/customers/extract/. Retried with backoff when
        the source is unreachable."""
        where = describe_url(ecommerce_db.url)
        attempt = context.retry_number + 1
        context.log.info(f"Extracting {len(TABLES)} tables from {where} (attempt {attempt})")
        counts: dict[str, int] = {}
        started = time.perf_counter()
        try:
            for table in TABLES:
                frame = extract_table(ecommerce_db, table)
                write_parquet_atomic(frame, extract_dir(paths) / f"{table}.parquet")
                counts[table] = frame.height
                context.log.info(f"Extracted {frame.height} rows from {where} table {table}")
        except Exception as exc:
            context.log.error(
                f"Extract from {where} failed on attempt {attempt} at table "
                f"{table!r}: {type(exc).__name__}: {exc}. Retrying with backoff if attempts "
                "remain; check that the source database is reachable."
            )
            raise
        seconds = time.perf_counter() - started
        return dg.MaterializeResult(
            metadata={
                "dagster/row_count": sum(counts.values()),
                "source": where,
                "seconds": round(seconds, 3),
                **{f"rows_{t}": n for t, n in counts.items()},
            }
        )

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
            dg.AssetCheckSpec("customer_id_unique", asset=WAREHOUSE_KEYS["customer_aggregates"]),
            dg.AssetCheckSpec("every_customer_present",
                              asset=WAREHOUSE_KEYS["customer_aggregates"]),
            dg.AssetCheckSpec("amount_matches_orders",
                              asset=WAREHOUSE_KEYS["customer_aggregates"]),
            dg.AssetCheckSpec("at_most_five", asset=WAREHOUSE_KEYS["top_customers"]),
            dg.AssetCheckSpec("at_most_five", asset=WAREHOUSE_KEYS["top_products"]),
        ],
        pool="warehouse",
        name="customers_warehouse_tables",
    )
    def warehouse_tables(context: dg.AssetExecutionContext, warehouse: Warehouse,
                         paths: PlatformPaths):
        """Clean the extract (policy in docs/customers.md), aggregate per customer, compute
        the four insights with Polars; replace the six `customers.*` tables in ONE DuckDB
        transaction and leave Parquet copies for the load step."""
        cleaned = cleaning.clean(read_extract(paths))
        aggregates = insights.customer_aggregates(cleaned)
        results = {"customer_aggregates": aggregates, **insights.all_insights(cleaned, aggregates),
                   "rejected_rows": cleaned.rejected}
        context.log.info(
            f"Cleaned: {cleaned.customers.height} customers, {cleaned.orders.height} orders, "
            f"{cleaned.order_items.height} items, {cleaned.reviews.height} reviews; "
            f"{cleaned.rejected.height} rows set aside ({cleaned.stats})"
        )
        with warehouse.get_connection() as conn:
            conn.execute("BEGIN")
            conn.execute(f"CREATE SCHEMA IF NOT EXISTS {DOMAIN}")
            for name, frame in results.items():
                table = f"{DOMAIN}.{name}"
                conn.execute(f"CREATE TABLE IF NOT EXISTS {table} {WAREHOUSE_DDL[name]}")
                conn.execute(f"DELETE FROM {table}")
                conn.register("_frame", frame.to_arrow())
                conn.execute(f"INSERT INTO {table} SELECT * FROM _frame")
                conn.unregister("_frame")
            conn.execute("COMMIT")
        context.log.info(f"Replaced {len(results)} tables in DuckDB schema {DOMAIN}")
        for name, frame in results.items():
            write_parquet_atomic(frame, output_dir(paths) / f"{name}.parquet")

        placed = insights.placed_orders(cleaned)
        expected_total = placed["total_amount"].sum() if placed.height else 0
        agg_total = aggregates["total_amount_spent"].sum() if aggregates.height else 0
        checks = {
            ("customer_aggregates", "customer_id_unique"):
                aggregates["customer_id"].n_unique() == aggregates.height,
            ("customer_aggregates", "every_customer_present"):
                aggregates.height == cleaned.customers.height,
            ("customer_aggregates", "amount_matches_orders"): agg_total == expected_total,
            ("top_customers", "at_most_five"): results["top_customers"].height <= 5,
            ("top_products", "at_most_five"): results["top_products"].height <= 5,
        }
        for (name, check), passed in checks.items():
            yield dg.AssetCheckResult(asset_key=WAREHOUSE_KEYS[name], check_name=check,
                                      passed=bool(passed))
        for name, frame in results.items():
            metadata = {"dagster/row_count": frame.height, "preview": md_preview(frame)}
            if name == "rejected_rows":
                metadata["by_table"] = dg.MetadataValue.json(
                    dict(frame.group_by("source_table").len().iter_rows())
                )
            if name == "customer_aggregates":
                metadata["cleaning"] = dg.MetadataValue.json(cleaned.stats)
            yield dg.MaterializeResult(asset_key=WAREHOUSE_KEYS[name], metadata=metadata)

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
    )
    def docstore_load(context: dg.AssetExecutionContext, config: DocstoreLoadConfig,
                      docstore: DocumentStore, paths: PlatformPaths):
        """Load the aggregate (upsert by _id, only what changed) and the insights (a new
        document only when its content changed) into MongoDB or the embedded store.
        Retried with exponential backoff and jitter while the store is unreachable."""
        where = ("embedded montydb at " + docstore.path if docstore.embedded
                 else f"MongoDB {describe_url(docstore.uri or '')}") + f" db {docstore.database}"
        attempt = context.retry_number + 1
        aggregates = pl.read_parquet(output_dir(paths) / "customer_aggregates.parquet")
        frames = {n: pl.read_parquet(output_dir(paths) / f"{n}.parquet") for n in INSIGHT_NAMES}
        context.log.info(f"Loading {aggregates.height} customer documents and "
                         f"{len(frames)} insights into {where} (attempt {attempt})")
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
        yield dg.MaterializeResult(asset_key=DOC_CUSTOMERS_KEY, metadata={
            "dagster/row_count": aggregates.height,
            "target": where,
            "inserted": stats.inserted, "updated": stats.updated,
            "unchanged": stats.unchanged, "deleted": stats.deleted,
            "seconds": round(seconds, 3),
        })
        yield dg.MaterializeResult(asset_key=DOC_INSIGHTS_KEY, metadata={
            "dagster/row_count": stats.insights_written,
            "target": where,
            "written": stats.insights_written, "unchanged": stats.insights_unchanged,
        })

    return [ecommerce_extract, warehouse_tables, docstore_load]
