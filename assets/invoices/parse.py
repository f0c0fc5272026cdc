"""Parse one invoice CSV into typed rows and rejected rows, vectorized (Polars).

The rules and reasons are those of `parse_rows` (the row-by-row reference), exactly: a
line in the one plain form (four unquoted fields, a hyphenated UUID, `YYYY-MM-DD
HH:MM:SS[.f]` inside the history, a total of at most 2 decimals) is typed in bulk; every
other line goes through the reference's `row_error`; a file whose lines the `csv` module
could split differently (a quote, a NUL byte, a lone CR, bytes that are not UTF-8, a line
over the limit) is parsed whole by the reference. docs/invoices.md "Parsing".
"""

from __future__ import annotations

import codecs
import csv
from collections.abc import Iterator
from datetime import date
from pathlib import Path

import numpy as np
import polars as pl
import pyarrow as pa

from assets.invoices.parse_rows import (
    EARLIEST_CREATED,
    STAGE_SCHEMA,
    ParsedFile,
    check_header,
    parse_invoice_rows,
    raw_text,
    row_error,
)
from resources.csv_rows import CsvRow
from resources.lines import max_line_bytes

__all__ = ["STAGE_SCHEMA", "ParsedFile", "parse_invoice_file"]

_WS = "[ \\t]*"
_VENUE = "[!#-+\\--~](?:[ !#-+\\--~]*[!#-+\\--~])?"
_UUID = "[0-9A-Fa-f]{8}(?:-[0-9A-Fa-f]{4}){3}-[0-9A-Fa-f]{12}"
_AT = "[0-9]{4}-[0-9]{2}-[0-9]{2}[ T](?:[01][0-9]|2[0-3]):[0-5][0-9]:[0-5][0-9](?:\\.[0-9]{1,6})?"
_TOTAL = "-?[0-9]{1,16}(?:\\.[0-9]{1,2})?"
PLAIN_LINE = f"^{_WS}{_VENUE}{_WS},{_WS}{_UUID}{_WS},{_WS}{_AT}{_WS},{_WS}{_TOTAL}{_WS}$"
BLOCK_BYTES = 8 << 20  # a few 100k rows: enough for Polars, small beside the file
_FIELDS = ["venue_id", "invoice_id", "at", "total"]
_TYPED = {"invoice_id": pl.String, "venue_id": pl.String, "created_at": pl.Datetime("us"),
          "created_date": pl.Date, "total": pl.Decimal(18, 2), "line": pl.Int64,
          "raw": pl.String}


def file_lines(data: bytes, limit: int) -> pl.Series | None:
    """The physical lines of a file (line ends removed, header first), or None when the
    `csv` module could read its records differently from one record per line. The lines
    are views on `data` (an Arrow string array over its bytes), never copied one by one."""
    if b'"' in data or b"\x00" in data or data.count(b"\r") != data.count(b"\r\n"):
        return None
    if not data.isascii():
        try:
            data.decode("utf-8")
        except UnicodeDecodeError:
            return None
    ends = np.flatnonzero(np.frombuffer(data, np.uint8) == ord("\n")) + 1
    if not data.endswith(b"\n") and data:
        ends = np.append(ends, len(data))
    offsets = np.concatenate([[0], ends]).astype(np.int64)
    if len(ends) and np.diff(offsets).max() > min(limit, csv.field_size_limit()):
        return None
    lines = pa.LargeStringArray.from_buffers(
        len(ends), pa.py_buffer(offsets), pa.py_buffer(data))
    return pl.Series("text", lines).str.strip_chars_end("\r\n")


def _fields(text: str) -> list[str]:
    return text.split(",") if text else []  # an empty line is a record of no fields


def _created_at(at: pl.Expr) -> pl.Expr:
    """`YYYY-MM-DD[ T]HH:MM:SS[.f]` (the plain form) as a timestamp; null for a day that
    does not exist. Seconds and fraction apart: strptime's `%.f` is 4× slower."""
    seconds = at.str.slice(0, 19).str.replace("T", " ", literal=True).str.strptime(
        pl.Datetime("us"), "%Y-%m-%d %H:%M:%S", strict=False)
    fraction = at.str.slice(20).str.pad_end(6, "0").cast(pl.Int64, strict=False)
    return seconds + pl.duration(microseconds=fraction.fill_null(0))


