"""Snapshot expiry of the `commerce` catalog: each table keeps its last `keep` snapshots
(time travel reaches that far back), older ones are expired and the files only they
referenced are deleted.

Only files reachable from an expired snapshot and from no kept one are deleted, never a
listing of the folder: a writer's files not committed yet are never touched, and a commit
racing the expiry keeps what it builds on (it starts from the current snapshot, which is
kept). Old `metadata.json` files go with Iceberg's own table properties (TABLE_PROPERTIES
of `resources.lib.catalog`). docs/catalog.md, "Snapshot expiry".
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from pyiceberg.catalog.sql import SqlCatalog
from pyiceberg.exceptions import CommitFailedException
from pyiceberg.table import Table
from pyiceberg.table.snapshots import Snapshot

from resources.lib.catalog import METADATA_PROPERTIES

KEEP = 50  # snapshots kept per table by default; the current one always


@dataclass(frozen=True)
class Expired:
    table: str
    snapshots: int  # expired
    files: int  # deleted (manifest lists, manifests, data files)
    kept: int


def _files(table: Table, snapshots: Iterable[Snapshot],
           read: dict[str, set[str]]) -> set[str]:
    """Every file the snapshots reference: manifest lists, manifests, live data files. A
    manifest is shared by many snapshots: each is read once (`read`, by path)."""
    found: set[str] = set()
    for snapshot in snapshots:
        found.add(snapshot.manifest_list)
        for manifest in snapshot.manifests(table.io):
            path = manifest.manifest_path
            if path not in read:
                read[path] = {entry.data_file.file_path
                              for entry in manifest.fetch_manifest_entry(table.io)}
            found.add(path)
            found |= read[path]
    return found


def expire_table(table: Table, keep: int = KEEP) -> Expired:
    """Expire all but the last `keep` snapshots of `table`; delete what only they used."""
    name = ".".join(table.name()[-2:])
    if any(table.properties.get(k) != v for k, v in METADATA_PROPERTIES.items()):
        with table.transaction() as tx:
            tx.set_properties(METADATA_PROPERTIES)
    snapshots = sorted(table.snapshots(), key=lambda s: s.timestamp_ms)
    current = table.current_snapshot()
    kept = snapshots[-max(keep, 1):]
    expired = [s for s in snapshots[:-len(kept)]
               if current is None or s.snapshot_id != current.snapshot_id]
    if not expired:
        return Expired(name, 0, 0, len(snapshots))
    read: dict[str, set[str]] = {}
    doomed = _files(table, expired, read) - _files(table, kept, read)
    table.maintenance.expire_snapshots().by_ids([s.snapshot_id for s in expired]).commit()
    for path in sorted(doomed):
        table.io.delete(path)
    return Expired(name, len(expired), len(doomed), len(kept))


def expire_catalog(catalog: SqlCatalog, keep: int = KEEP) -> list[Expired]:
    """`expire_table` on every table of every namespace; a table whose expiry lost a race
    with a publication is left for the next time (its files untouched)."""
    done = []
    for (namespace,) in catalog.list_namespaces():
        for identifier in catalog.list_tables(namespace):
            try:
                done.append(expire_table(catalog.load_table(identifier), keep))
            except CommitFailedException:
                continue
    return done
