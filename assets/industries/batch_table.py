"""The row groups of one batch file, from a judged batch (docs/industries.md, "Judging a
batch at once"): the same rows, order and row groups as the per-record path wrote."""

from __future__ import annotations

from itertools import pairwise
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from assets.industries.records import RawRecord
from assets.industries.records_arrow import Judged, flags
from assets.industries.stream import BATCH_SCHEMA

WITH_IDX = BATCH_SCHEMA.append(pa.field("idx", pa.int64()))


def row_groups(judged: Judged, records: list[RawRecord],
               seq: int) -> tuple[list[pa.Table], list[str], int]:
    """(row groups: one per order hour, oldest first, each in order time then record order,
    then one of the rejected records in record order; hours; rejected count)."""
    good_rows = [r for r in judged.rows if not r.get("reject_reason")]
    bad_rows = [r for r in judged.rows if r.get("reject_reason")]
    good = pa.concat_tables([_complete(judged.table, records, seq),
                             _from_rows(good_rows, seq)])
    good = good.take(pc.sort_indices(good, [("order_ts", "ascending"), ("idx", "ascending")]))
    good = good.drop_columns(["idx"])
    groups = _by_hour(good)
    if bad_rows:
        groups.append(_from_rows(bad_rows, seq).drop_columns(["idx"]))
    hours = sorted(pc.unique(good.column("hour")).to_pylist())
    return groups, hours, len(bad_rows)


def _complete(table: pa.Table, records: list[RawRecord], seq: int) -> pa.Table:
    """The accepted rows with their source, line and batch (raw and reason empty)."""
    idx = table.column("idx")
    n = table.num_rows
    if n == len(records):  # every record accepted: idx is 0..n-1 in order
        sources, lines = [r.source for r in records], [r.line for r in records]
    else:
        picked = idx.to_pylist()
        sources = [records[i].source for i in picked]
        lines = [records[i].line for i in picked]
    columns: dict[str, Any] = {name: table.column(name) for name in
                               ("order_id", "customer_id", "amount", "order_ts", "hour",
                                "order_lines")}
    columns.update(source=pa.array(sources, pa.string()), line=pa.array(lines, pa.int64()),
                   batch_seq=pa.array(np.full(n, seq, np.int64)),
                   raw=pa.nulls(n, pa.string()), reject_reason=pa.nulls(n, pa.string()),
                   idx=idx)
    return pa.table(columns, schema=WITH_IDX)


def _from_rows(rows: list[dict[str, Any]], seq: int) -> pa.Table:
    for row in rows:
        row["batch_seq"] = seq
    return pa.Table.from_pylist(rows, schema=WITH_IDX)


def _by_hour(good: pa.Table) -> list[pa.Table]:
    """Slices of the time-sorted rows, one per hour."""
    if good.num_rows == 0:
        return []
    hour = good.column("hour").combine_chunks()
    change = flags(pc.not_equal(hour.slice(1), hour.slice(0, len(hour) - 1)))
    cuts = [0, *(np.flatnonzero(change) + 1).tolist(), good.num_rows]
    return [good.slice(a, b - a) for a, b in pairwise(cuts) if b > a]
