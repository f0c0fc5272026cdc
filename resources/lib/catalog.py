"""The `commerce` Iceberg catalog: the platform's contract tables for every engine.

One SQL catalog (PyIceberg's `SqlCatalog`: the schema Iceberg's JDBC catalog, Trino's
`iceberg.catalog.type=jdbc` and Spark's `JdbcCatalog` read): SQLite under the state folder
when ICEBERG_CATALOG_URL is unset, PostgreSQL when it names one. Namespace = domain, table =
the warehouse table's name; data and metadata files under `<lake>/<domain>/iceberg/<table>/`.

`publish` replaces a table's rows (or the rows of some values of its partition column) with
what the warehouse committed, in ONE commit holding ONE `overwrite` snapshot, tagged with the
properties given (the Dagster run and partition): a reader of the catalog sees the previous
state or the new one, and time travel never lands on a half-replaced table. A commit that
loses a race with another writer of the same table is retried on the new state. This module
imports neither Dagster nor DuckDB (docs/catalog.md).
"""

from __future__ import annotations

import random
import time
from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pyarrow as pa
from pyiceberg.catalog.sql import SqlCatalog
from pyiceberg.exceptions import (
    CommitFailedException,
    NamespaceAlreadyExistsError,
    NoSuchTableError,
    TableAlreadyExistsError,
    ValidationException,
)
from pyiceberg.table import Table
from sqlalchemy.exc import IntegrityError, OperationalError

from resources.lib.catalog_spec import Spec, add_fields, as_keys, as_spec, slice_files
from resources.lib.storage import Location

CATALOG = "commerce"
ATTEMPTS = 8  # commits lost to concurrent writers of the same table before giving up
# Snapshot isolation: a publication conflicts with a concurrent one only when that one
# removed a file this one replaces (the same rows); PyIceberg's default, serializable with
# no conflict filter, would refuse any file another partition's publication added.
# Old metadata.json files deleted after each commit, the last 20 kept (snapshot expiry:
# resources.lib.catalog_maintenance).
METADATA_PROPERTIES = {"write.metadata.delete-after-commit.enabled": "true",
                       "write.metadata.previous-versions-max": "20"}
TABLE_PROPERTIES = {"write.delete.isolation-level": "snapshot",
                    "write.update.isolation-level": "snapshot", **METADATA_PROPERTIES}
PartitionBy = str | Sequence[tuple[str, str]] | None  # a column (identity) or a spec


class CatalogUnavailable(RuntimeError):
    """The catalog's database (or the lake under it) could not be reached: nothing was
    published, the table stays on its previous snapshot; the next publication repairs it."""


_UNREACHABLE = (OperationalError, OSError)


def _reason(exc: BaseException) -> str:
    """The first line of the driver's message (it names host and port, never a password)."""
    lines = str(getattr(exc, "orig", None) or exc).strip().splitlines()
    return f"{type(exc).__name__}: {lines[0] if lines else ''}"


@dataclass(frozen=True)
class CatalogTarget:
    """Where one run publishes: the catalog, the lake under which its files go, and the
    snapshot properties naming the run (a domain's publisher takes one)."""

    catalog: SqlCatalog
    lake: Location
    properties: Mapping[str, str]
    published: dict[str, int] = field(default_factory=dict)  # `ns.table` -> last snapshot

    def publish(self, identifier: tuple[str, str], data: pa.Table,
                partition_by: PartitionBy = None,
                values: Collection[Any] | None = None) -> int | None:
        """`publish` into this target (the snapshot recorded in `published`)."""
        snapshot = publish(self.catalog, self.lake, identifier, data, self.properties,
                           partition_by, values)
        if snapshot is not None:
            self.published[".".join(identifier)] = snapshot
        return snapshot


def catalog_uri(url: str | None, state: Path) -> str:
    """The SQLAlchemy URL of the catalog database: ICEBERG_CATALOG_URL (a `postgresql://`
    URL is driven by psycopg 3, the platform's driver) or `<state>/catalog.sqlite`."""
    if not url:
        return f"sqlite:///{state / 'catalog.sqlite'}"
    for plain in ("postgresql://", "postgres://"):
        if url.startswith(plain):
            return "postgresql+psycopg://" + url.removeprefix(plain)
    return url


def jdbc_settings(uri: str) -> dict[str, str]:
    """The catalog database of SQLAlchemy URL `uri` as the JVM engines (Trino's and Spark's
    JDBC catalogs) open it: `url`, `driver`, and `user` / `password` when set. Holds the
    password: never log it."""
    from sqlalchemy.engine import make_url

    parsed = make_url(uri)
    backend = parsed.get_backend_name()
    if backend == "sqlite":
        if not parsed.database or parsed.database == ":memory:":
            raise ValueError("a SQLite catalog must be a file for another engine to open it")
        return {"url": f"jdbc:sqlite:{Path(parsed.database).resolve()}",
                "driver": "org.sqlite.JDBC"}
    if backend != "postgresql":
        raise ValueError(f"the JDBC catalog here is SQLite or PostgreSQL, not {backend}")
    port = f":{parsed.port}" if parsed.port else ""
    query = "&".join(f"{k}={v}" for k, v in parsed.query.items() if isinstance(v, str))
    found = {"url": f"jdbc:postgresql://{parsed.host or 'localhost'}{port}/{parsed.database}"
                    + (f"?{query}" if query else ""), "driver": "org.postgresql.Driver"}
    if parsed.username:
        found["user"] = parsed.username
    if parsed.password:
        found["password"] = str(parsed.password)
    return found


