"""Publishing committed warehouse tables to the `commerce` Iceberg catalog.

The asset that owns a warehouse table publishes it after its transaction commits, as it
publishes serving files: the rows are read back from what is committed (a cursor of its
own), so the catalog never shows a state the warehouse did not commit. A step that fails
before publishing leaves the catalog on its previous snapshot; its retry (or the next run)
republishes, which also repairs a crash between commit and publication. Each snapshot
carries the Dagster run id and partition; the asset's metadata shows the snapshot ids.
The mechanism is `resources.lib.catalog.publish`; docs/catalog.md says which tables.
"""

from __future__ import annotations

from collections.abc import Collection, Sequence
from typing import TYPE_CHECKING, Any

import dagster as dg
import duckdb
import pyarrow as pa

from resources import PlatformPaths

if TYPE_CHECKING:  # pyiceberg loads on the first publication, not with the definitions
    from resources.lib.catalog import CatalogTarget


def run_properties(context: dg.AssetExecutionContext) -> dict[str, str]:
    """The snapshot summary's Dagster properties: run id and (when any) partition(s)."""
    props = {"dagster.run_id": context.run.run_id}
    if context.has_partition_key:
        props["dagster.partition"] = context.partition_key
    elif context.has_partition_key_range:  # a single-run backfill of a range
        keys = context.partition_key_range
        props["dagster.partition"] = f"{keys.start}...{keys.end}"
    return props


def catalog_target(context: dg.AssetExecutionContext, paths: PlatformPaths) -> CatalogTarget:
    """This run's publication target: the catalog, the lake, the run's properties."""
    from resources.lib.catalog import CatalogTarget

    return CatalogTarget(paths.catalog(), paths.lake_root(), run_properties(context))


def publish_tables(context: dg.AssetExecutionContext, paths: PlatformPaths,
                   conn: duckdb.DuckDBPyConnection, *tables: str) -> dict[str, Any]:
    """Publish whole warehouse tables (`schema.name`) as `commerce.<schema>.<name>`; the
    metadata entries naming each snapshot (as text: an id has 64 bits)."""
    target = catalog_target(context, paths)  # one catalog opened for all of them
    snapshots = {table: _publish(context, target, conn, table) for table in tables}
    return {_key(table): str(sid) for table, sid in snapshots.items() if sid is not None}


def publish_partitions(context: dg.AssetExecutionContext, paths: PlatformPaths,
                       conn: duckdb.DuckDBPyConnection, table: str, column: str,
                       values: Collection[Any]) -> dict[str, Any]:
    """Publish the rows of `table` whose `column` is one of `values` (the catalog's table
    is partitioned by that column): the other values' rows stay as they are."""
    return publish_slices(context, paths, conn, table, ((column, "identity"),),
                          {(value,) for value in values})


def publish_slices(context: dg.AssetExecutionContext, paths: PlatformPaths,
                   conn: duckdb.DuckDBPyConnection, table: str,
                   spec: Sequence[tuple[str, str]], keys: Collection[tuple]) -> dict[str, Any]:
    """Publish the rows of `table` in these slices of `spec` ((column, transform) pairs,
    `identity` or `day`; one key tuple per slice, a `date` for a day): the catalog's table is
    partitioned by `spec` and the other slices' files stay as they are."""
    columns = [f"k{i}" for i in range(len(spec))]
    wanted = pa.table(dict(zip(columns, zip(*keys, strict=True), strict=True))
                      if keys else {c: [] for c in columns})
    on = " AND ".join(f"{_slice_expr(column, transform)} = k.{key}"
                      for (column, transform), key in zip(spec, columns, strict=True))
    with conn.cursor() as cur:
        cur.register("slice_keys", wanted)
        data = cur.sql(f"SELECT t.* FROM {table} t SEMI JOIN slice_keys k ON {on}"
                       ).to_arrow_table() if keys else None
    return {} if data is None else publish_arrow(context, paths, table, data, spec, keys)


def publish_arrow(context: dg.AssetExecutionContext, paths: PlatformPaths, table: str,
                  data: pa.Table, spec: Sequence[tuple[str, str]],
                  keys: Collection[tuple]) -> dict[str, Any]:
    """Publish committed rows read elsewhere (a lake table on the Spark cluster) as the
    slices `keys` of `table`; the metadata entry naming the snapshot."""
    namespace, name = table.split(".")
    snapshot = catalog_target(context, paths).publish((namespace, name), data, spec, keys)
    context.log.info(f"commerce.{table}: {len(keys)} slices, {data.num_rows} rows published, "
                     f"snapshot {snapshot}")
    return {} if snapshot is None else {_key(table): str(snapshot)}


def _slice_expr(column: str, transform: str) -> str:
    return f"CAST(t.{column} AS DATE)" if transform == "day" else f"t.{column}"


def _publish(context: dg.AssetExecutionContext, target: CatalogTarget,
             conn: duckdb.DuckDBPyConnection, table: str) -> int | None:
    with conn.cursor() as cur:
        data = cur.sql(f"SELECT * FROM {table}").to_arrow_table()
    namespace, name = table.split(".")
    snapshot = target.publish((namespace, name), data)
    context.log.info(f"commerce.{table}: {data.num_rows} rows published, snapshot {snapshot}")
    return snapshot


def snapshot_figures(target: CatalogTarget) -> dict[str, str]:
    """The metadata entries naming the last snapshot each table got through `target`."""
    return {_key(table): str(sid) for table, sid in sorted(target.published.items())}


def _key(table: str) -> str:
    return f"iceberg_snapshot/{table.split('.')[1]}"
