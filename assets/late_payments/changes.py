"""Debezium change events of the point-of-sale tables -> rows of raw text, per table.

A change record (JsonConverter, schemas off) is `{"before", "after", "op", "source", ...}`;
`op` is r (snapshot), c, u or d. Each becomes one row of the table's contract columns as the
TEXT an extract would hold (dates from Debezium's days-since-epoch, decimals as strings), so
the extract contract types and judges it with the same SQL and the same reasons
(`load.raw_text`, `load.typed_value`, `extracts.problems`). Columns the contract does not
name are ignored (a column added to a source table changes nothing until the contract uses
it). A record that is not a change event at all (not JSON, no envelope, an unknown table or
op, no key) is a poison message: kept with its reason, never stopping the stream.
See docs/cdc.md.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import Any

import pyarrow as pa

from assets.late_payments.extracts import EXTRACTS, Extract

OPS = {"r", "c", "u", "d"}
RECORD_CHARS = 2000  # of a rejected record kept with its reason
EPOCH = date(1970, 1, 1)
KEYS: dict[str, tuple[str, ...]] = {  # the source tables' primary keys (docs/cdc.md)
    "accounts": ("account_id",),
    "skus": ("item_id",),
    "invoices": ("invoice_id",),
    "invoice_line_items": ("invoice_id", "item_id"),
}
META = ("_topic", "_partition", "_offset", "_deleted", "_record")


@dataclass
class Poison:
    topic: str
    partition: int
    offset: int
    reason: str
    record: str


@dataclass
class DecodedBatch:
    """A batch's events as columns of text per table, plus the poison messages."""

    rows: dict[str, list[dict[str, Any]]] = field(default_factory=dict)
    poison: list[Poison] = field(default_factory=list)

    def table(self, name: str) -> pa.Table:
        extract = EXTRACTS[name]
        meta = [pa.string(), pa.int32(), pa.int64(), pa.bool_(), pa.string()]
        fields = [*zip(META, meta, strict=True), *((c.name, pa.string()) for c in extract.columns)]
        schema = pa.schema(fields)
        return pa.Table.from_pylist(self.rows.get(name, []), schema=schema)

    @property
    def events(self) -> int:
        return sum(len(v) for v in self.rows.values()) + len(self.poison)


def table_of(topic: str) -> str:
    """`retail.public.invoices` / `retail.shop.invoices` -> `invoices`."""
    return topic.rsplit(".", 1)[-1]


def as_text(value: Any, sql_type: str) -> str | None:
    """A Debezium JSON value as the text an extract would hold for a column of `sql_type`."""
    if value is None:
        return None
    if sql_type == "DATE" and isinstance(value, int) and not isinstance(value, bool):
        try:
            return (EPOCH + timedelta(days=value)).isoformat()
        except OverflowError:
            return f"day {value}"
    if isinstance(value, str):
        return value
    if isinstance(value, bool | dict | list):
        return json.dumps(value)
    return str(value)


def _row(extract: Extract, image: dict[str, Any]) -> dict[str, str | None]:
    return {c.name: as_text(image.get(c.name), c.sql_type) for c in extract.columns}


def decode(batch: DecodedBatch, topic: str, partition: int, offset: int, value: bytes) -> None:
    """Add one Kafka record to `batch`: a row of its table, or a poison message."""
    name = table_of(topic)
    text = value.decode("utf-8", "replace")

    def poison(reason: str) -> None:
        batch.poison.append(Poison(topic, partition, offset, reason, text[:RECORD_CHARS]))

    if name not in EXTRACTS:
        return poison(f"topic {topic}: not one of the tables {', '.join(EXTRACTS)}")
    try:
        event = json.loads(text)
    except ValueError as exc:
        return poison(f"not JSON ({exc})")
    if isinstance(event, dict) and "payload" in event and "op" not in event:
        event = event["payload"]  # a converter with schemas on: the envelope is the payload
    op = event.get("op") if isinstance(event, dict) else None
    if op not in OPS:
        return poison(f"not a Debezium change event (op {op!r}, expected one of r, c, u, d)")
    image = event.get("before") if op == "d" else event.get("after")
    if not isinstance(image, dict):
        side = "before" if op == "d" else "after"
        return poison(f"op {op!r} without a row in '{side}'")
    if missing := [k for k in KEYS[name] if image.get(k) is None]:
        return poison(f"{name} change without its key ({', '.join(missing)})")
    extract = EXTRACTS[name]
    row = _row(extract, image)
    row.update(_topic=topic, _partition=partition, _offset=offset, _deleted=op == "d",
               _record=json.dumps(image, sort_keys=True, default=str)[:RECORD_CHARS])
    batch.rows.setdefault(name, []).append(row)
