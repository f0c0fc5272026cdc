"""Parse one product-view file (JSON array of batches, or JSON Lines) into a views frame.

Pure functions, no Dagster: used by the `ctr/view_events` asset, the tests and the bench.

Fast path: Polars' Rust JSON reader with a fixed schema (only the fields we use; for JSON
Lines pyarrow's multi-threaded reader first, `views_arrow`), then `explode`/`unnest` — one
pass over the bytes. A file whose batches do not fit that schema
(a batch that is not an object, `events` that is not a list, a timestamp that is a string,
a JSON Lines file with invalid lines...) falls back to the tolerant path: Python's `json`,
batch by batch, which can say exactly which batch/line is bad and why. A file that neither
path can read as JSON raises `NotJsonError` (the caller moves it to `_rejected/`), or
`UnfinishedArrayError` when it is an array that stops before its closing `]` (a writer may
still be appending to it: the caller decides how long to wait).

JSON Lines are read line by line as bytes: a line that is not UTF-8 (or not JSON) is one
malformed batch, numbered by its physical line; the file's other lines still load. Views
dated after the last partition (today, GMT-03:00) are rejected with that reason: no
partition could ever show them, and dropping them silently would lose them.
"""

from __future__ import annotations

import io
import json
import math
from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import Any

import polars as pl

from assets.ctr.partitions import OFFSET_MS, START_DATE, date_partitions
from assets.ctr.views_arrow import read_lines

BATCH_SCHEMA = {
    "events": pl.List(
        pl.Struct(
            {
                "event_type": pl.String,
                "data": pl.Struct(
                    {
                        "event_name": pl.String,
                        "timestamp_unixtime_ms": pl.Float64,
                        "custom_attributes": pl.Struct({"codeColor": pl.String}),
                    }
                ),
            }
        )
    )
}
VIEW_COLUMNS = {
    "product": pl.String,
    "timestamp_unixtime_ms": pl.Float64,
    "event_time": pl.Datetime("ms"),  # GMT-03:00 wall clock, no zone
    "date": pl.Date,  # GMT-03:00 date = the partition
    "batch_no": pl.Int64,
}
REJECTED_COLUMNS = {"batch_no": pl.Int64, "reason": pl.String, "detail": pl.String}
MIN_MS = (date.fromisoformat(START_DATE) - date(1970, 1, 1)).days * 86_400_000 - OFFSET_MS
MAX_MS = 253_402_300_800_000.0  # year 10000


class NotJsonError(ValueError):
    """The file is not JSON at all (nor JSON Lines)."""


class UnfinishedArrayError(NotJsonError):
    """An array file that ends before its closing `]`: maybe still being written."""


def last_partition_end_ms() -> tuple[str, float]:
    """(last date partition, the UTC epoch ms where it ends): a view at or after that
    instant belongs to no partition."""
    last = date_partitions.get_last_partition_key() or START_DATE
    end = date.fromisoformat(last) + timedelta(days=1)
    return last, (end - date(1970, 1, 1)).days * 86_400_000 - OFFSET_MS


@dataclass
class ParsedViews:
    """The product views of one file, the rows that could not be used, and the counts."""

    views: pl.DataFrame
    rejected: pl.DataFrame
    batches: int = 0
    events: int = 0
    malformed_batches: int = 0
    other_events: dict[str, int] = field(default_factory=dict)
    parser: str = "fast"

    @property
    def dates(self) -> list[str]:
        return sorted(str(d) for d in self.views.get_column("date").unique().to_list())

    @property
    def view_count(self) -> int:
        return self.views.height


def sniff_format(data: bytes) -> str:
    """'array' or 'lines' from the first non-blank byte; NotJsonError otherwise."""
    head = data[:4096].lstrip(b"\xef\xbb\xbf \t\r\n")
    if head.startswith(b"["):
        return "array"
    if head.startswith(b"{"):
        return "lines"
    what = "empty" if not head else f"starts with {head[:20]!r}"
    raise NotJsonError(f"not JSON: {what} (expected '[' or '{{')")


def parse_views(data: bytes, first_line: int = 1, fmt: str | None = None, *,
                tolerant: bool = False, part: bool = False) -> ParsedViews:
    """Parse the bytes of one file (or, `part`, of a block of whole JSON Lines or a run of
    batches numbered from `first_line`: `views_blocks`); NotJsonError when it is not JSON.
    `tolerant` skips the fast path."""
    fmt = fmt or sniff_format(data)
    until = last_partition_end_ms()
    blank_line = fmt == "lines" and (b"\n\n" in data or b"\n\r\n" in data)
    if not tolerant and not blank_line:
        try:
            return _fast(data, fmt, until, first_line)
        except (pl.exceptions.ComputeError, pl.exceptions.SchemaError, ValueError):
            pass
    return _tolerant(data, fmt, until, first_line, part)