def file_io_properties(lake: Location) -> dict[str, str]:
    """PyIceberg FileIO settings for the lake (pyarrow's file systems, as `Location`); on a
    bucket the store's endpoint and keys. Holds the secret: never log it."""
    props = {"py-io-impl": "pyiceberg.io.pyarrow.PyArrowFileIO"}
    if lake.is_local:
        return props
    s = lake.settings
    store = {"s3.endpoint": s.endpoint_url, "s3.access-key-id": s.access_key_id,
             "s3.secret-access-key": s.secret_access_key, "s3.session-token": s.session_token,
             "s3.region": s.region or "us-east-1"}  # fmt: skip
    return props | {k: v for k, v in store.items() if v} | {"s3.force-virtual-addressing": "false"}


def open_catalog(lake: Location, url: str | None, state: Path) -> SqlCatalog:
    """The `commerce` catalog (its tables created on first use; SQLite's folder too)."""
    if not url:
        state.mkdir(parents=True, exist_ok=True)
    try:
        return SqlCatalog(CATALOG, uri=catalog_uri(url, state), warehouse=table_root(lake),
                          **file_io_properties(lake))
    except _UNREACHABLE as exc:
        raise CatalogUnavailable(f"the {CATALOG} catalog is unreachable ({_reason(exc)})"
                                 ) from exc


def table_root(lake: Location, *parts: str) -> str:
    """A URI under the lake as Iceberg metadata records it (`file://` on this disk)."""
    where = lake.child(*parts)
    return f"file://{where.path()}" if where.is_local else where.uri()


def publish(catalog: SqlCatalog, lake: Location, identifier: tuple[str, str], data: pa.Table,
            properties: Mapping[str, str], partition_by: PartitionBy = None,
            values: Collection[Any] | None = None) -> int | None:
    """Replace the rows of table `identifier` (namespace, name) with `data`: all of them, or,
    with `values`, those of these slices of `partition_by` (a column: its values; a spec of
    `resources.lib.catalog_spec`: one tuple per slice; the table is partitioned so).
    Creates the namespace and table when missing; adds `data`'s new columns. Returns the id
    of the snapshot holding these rows (None: the table has none yet)."""
    spec = as_spec(partition_by)
    keys = None if values is None else as_keys(spec, values)
    try:
        return _publish_retried(catalog, lake, identifier, data, properties, spec, keys)
    except _UNREACHABLE as exc:
        raise CatalogUnavailable(
            f"{CATALOG}.{'.'.join(identifier)} not published: the catalog or the lake is "
            f"unreachable ({_reason(exc)}); it keeps its previous snapshot") from exc


def _publish_retried(catalog: SqlCatalog, lake: Location, identifier: tuple[str, str],
                     data: pa.Table, properties: Mapping[str, str], spec: Spec,
                     keys: set[tuple] | None) -> int | None:
    for attempt in range(ATTEMPTS):
        table = _table(catalog, lake, identifier, data.schema, spec)
        try:
            return _overwrite(table, data, properties, spec, keys)
        except (CommitFailedException, ValidationException):  # redone on the new state
            if attempt == ATTEMPTS - 1:
                raise
            time.sleep(random.uniform(0.05, 0.2) * (attempt + 1))  # another writer won
    return None


def _table(catalog: SqlCatalog, lake: Location, identifier: tuple[str, str],
           schema: pa.Schema, spec: Spec) -> Table:
    """The table, created (partitioned by `spec`) when missing."""
    namespace, name = identifier
    try:
        return catalog.load_table(identifier)
    except NoSuchTableError:
        pass
    try:
        catalog.create_namespace_if_not_exists(namespace)
    except (NamespaceAlreadyExistsError, IntegrityError):  # a concurrent writer made it
        pass
    try:
        with catalog.create_table_transaction(
            identifier, schema=schema, location=table_root(lake, namespace, "iceberg", name),
            properties=TABLE_PROPERTIES,
        ) as tx:
            if spec:
                with tx.update_spec() as update:
                    add_fields(update, spec)
    except TableAlreadyExistsError:  # a concurrent creation won: load what it made
        pass
    return catalog.load_table(identifier)


def _overwrite(table: Table, data: pa.Table, properties: Mapping[str, str],
               spec: Spec, keys: set[tuple] | None) -> int | None:
    from pyiceberg.io.pyarrow import _dataframe_to_data_files  # what Table.append uses

    old = ([task.file for task in table.scan().plan_files()] if keys is None
           else slice_files(table, spec, keys))  # whole files: each holds one slice
    if not old and not data.num_rows:  # nothing to replace: the table's state stands
        return table.current_snapshot().snapshot_id if table.current_snapshot() else None
    with table.transaction() as tx:
        known = {f.name for f in tx.table_metadata.schema().fields}
        if any(name not in known for name in data.schema.names):
            with tx.update_schema() as update:
                update.union_by_name(data.schema)
        with tx.update_snapshot(snapshot_properties=dict(properties)).overwrite() as snap:
            for file in old:
                snap.delete_data_file(file)
            new = (_dataframe_to_data_files(table_metadata=tx.table_metadata, df=data,
                                            io=table.io, write_uuid=snap.commit_uuid)
                   if data.num_rows else ())  # a slice emptied: its files go, none come
            for file in new:
                snap.append_data_file(file)
    return table.current_snapshot().snapshot_id
