"""JSON Lines read by pyarrow's multi-threaded NDJSON reader (docs/ctr.md, "Ingest speed").

The fast path of `views_parse` for JSON Lines. pyarrow is stricter than Polars' reader in
some ways (a number where a string is expected) and looser in others (NaN, Infinity, a BOM,
bytes that are not UTF-8, two objects on one line): wherever it could differ, `read_lines`
raises ValueError and the caller uses Polars' reader, then the tolerant parser, as before.
So the rows and the reasons are those of the Polars reader; only the speed changes.
"""

from __future__ import annotations

import polars as pl
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.json as pj

ARROW_SCHEMA = pa.schema([(
    "events",
    pa.list_(pa.struct([
        ("event_type", pa.string()),
        ("data", pa.struct([
            ("event_name", pa.string()),
            ("timestamp_unixtime_ms", pa.float64()),
            ("custom_attributes", pa.struct([("codeColor", pa.string())])),
        ])),
    ])),
)])
_PARSE = pj.ParseOptions(explicit_schema=ARROW_SCHEMA, unexpected_field_behavior="ignore")
BLOCK = 4 * 1024 * 1024  # pyarrow's unit of parallel work; a longer line: Polars' reader


def read_lines(data: bytes) -> pl.DataFrame:
    """The batches of JSON Lines `data` (one row per line, `events` as `BATCH_SCHEMA`);
    ValueError where pyarrow fails or might not give Polars' rows."""
    if data.startswith(b"\xef\xbb\xbf"):
        raise ValueError("a BOM: Polars' reader decides")
    if not data.isascii():  # pyarrow's blocks may skip the check; Polars checks every byte
        data.decode("utf-8")  # UnicodeDecodeError (a ValueError) when not UTF-8
    table = pj.read_json(pa.BufferReader(data), read_options=pj.ReadOptions(block_size=BLOCK),
                         parse_options=_PARSE)
    lines = data.count(b"\n") + (0 if data.endswith(b"\n") else 1)
    if table.num_rows != lines:
        raise ValueError(f"{table.num_rows} rows for {lines} lines: Polars' reader decides")
    events = pc.list_flatten(table.column("events"))
    ts = pc.struct_field(pc.struct_field(events, "data"), "timestamp_unixtime_ms")
    if pc.any(pc.invert(pc.is_finite(ts))).as_py():
        raise ValueError("NaN or Infinity: not JSON for Polars' reader")
    return pl.from_arrow(table)  # type: ignore[return-value]
