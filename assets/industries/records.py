"""One order record (a file line or a Kafka value) → one batch row, or a rejection.

The same rules for both sources, in one place: whatever a producer sends, `parse` returns a
row the batch file can store. A record that cannot be used is kept (raw text, source, line
or offset) with a reason naming the field, so one poison order is a rejected row and the
stream goes on; it never fails the batch, which would stop the offsets and every later
order with them. Values that Python parses but Parquet/DuckDB cannot hold are judged here
too: `NaN`/`Infinity` and amounts too large for the rollups, lone surrogates (a JSON
`"\\ud800"` escape) in the ids, bytes that are not UTF-8, JSON nested too deep to parse.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal, InvalidOperation
from typing import Any, NoReturn

from assets.industries.common import PARTITION_START, hour_key

CENT = Decimal("0.01")
# Largest |amount| of one order (exclusive). Amounts are DECIMAL(18,2) (below 10^16) in the
# batch files, the orders and the per-customer-hour rollup, and sums of many orders must
# still fit there: 10^12 leaves room for 10,000 maximal orders per customer-hour (and per
# industry in 24 h). A larger amount is a producer error, rejected with this reason.
MAX_AMOUNT = Decimal(10) ** 12
RAW_CHARS = 2000  # raw text kept with a rejected record


@dataclass
class RawRecord:
    value: bytes  # the record (for a line over the limit, its first bytes only)
    source: str
    line: int  # file line number (1-based) or Kafka offset
    too_long: str | None = None  # why the line was not read (`resources.lines.TooLong`)


class BadField(ValueError):
    """A record that cannot be used: the field (or `record`) and what is wrong with it."""

    def __init__(self, field: str, problem: str) -> None:
        super().__init__(f"{field}: {problem}")


def parse(record: RawRecord, now: datetime) -> dict[str, Any]:
    """One order row; `reject_reason` set (and the raw text kept) when it cannot be used."""
    row: dict[str, Any] = {"source": record.source, "line": record.line}
    try:
        if record.too_long:
            raise BadField("record", record.too_long)
        row.update(_order(_load(record.value), now))
    except BadField as exc:
        raw = record.value.decode("utf-8", errors="replace").strip()
        row.update(raw=raw[:RAW_CHARS], reject_reason=str(exc))
    return row


def _load(value: bytes) -> dict[str, Any]:
    """The record's JSON object."""
    try:
        text = value.decode("utf-8").strip()
    except UnicodeDecodeError as exc:
        raise BadField("record", f"not UTF-8 text (invalid byte at {exc.start})") from None
    try:
        obj = json.loads(text)
    except json.JSONDecodeError as exc:
        raise BadField("record", f"JSONDecodeError: {exc}") from None
    except RecursionError:
        raise BadField("record", "JSON nested too deeply to parse") from None
    except ValueError as exc:  # e.g. an integer beyond Python's digit limit
        raise BadField("record", f"not parseable JSON: {exc}") from None
    if not isinstance(obj, dict):
        raise BadField("record", "not a JSON object")
    return obj


def _order(obj: dict[str, Any], now: datetime) -> dict[str, Any]:
    """The batch row's fields of one order object, each checked."""
    order_id = _text(obj, "order_id")
    customer_id = _text(obj, "customer_id").strip() or _missing("customer_id")
    amount = _amount(obj)
    ts = _timestamp(obj, now)
    try:
        lines = json.dumps(obj.get("order_lines", []))  # ASCII: surrogates escaped
    except (RecursionError, ValueError) as exc:
        raise BadField("order_lines", f"cannot be stored as JSON: {exc}") from None
    return {"order_id": order_id, "customer_id": customer_id, "amount": amount,
            "order_ts": ts, "hour": hour_key(ts), "order_lines": lines}


def _missing(field: str) -> NoReturn:
    raise BadField(field, "missing or empty")


def _text(obj: dict[str, Any], field: str) -> str:
    """A non-empty id as text that UTF-8 (Parquet, DuckDB) can hold."""
    value = obj.get(field)
    if value is None or value == "":
        _missing(field)
    text = str(value)
    try:
        text.encode("utf-8")
    except UnicodeEncodeError as exc:
        raise BadField(field, f"not valid Unicode text (lone surrogate "
                              f"{text[exc.start]!r} at position {exc.start})") from None
    return text


def _amount(obj: dict[str, Any]) -> Decimal:
    """A finite amount below MAX_AMOUNT, rounded half-even to cents."""
    if obj.get("amount") is None:
        _missing("amount")
    value = obj["amount"]
    try:
        amount = Decimal(str(value)) if not isinstance(value, bool) else None
    except (InvalidOperation, ValueError):
        amount = None
    if amount is None:
        raise BadField("amount", f"not a number: {_show(value)}")
    if not amount.is_finite():
        raise BadField("amount", f"{_show(value)} is not a finite number")
    if abs(amount) >= MAX_AMOUNT:
        raise BadField("amount", f"{_show(value)} is out of range (|amount| < {MAX_AMOUNT:,})")
    return amount.quantize(CENT)


def _timestamp(obj: dict[str, Any], now: datetime) -> datetime:
    """An ISO 8601 time (UTC when it names no zone) in [partition start, this hour]."""
    if obj.get("timestamp") is None:
        _missing("timestamp")
    value = obj["timestamp"]
    try:
        ts = datetime.fromisoformat(str(value).replace("Z", "+00:00"))
        ts = (ts if ts.tzinfo else ts.replace(tzinfo=UTC)).astimezone(UTC)
    except (ValueError, OverflowError):
        raise BadField("timestamp", f"not an ISO 8601 time: {_show(value)}") from None
    if ts < PARTITION_START:
        raise BadField("timestamp", f"{ts.isoformat()} is before the partition start "
                                    f"{PARTITION_START.isoformat()}")
    if hour_key(ts) > hour_key(now):
        raise BadField("timestamp", f"{ts.isoformat()} is in the future")
    return ts


def _show(value: Any) -> str:
    """A value for a reason: its repr (escapes surrogates and control characters), short."""
    text = repr(value)
    return text if len(text) <= 80 else text[:77] + "..."
