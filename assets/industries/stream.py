"""The order stream's durable unit: one Parquet file per micro-batch, offsets inside it.

A batch file `lake/industries/orders/batches/batch-<seq>.parquet` holds the orders the batch
consumed (one row group per order hour, so re-reading one hour touches only that hour's row
groups) and, in its key-value metadata, the offsets the stream has reached *including* this
batch: Kafka `partition -> next offset`, and for the file stream `file -> [bytes, lines,
sha256 of those bytes, stat signature]` (`file_stream`).
The file is written to a temporary name, fsynced and renamed, so it is there whole or not at
all: the rows and the offsets become durable in the same atomic step. Consumption always
resumes from the offsets in the newest batch file; Kafka's committed offsets are only a
mirror written afterwards (for lag tooling), never what the platform resumes from.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq

from resources.lib.files import atomic_write

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


def batch_dir(lake: Path) -> Path:
    return lake / "orders" / "batches"


def batch_path(lake: Path, seq: int) -> Path:
    return batch_dir(lake) / f"batch-{seq:08d}.parquet"


def batch_files(lake: Path) -> list[tuple[int, Path]]:
    """Committed batch files, oldest first (temporary files are never listed)."""
    folder = batch_dir(lake)
    if not folder.is_dir():
        return []
    out = []
    for path in folder.iterdir():
        match = BATCH_RE.match(path.name)
        if match:
            out.append((int(match.group(1)), path))
    return sorted(out)


def batches_after(lake: Path, seq: int) -> list[tuple[int, Path]]:
    """The batch files after `seq`, found by probing seq+1, seq+2… (batches are numbered
    without gaps), so the cost follows the new batches, not the history."""
    out = []
    while (path := batch_path(lake, seq + 1)).exists():
        seq += 1
        out.append((seq, path))
    return out


def read_batch_meta(path: Path) -> tuple[dict[str, Any], list[str]]:
    """(offsets, hours touched) from a batch file's footer, without reading its rows."""
    meta = pq.read_schema(path).metadata or {}
    return json.loads(meta.get(OFFSETS_KEY, b"{}")), json.loads(meta.get(HOURS_KEY, b"[]"))


def load_state(lake: Path, known: int = 0) -> StreamState:
    """The stored offsets: the footer of the newest batch file (offsets are cumulative).
    `known` is a batch known to exist (a sensor's last look): the newest is searched from
    there; without it every batch file name is listed once."""
    if known and batch_path(lake, known).exists():
        files = [(known, batch_path(lake, known)), *batches_after(lake, known)]
    else:
        files = batch_files(lake)
    if not files:
        return StreamState()
    seq, path = files[-1]
    offsets, _ = read_batch_meta(path)
    return StreamState(seq=seq, kafka=offsets.get("kafka", {}), files=offsets.get("files", {}))


def write_batch(
    lake: Path, seq: int, rows: list[dict[str, Any]], state: StreamState,
    elsewhere: tuple[list[str], pa.Table | None] = ([], None),
) -> Path:
    """Write batch `seq` atomically: rows (one row group per hour) + offsets in the footer.
    `elsewhere`: the hours touched and the rejected rows of records the batch stored
    elsewhere (Kafka records in the lake's stream table, when Spark consumed them)."""
    good = sorted((r for r in rows if not r.get("reject_reason")), key=lambda r: r["order_ts"])
    bad = [r for r in rows if r.get("reject_reason")]
    hours = sorted({r["hour"] for r in good} | set(elsewhere[0]))
    meta = {OFFSETS_KEY: json.dumps({"kafka": state.kafka, "files": state.files}).encode(),
            HOURS_KEY: json.dumps(hours).encode()}
    schema = BATCH_SCHEMA.with_metadata(meta)
    for row in rows:
        row["batch_seq"] = seq
    tables = [pa.Table.from_pylist(group, schema=schema) for group in _groups(good, bad)]
    if elsewhere[1] is not None and elsewhere[1].num_rows:
        tables.append(elsewhere[1].cast(BATCH_SCHEMA).replace_schema_metadata(meta))
    return write_tables(lake, seq, schema, tables)


def write_tables(lake: Path, seq: int, schema: pa.Schema, tables: list[pa.Table]) -> Path:
    """Write row groups (one table each) to batch file `seq`, durably and atomically."""

    def write(tmp: Path) -> None:
        with pq.ParquetWriter(tmp, schema, compression="zstd") as writer:
            for table in tables:
                writer.write_table(table, row_group_size=max(1, table.num_rows))
            if not tables:
                writer.write_table(schema.empty_table())

    return atomic_write(batch_path(lake, seq), write, durable=True)


def _groups(good: list[dict], bad: list[dict]) -> Iterator[list[dict]]:
    current: list[dict] = []
    for row in good:
        if current and current[-1]["hour"] != row["hour"]:
            yield current
            current = []
        current.append(row)
    if current:
        yield current
    if bad:
        yield bad