def _fast(data: bytes, fmt: str, until: tuple[str, float], first: int = 1) -> ParsedViews:
    raw = pl.read_json(io.BytesIO(data), schema=BATCH_SCHEMA) if fmt == "array" else _ndjson(data)
    raw = raw.with_row_index("batch_no", offset=first).with_columns(
        pl.col("batch_no").cast(pl.Int64))
    no_events = raw.filter(pl.col("events").is_null())
    ev = (
        raw.filter(pl.col("events").list.len() > 0)
        .explode("events")
        .unnest("events")
        .unnest("data")
        .unnest("custom_attributes")
        .rename({"codeColor": "product"})
    )
    rejected = [
        no_events.select(
            "batch_no",
            reason=pl.lit("malformed batch: no 'events' list"),
            detail=pl.lit(None, pl.String),
        )
    ]
    return _classify(ev, rejected, raw.height, no_events.height, "fast", until)


def _ndjson(data: bytes) -> pl.DataFrame:
    """JSON Lines through pyarrow (`views_arrow`), else Polars' reader, as before."""
    try:
        return read_lines(data)
    except ValueError:
        return pl.read_ndjson(io.BytesIO(data), schema=BATCH_SCHEMA)


def _classify(
    ev: pl.DataFrame,
    rejected: list[pl.DataFrame],
    batches: int,
    malformed: int,
    parser: str,
    until: tuple[str, float],
    unusable_events: int = 0,
) -> ParsedViews:
    """Split exploded events into views, rejected rows and counts of other event types;
    `until` = (last partition, where it ends in UTC ms)."""
    is_view = (pl.col("event_type") == "custom_event") & (pl.col("event_name") == "product")
    ts = pl.col("timestamp_unixtime_ms")
    ev = ev.with_columns(
        reason=pl.when(pl.col("event_type").is_null())
        .then(pl.lit("malformed event: no event_type"))
        .when(is_view & (pl.col("product").is_null() | (pl.col("product").str.strip_chars() == "")))
        .then(pl.lit("product event without data.custom_attributes.codeColor"))
        .when(is_view & ts.is_null())
        .then(pl.lit("product event without data.timestamp_unixtime_ms"))
        .when(is_view & (ts.is_nan() | (ts < MIN_MS) | (ts >= MAX_MS)))
        .then(pl.lit(f"timestamp outside the partitioned range (from {START_DATE} GMT-03:00)"))
        .when(is_view & (ts >= until[1]))
        .then(pl.lit(f"timestamp after the last partition ({until[0]} GMT-03:00)"))
    )
    rejected.append(rejected_events(ev.filter(pl.col("reason").is_not_null())))
    good = ev.filter(pl.col("reason").is_null())
    others = (
        good.filter(~is_view)
        .group_by(
            label=pl.when(pl.col("event_type") == "custom_event")
            .then(pl.format("custom_event:{}", pl.col("event_name").fill_null("null")))
            .otherwise(pl.col("event_type"))
        )
        .len()
    )
    local_ms = (ts + OFFSET_MS).floor().cast(pl.Int64)
    views = good.filter(is_view).select(
        pl.col("product").str.strip_chars(),
        ts,
        event_time=pl.from_epoch(local_ms, time_unit="ms"),
        date=pl.from_epoch(local_ms, time_unit="ms").dt.date(),
        batch_no=pl.col("batch_no"),
    )
    return ParsedViews(
        views=views.cast(VIEW_COLUMNS),  # type: ignore[arg-type]
        rejected=pl.concat([r.cast(REJECTED_COLUMNS) for r in rejected]),  # type: ignore[arg-type]
        batches=batches,
        events=ev.height + unusable_events,
        malformed_batches=malformed,
        other_events=dict(sorted(zip(others["label"], others["len"], strict=True))),
        parser=parser,
    )


def rejected_events(bad: pl.DataFrame) -> pl.DataFrame:
    """Rejected events (`batch_no`, `reason`, `product`, `timestamp_unixtime_ms`) as rows of
    the rejected table, the detail naming the values: one format for every parser."""
    return bad.select(
        "batch_no",
        "reason",
        detail=pl.format(
            "product={} timestamp_unixtime_ms={}",
            pl.col("product").fill_null("null"),
            pl.col("timestamp_unixtime_ms").cast(pl.String).fill_null("null"),
        ),
    )


