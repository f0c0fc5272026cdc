"""The order stream's durable unit: one Parquet file per micro-batch, offsets inside it.

A batch file `lake/industries/orders/batches/batch-<seq>.parquet` holds the orders the batch
consumed (one row group per order hour, so re-reading one hour touches only that hour's row
groups) and, in its key-value metadata, the offsets the stream has reached *including* this
batch: Kafka `partition -> next offset`, and for the file stream `file -> [bytes, lines]`.
The file is written to a temporary name, fsynced and renamed, so it is there whole or not at
all: the rows and the offsets become durable in the same atomic step. Consumption always
resumes from the offsets in the newest batch file; Kafka's committed offsets are only a
mirror written afterwards (for lag tooling), never what the platform resumes from.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq

from assets.industries.common import PARTITION_START, hour_key
from resources.files import atomic_write
from resources.landing import LandingFolder

ORDERS_LANDING = "orders"  # landing/orders/: history files, and the stream without Kafka
OFFSETS_KEY = b"industries.offsets"
HOURS_KEY = b"industries.hours"
BATCH_RE = re.compile(r"^batch-(\d{8})\.parquet$")
ORDER_FILE_SUFFIXES = (".jsonl", ".json", ".ndjson")

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
    files: dict[str, list[int]] = field(default_factory=dict)  # file name -> [bytes, lines]

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


@dataclass
class RawRecord:
    value: bytes
    source: str
    line: int  # file line number (1-based) or Kafka offset


def parse(record: RawRecord, now: datetime) -> dict[str, Any]:
    """One order row; `reject_reason` set (and the raw text kept) when it cannot be used."""
    row: dict[str, Any] = {"source": record.source, "line": record.line}
    text = record.value.decode("utf-8", errors="replace").strip()
    try:
        obj = json.loads(text)
        if not isinstance(obj, dict):
            raise ValueError("not a JSON object")
        order_id, customer_id = obj.get("order_id"), obj.get("customer_id")
        if order_id in (None, "") or customer_id in (None, ""):
            raise ValueError("missing order_id or customer_id")
        amount = Decimal(str(obj["amount"])).quantize(Decimal("0.01"))
        ts = datetime.fromisoformat(str(obj["timestamp"]).replace("Z", "+00:00"))
        ts = (ts if ts.tzinfo else ts.replace(tzinfo=UTC)).astimezone(UTC)
        if ts < PARTITION_START:
            raise ValueError(f"timestamp {ts.isoformat()} before partition start")
        if hour_key(ts) > hour_key(now):
            raise ValueError(f"timestamp {ts.isoformat()} is in the future")
        row.update(
            order_id=str(order_id),
            customer_id=str(customer_id).strip(),
            amount=amount,
            order_ts=ts,
            hour=hour_key(ts),
            order_lines=json.dumps(obj.get("order_lines", [])),
        )
    except (ValueError, KeyError, TypeError, InvalidOperation, ArithmeticError) as exc:
        row.update(raw=text[:2000], reject_reason=f"{type(exc).__name__}: {exc}")
    return row


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


# ---------------------------------------------------------------- the file stream


def order_files(folder: LandingFolder) -> list[Path]:
    """JSON Lines files at the top of landing/orders/, under their final names. They are
    streams (appended to), so they are followed by byte offset, not by content hash."""
    return [
        path for rel, path in folder.present()
        if "/" not in rel and rel.endswith(ORDER_FILE_SUFFIXES)
    ]


def file_lag(folder: LandingFolder, state: StreamState) -> dict[str, tuple[int, int]]:
    """Files with complete bytes beyond their stored offset: name -> (stored, size)."""
    out = {}
    for path in order_files(folder):
        stored = state.files.get(path.name, [0, 0])[0]
        size = path.stat().st_size
        if size != stored:
            out[path.name] = (stored, size)
    return out


def read_files(
    folder: LandingFolder, state: StreamState, max_records: int
) -> Iterable[RawRecord]:
    """Complete new lines of every order file after its stored byte offset; advances `state`.

    A trailing line without its newline is still being written: it is left for the next
    batch. A file that shrank was replaced: it is read again from the start (dedup on
    `order_id` makes the repeat harmless).
    """
    count = 0
    for path in order_files(folder):
        start, lines = state.files.get(path.name, [0, 0])
        size = path.stat().st_size
        if size < start:
            start, lines = 0, 0
        if size == start:
            continue
        with open(path, "rb") as fh:
            fh.seek(start)
            pos = start
            for raw in fh:
                if not raw.endswith(b"\n"):
                    break
                pos += len(raw)
                lines += 1
                if raw.strip():
                    yield RawRecord(raw, path.name, lines)
                    count += 1
                state.files[path.name] = [pos, lines]
                if count >= max_records:
                    return