def _typed(lines: pl.DataFrame, sync_date: date) -> tuple[pl.DataFrame, pl.DataFrame]:
    """The plain lines typed (`_TYPED`), and the other lines (line, text) left to judge."""
    lines = lines.with_columns(plain=pl.col("text").str.contains(PLAIN_LINE))
    fields = pl.col("text").str.split_exact(",", 3).struct.rename_fields(_FIELDS)
    parts = lines.filter("plain").with_columns(fields.alias("f")).unnest("f").with_columns(
        pl.col(*_FIELDS).str.strip_chars(" \t"))
    parts = parts.with_columns(created_at=_created_at(pl.col("at"))).with_columns(
        typed=pl.col("created_at").dt.date().is_between(EARLIEST_CREATED, sync_date)
        .fill_null(False))
    typed = parts.filter("typed").select(
        pl.col("invoice_id").str.to_lowercase(), "venue_id", "created_at",
        pl.col("created_at").dt.date().alias("created_date"),
        pl.col("total").cast(pl.Decimal(18, 2)), "line", pl.col("text").alias("raw"))
    rest = pl.concat([lines.filter(~pl.col("plain")).select("line", "text"),
                      parts.filter(~pl.col("typed")).select("line", "text")])
    return typed, rest


def _judged(rest: pl.DataFrame, sync_date: date) -> tuple[pl.DataFrame, list[tuple]]:
    """The reference's verdict on each line the fast path left: typed rows and rejects."""
    rows: list[tuple] = []
    rejected: list[tuple[int, str, str]] = []
    for line, text in rest.iter_rows():
        fields = _fields(text)
        if all(not value.strip() for value in fields):
            continue
        error, parsed = row_error(fields, sync_date)
        if error:
            rejected.append((line, raw_text(fields), error))
        else:
            rows.append((*parsed, line, raw_text(fields)))
    return pl.DataFrame(rows, schema=_TYPED, orient="row"), rejected


def _last_wins(rows: pl.DataFrame) -> tuple[pl.DataFrame, list[tuple]]:
    """Per invoice id, the row of its last line; each earlier one rejected, naming the
    line that superseded it."""
    rows = rows.with_columns(repeated=pl.col("invoice_id").is_duplicated())
    repeated = rows.filter("repeated").sort("line").with_columns(
        by=pl.col("line").shift(-1).over("invoice_id"))
    superseded = repeated.filter(pl.col("by").is_not_null()).select(
        "line", "raw", pl.format("invoice_id {} repeated; superseded by line {}",
                                 "invoice_id", "by"))
    last = repeated.filter(pl.col("by").is_null()).drop("by")
    winners = pl.concat([rows.filter(~pl.col("repeated")), last])
    return winners.sort("line"), superseded.rows()


class _NotPlain(Exception):
    """The file holds something only the `csv` module reads right: the reference parses it."""


def _blocks(path: Path, limit: int, size: int) -> Iterator[bytes]:
    """The file in blocks of about `size` bytes that end at a line end (BOM removed); a
    line over `limit` stops the fast path before more than a block and the line are held."""
    with path.open("rb") as fh:
        carry = fh.read(len(codecs.BOM_UTF8)).removeprefix(codecs.BOM_UTF8)
        while block := fh.read(size):
            block = carry + block
            cut = block.rfind(b"\n") + 1
            yield from [block[:cut]] if cut else []
            carry = block[cut:]
            if len(carry) > limit:
                raise _NotPlain
    if carry:
        yield carry


def _read_plain(path: Path, sync_date: date, limit: int, size: int
                ) -> tuple[pl.DataFrame, pl.DataFrame]:
    """Every block's plain lines typed and its other lines (line, text); the header checked
    first. Raises `_NotPlain` for a file the fast path cannot split exactly."""
    typed, rest, first = [], [], 1
    for block in _blocks(path, limit, size):
        lines = file_lines(block, limit)
        if lines is None:
            raise _NotPlain
        frame = pl.DataFrame({"text": lines}).with_row_index("line", offset=first)
        if first == 1:
            check_header(path, CsvRow(1, _fields(lines[0]), None, "") if len(lines) else None)
            frame = frame.slice(1)
        first += len(lines)
        done = _typed(frame.with_columns(pl.col("line").cast(pl.Int64)), sync_date)
        typed.append(done[0])
        rest.append(done[1])
    if first == 1:
        check_header(path, None)
    return pl.concat(typed), pl.concat(rest)


def parse_invoice_file(path: Path, sync_date: date, limit: int | None = None,
                       block_bytes: int = BLOCK_BYTES) -> ParsedFile:
    """Validate the header (a wrong one makes the file bad) and every row (a bad one is kept
    as rejected with its physical line and reason); within one file the last row of an
    invoice id wins. Same result as `parse_invoice_rows`, at the speed of Polars, block by
    block (memory: the typed rows and a block)."""
    try:
        typed, rest = _read_plain(path, sync_date, limit or max_line_bytes(), block_bytes)
    except _NotPlain:
        return parse_invoice_rows(path, sync_date, limit)
    judged, rejected = _judged(rest, sync_date)
    winners, superseded = _last_wins(pl.concat([typed, judged]))
    table = winners.select(*STAGE_SCHEMA.names[:5], line_number="line").to_arrow()
    return ParsedFile(rows=table.cast(STAGE_SCHEMA), rejected=sorted(rejected + superseded))
