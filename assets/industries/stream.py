"""The order stream's durable unit: one Parquet file per micro-batch, offsets inside it.

A batch file `<lake>/industries/orders/batches/batch-<seq>.parquet` (a local folder or a
bucket: `PlatformPaths.lake_location`) holds the orders the batch consumed (one row group
per order hour, so re-reading one hour touches only that hour's row groups) and, in its
key-value metadata, the offsets the stream has reached *including* this batch: Kafka
`partition -> next offset`, and for the file stream `file -> [bytes, lines, sha256 of those
bytes, stat signature]` (`file_stream`).
The file is written to a temporary name, fsynced and renamed (on a bucket: built whole here,
then one upload, and an object exists only once its upload completed), so it is there whole
or not at all: the rows and the offsets become durable in the same atomic step. Consumption
always resumes from the offsets in the newest batch file; Kafka's committed offsets are only
a mirror written afterwards (for lag tooling), never what the platform resumes from.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import duckdb
import pyarrow as pa
import pyarrow.dataset as ds
import pyarrow.parquet as pq

from resources.lib.storage import Location, StoreUnavailable

OFFSETS_KEY = b"industries.offsets"
HOURS_KEY = b"industries.hours"
BATCH_RE = re.compile(r"^batch-(\d{8})\.parquet$")

BATCH_SCHEMA = pa.schema(
    [
        ("order_id", pa.string()),
        ("customer_id", pa.string()),
        ("amount", pa.decimal128(18, 2)),
        ("order_ts", pa.timestamp("us", tz="UTC")),
        ("hour", pa.string()),
        ("order_lines", pa.string()),
        ("source", pa.string()),
        ("line", pa.int64()),
        ("batch_seq", pa.int64()),
        ("raw", pa.string()),
        ("reject_reason", pa.string()),
    ]
)


@dataclass
class StreamState:
    """Where the stream stands: the offsets stored in the newest batch file."""

    seq: int = 0
    kafka: dict[str, dict[str, int]] = field(default_factory=dict)  # topic -> partition -> next
    # file name -> [bytes, lines, sha256 of those bytes, stat signature] (file_stream)
    files: dict[str, list] = field(default_factory=dict)

    def to_json(self) -> str:
        return json.dumps({"kafka": self.kafka, "files": self.files}, sort_keys=True)


BATCHES = "orders/batches"  # under the domain's lake location


def batch_rel(seq: int) -> str:
    """Batch file `seq`, relative to the domain's lake location."""
    return f"{BATCHES}/batch-{seq:08d}.parquet"


@contextmanager
def reaching(lake: Location, what: str) -> Iterator[None]:
    """An error of a bucket's store while `what` as StoreUnavailable (sensors skip the tick
    on it); a missing file stays FileNotFoundError, a local error is raised as it is."""
    try:
        yield
    except (StoreUnavailable, FileNotFoundError):
        raise
    except OSError as exc:
        if lake.is_local:
            raise
        raise StoreUnavailable(f"{what} {lake.describe()} failed: {exc}") from exc


def batch_files(lake: Location) -> list[tuple[int, str]]:
    """Committed batch files (seq, rel), oldest first (temporary files are never listed)."""
    out = []
    for entry in lake.child(BATCHES).list(recursive=False):
        match = BATCH_RE.match(entry.rel)
        if match:
            out.append((int(match.group(1)), f"{BATCHES}/{entry.rel}"))
    return sorted(out)


def batches_after(lake: Location, seq: int) -> list[tuple[int, str]]:
    """The batch files after `seq`, found by probing seq+1, seq+2… (batches are numbered
    without gaps), so the cost follows the new batches, not the history."""
    out = []
    with reaching(lake, "probing batch files of"):
        while lake.exists(rel := batch_rel(seq + 1)):
            seq += 1
            out.append((seq, rel))
    return out


def read_batch_meta(lake: Location, rel: str) -> tuple[dict[str, Any], list[str]]:
    """(offsets, hours touched) from a batch file's footer, without reading its rows."""
    with reaching(lake, f"reading {rel} of"), lake.open(rel) as handle:
        meta = pq.read_schema(handle).metadata or {}
    return json.loads(meta.get(OFFSETS_KEY, b"{}")), json.loads(meta.get(HOURS_KEY, b"[]"))


def load_state(lake: Location, known: int = 0) -> StreamState:
    """The stored offsets: the footer of the newest batch file (offsets are cumulative).
    `known` is a batch known to exist (a sensor's last look): the newest is searched from
    there; without it every batch file name is listed once."""
    with reaching(lake, "probing batch files of"):
        found = known and lake.exists(batch_rel(known))
    if found:
        files = [(known, batch_rel(known)), *batches_after(lake, known)]
    else:
        files = batch_files(lake)
    if not files:
        return StreamState()
    seq, rel = files[-1]
    offsets, _ = read_batch_meta(lake, rel)
    return StreamState(seq=seq, kafka=offsets.get("kafka", {}), files=offsets.get("files", {}))


def scan_batches(conn: duckdb.DuckDBPyConnection, lake: Location, rels: list[str],
                 name: str) -> None:
    """Batch files `rels` as the DuckDB view `name`: read by DuckDB itself on this disk, on a
    bucket through a pyarrow dataset (DuckDB pushes its filters down: row groups pruned on
    their statistics either way)."""
    files = [lake.path(rel) for rel in rels]
    if lake.is_local:
        conn.read_parquet(files).create_view(name, replace=True)
    else:
        conn.register(name, ds.dataset(files, schema=BATCH_SCHEMA, filesystem=lake.fs,
                                       format="parquet"))


def drop_scan(conn: duckdb.DuckDBPyConnection, name: str) -> None:
    """Forget the view `scan_batches` made."""
    conn.unregister(name)
    conn.execute(f"DROP VIEW IF EXISTS {name}")


def write_batch(
    lake: Location, seq: int, groups: list[pa.Table], hours: list[str], state: StreamState,
    elsewhere: tuple[list[str], pa.Table | None] = ([], None),
) -> str:
    """Write batch `seq` atomically: its row groups (`batch_table.row_groups`: one per hour,
    then the rejected records) + offsets and hours in the footer. `elsewhere`: the hours
    touched and the rejected rows of records the batch stored elsewhere (Kafka records in
    the lake's stream table, when Spark consumed them)."""
    hours = sorted(set(hours) | set(elsewhere[0]))
    meta = {OFFSETS_KEY: json.dumps({"kafka": state.kafka, "files": state.files}).encode(),
            HOURS_KEY: json.dumps(hours).encode()}
    schema = BATCH_SCHEMA.with_metadata(meta)
    tables = [group.cast(BATCH_SCHEMA).replace_schema_metadata(meta) for group in groups]
    if elsewhere[1] is not None and elsewhere[1].num_rows:
        tables.append(elsewhere[1].cast(BATCH_SCHEMA).replace_schema_metadata(meta))
    return write_tables(lake, seq, schema, tables)


def write_tables(lake: Location, seq: int, schema: pa.Schema, tables: list[pa.Table]) -> str:
    """Write row groups (one table each) to batch file `seq`, durably and atomically (on a
    bucket: built whole here, then one upload); its rel."""

    def write(tmp: Path) -> None:
        with pq.ParquetWriter(tmp, schema, compression="zstd") as writer:
            for table in tables:
                writer.write_table(table, row_group_size=max(1, table.num_rows))
            if not tables:
                writer.write_table(schema.empty_table())

    lake.write(batch_rel(seq), write, durable=True)
    return batch_rel(seq)