def _number(value: Any) -> float | None:
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    return float(value) if math.isfinite(value) else None


def _lines(data: bytes, first: int = 1, part: bool = False
           ) -> tuple[list[tuple[int, Any]], list[tuple[int, str, str | None]]]:
    """(line number, value) of each JSON Lines line, and a rejected row for each line that
    is not UTF-8 or not JSON (physical line numbers from `first`; blank lines skipped; a
    whole file, not a `part`, with no such value may be one pretty-printed object)."""
    batches: list[tuple[int, Any]] = []
    rejected: list[tuple[int, str, str | None]] = []
    for lineno, raw in enumerate(data.removeprefix(b"\xef\xbb\xbf").splitlines(), first):
        if not raw.strip():
            continue
        try:
            line = raw.decode("utf-8")
        except UnicodeDecodeError as exc:
            detail = f"{exc.reason} at byte {exc.start + 1} of the line: {raw[:120]!r}"
            rejected.append((lineno, "malformed batch: not UTF-8 text", detail[:200]))
            continue
        try:
            batches.append((lineno, json.loads(line)))
        except ValueError as exc:
            rejected.append((lineno, "malformed batch: invalid JSON", str(exc)[:200]))
    if not batches and first == 1 and not part:  # one pretty-printed object over several lines
        return [(1, _document(data, "no line is a JSON value"))], []
    return batches, rejected


def _document(data: bytes, what: str) -> Any:
    """The whole file as one JSON value; NotJsonError (naming `what`) when it is not."""
    try:
        return json.loads(data.decode("utf-8-sig"))
    except UnicodeDecodeError as exc:
        raise NotJsonError(f"not JSON: not UTF-8 text ({exc})") from exc
    except ValueError as exc:
        raise NotJsonError(f"not JSON: {what} ({exc})") from exc


def _array(data: bytes, first: int = 1) -> list[tuple[int, Any]]:
    """(position from `first`, batch) of an array file (or of a run of its batches);
    UnfinishedArrayError when it is not valid JSON and stops before its closing `]` (a
    writer may still be appending)."""
    try:
        doc = _document(data, "invalid JSON")
    except NotJsonError as exc:
        if not data.rstrip().endswith(b"]"):
            raise UnfinishedArrayError(f"unfinished JSON array: no closing ']' ({exc})") from exc
        raise
    return list(enumerate(doc, first)) if isinstance(doc, list) else [(first, doc)]


def _tolerant(data: bytes, fmt: str, until: tuple[str, float], first: int = 1,
              part: bool = False) -> ParsedViews:
    """Batch-by-batch parse with Python's json: every bad batch/line gets a reason."""
    rows: list[tuple[int, str | None, str | None, float | None, str | None]] = []
    batches, rejected = _lines(data, first, part) if fmt == "lines" else (_array(data, first), [])
    invalid_lines = malformed = len(rejected)
    unusable = 0
    for no, batch in batches:
        events = batch.get("events") if isinstance(batch, dict) else None
        if not isinstance(events, list):
            malformed += 1
            what = "not an object" if not isinstance(batch, dict) else "no 'events' list"
            rejected.append((no, f"malformed batch: {what}", json.dumps(batch)[:200]))
            continue
        for event in events:
            data_ = event.get("data") if isinstance(event, dict) else None
            if not isinstance(data_, dict) or not isinstance(event.get("event_type"), str):
                detail = json.dumps(event)[:200]
                rejected.append((no, "malformed event: no event_type/data", detail))
                unusable += 1
                continue
            rows.append((no, event["event_type"], *_fields(data_)))
    ev = pl.DataFrame(
        rows,
        schema={
            "batch_no": pl.Int64,
            "event_type": pl.String,
            "event_name": pl.String,
            "timestamp_unixtime_ms": pl.Float64,
            "product": pl.String,
        },
        orient="row",
    )
    bad = pl.DataFrame(rejected, schema=REJECTED_COLUMNS, orient="row")
    return _classify(
        ev, [bad], len(batches) + invalid_lines, malformed, "tolerant", until, unusable
    )


def _fields(data_: dict[str, Any]) -> tuple[str | None, float | None, str | None]:
    """(event_name, timestamp, product) of an event's `data`, None where unusable."""
    attrs = data_.get("custom_attributes")
    product = attrs.get("codeColor") if isinstance(attrs, dict) else None
    if isinstance(product, int | float) and not isinstance(product, bool):
        product = str(product)
    name = data_.get("event_name")
    return (
        name if isinstance(name, str) else None,
        _number(data_.get("timestamp_unixtime_ms")),
        product if isinstance(product, str) else None,
    )
