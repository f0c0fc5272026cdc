"""The invoice rules, one row at a time: the reference the vectorized parser
(`assets/invoices/parse.py`) follows exactly.

`parse_invoice_rows` reads a file through the `csv` module; `parse.py` uses it whole for a
file its fast path cannot split exactly, and `row_error` for each line its fast path does
not type; the property test (tests/invoices/test_parse_property.py) holds both to the same
rows and rejects. docs/invoices.md "Parsing".
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal, InvalidOperation
from pathlib import Path

import pyarrow as pa

from assets.invoices.files import EXPECTED_HEADER, BadInvoiceFile
from assets.invoices.partitions import START_DATE
from resources.csv_rows import CsvRow, csv_rows, open_csv
from resources.lines import escaped

EARLIEST_CREATED = date.fromisoformat(START_DATE)
MAX_TOTAL = Decimal("9999999999999999.99")
NUL = "\x00"

STAGE_SCHEMA = pa.schema(
    [
        ("invoice_id", pa.string()),
        ("venue_id", pa.string()),
        ("created_at", pa.timestamp("us")),
        ("created_date", pa.date32()),
        ("total", pa.decimal128(18, 2)),
        ("line_number", pa.int64()),
    ]
)


def raw_text(record: list[str]) -> str:
    """The row as kept in `rejected_invoice_rows.raw_line`: its fields joined by commas, each
    NUL byte written as the four characters `\\x00` and each byte that is not UTF-8 as
    `\\xNN` (PostgreSQL text cannot hold NUL, and the kept line must be storable on both
    backends)."""
    return escaped(",".join(record)).replace(NUL, "\\x00")


def check_header(path: Path, header: CsvRow | None) -> None:
    """A file without the expected header is a bad file (moved aside), named in the error."""
    if header is None:
        raise BadInvoiceFile(f"{path.name}: empty file, expected a header row")
    if header.problem is not None:
        raise BadInvoiceFile(f"{path.name}: unreadable header ({header.problem})")
    normalized = tuple(col.strip().lower() for col in header.fields)
    if normalized != EXPECTED_HEADER:
        shown = [escaped(col) for col in header.fields]
        raise BadInvoiceFile(f"{path.name}: wrong header {shown}, expected {list(EXPECTED_HEADER)}")


@dataclass
class ParsedFile:
    rows: pa.Table
    rejected: list[tuple[int, str, str]] = field(default_factory=list)  # line, raw, reason


def row_error(record: list[str], sync_date: date) -> tuple[str | None, tuple | None]:
    """Why the fields of one record are not an invoice, or None and the typed values
    (invoice id normalized, venue, created_at, created_date, total)."""
    if len(record) != len(EXPECTED_HEADER):
        return f"expected {len(EXPECTED_HEADER)} fields, found {len(record)}", None
    for name, value in zip(EXPECTED_HEADER, record, strict=True):
        if NUL in value:  # PostgreSQL text cannot hold it; no field may carry it
            return f"{name}: contains a NUL byte (\\x00)", None
    venue_id, invoice_id, created_raw, total_raw = (value.strip() for value in record)
    if not venue_id:
        return "venue_id: empty", None
    try:
        invoice = str(uuid.UUID(invoice_id))
    except ValueError:
        return f"invoice_id: not a UUID ({invoice_id!r})", None
    try:
        created_at = datetime.fromisoformat(created_raw)
    except ValueError:
        return f"datetime_created: not a timestamp ({created_raw!r})", None
    if created_at.tzinfo is not None:
        reason = f"datetime_created: has a time zone, expected venue local time ({created_raw!r})"
        return reason, None
    try:
        total = Decimal(total_raw)
    except InvalidOperation:
        return f"total: not a decimal ({total_raw!r})", None
    if not total.is_finite() or abs(total) > MAX_TOTAL:
        return f"total: out of range ({total_raw!r})", None
    if total != total.quantize(Decimal("0.01")):
        return f"total: more than 2 decimals ({total_raw!r})", None
    created_date = created_at.date()
    if created_date > sync_date:
        return f"datetime_created: after the file's sync date {sync_date}", None
    if created_date < EARLIEST_CREATED:
        return f"datetime_created: before {EARLIEST_CREATED} (history start)", None
    return None, (invoice, venue_id, created_at, created_date, total)


def parse_invoice_rows(path: Path, sync_date: date, limit: int | None = None) -> ParsedFile:
    """Validate the header (a wrong one makes the file bad) and every row (a bad one is kept
    as rejected: a bad field, and also a line that is not UTF-8 or is over `limit`,
    `LANDING_MAX_LINE_BYTES`). Within one file, the last row of an invoice id wins; earlier
    ones are recorded as rejected with the line that superseded them."""
    latest: dict[str, tuple] = {}
    rejected: list[tuple[int, str, str]] = []
    with open_csv(path) as handle:
        rows = csv_rows(handle, limit)
        check_header(path, next(rows, None))
        for row in rows:
            line, raw = row.line, raw_text(row.fields) if row.fields else row.text
            if row.problem is None and all(not value.strip() for value in row.fields):
                continue
            error, parsed = (row.problem, None) if row.problem else row_error(row.fields,
                                                                              sync_date)
            if error:
                rejected.append((line, raw, error))
                continue
            previous = latest.pop(parsed[0], None)
            if previous is not None:
                reason = f"invoice_id {parsed[0]} repeated; superseded by line {line}"
                rejected.append((previous[5], previous[6], reason))
            latest[parsed[0]] = (*parsed, line, raw)
    columns = list(zip(*(value[:6] for value in latest.values()), strict=True)) or [[]] * 6
    table = pa.Table.from_arrays(
        [pa.array(col, type=f.type) for col, f in zip(columns, STAGE_SCHEMA, strict=True)],
        schema=STAGE_SCHEMA,
    )
    return ParsedFile(rows=table, rejected=sorted(rejected))
