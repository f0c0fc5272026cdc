"""Partition specs of the `commerce` tables and the files a slice replacement swaps.

A table owned per slice (a partition of its asset) is partitioned in the catalog so that a
slice is a set of whole files: `Spec` lists (column, transform) with transform `identity`
or `day` (the day of a timestamp: the UTC day of a TIMESTAMPTZ, the wall-clock day of a
naive TIMESTAMP). A slice key is one value per field: the column's value for `identity`, a
`date` for `day`. docs/catalog.md says which table has which spec.
"""

from __future__ import annotations

from collections.abc import Collection, Sequence
from datetime import date, datetime, timedelta
from typing import Any

from pyiceberg.expressions import (
    AlwaysTrue,
    And,
    BooleanExpression,
    GreaterThanOrEqual,
    In,
    LessThan,
)
from pyiceberg.table import Table
from pyiceberg.table.update.spec import UpdateSpec
from pyiceberg.transforms import DayTransform
from pyiceberg.types import TimestamptzType

Spec = tuple[tuple[str, str], ...]
TRANSFORMS = ("identity", "day")
_EPOCH = date(1970, 1, 1)


def as_spec(partition_by: str | Sequence[tuple[str, str]] | None) -> Spec:
    """A spec from a column name (identity) or (column, transform) pairs; () for none."""
    if partition_by is None:
        return ()
    if isinstance(partition_by, str):
        return ((partition_by, "identity"),)
    spec = tuple((column, transform) for column, transform in partition_by)
    if any(transform not in TRANSFORMS for _, transform in spec):
        raise ValueError(f"partition transforms are {TRANSFORMS}: {spec}")
    return spec


def as_keys(spec: Spec, values: Collection[Any]) -> set[tuple]:
    """Slice keys as tuples (a one-field spec also takes plain values)."""
    return {tuple(v) if isinstance(v, tuple | list) else (v,) for v in values}


def add_fields(update: UpdateSpec, spec: Spec) -> None:
    """Partition a new table by `spec`."""
    for column, transform in spec:
        if transform == "day":
            update.add_field(column, DayTransform(), f"{column}_day")
        else:
            update.add_identity(column)


def table_spec(table: Table) -> Spec:
    """The (column, transform) pairs the table is partitioned by."""
    return tuple((table.schema().find_column_name(f.source_id), str(f.transform))
                 for f in table.spec().fields)


def slice_files(table: Table, spec: Spec, keys: set[tuple]) -> list[Any]:
    """The data files holding the rows of these slices (whole files: the table must be
    partitioned by `spec`), found with the partitions pruned."""
    if table_spec(table) != spec:
        wanted = ", ".join(f"{column} ({transform})" for column, transform in spec)
        raise ValueError(f"{'.'.join(table.name())} is not partitioned by {wanted}")
    tasks = table.scan(row_filter=_coarse_filter(table, spec, keys)).plan_files()
    if len(spec) == 1 and spec[0][1] == "identity":
        return [task.file for task in tasks]  # the In filter is exact
    wanted = {tuple(_partition_value(v) for v in key) for key in keys}
    return [task.file for task in tasks
            if tuple(task.file.partition[i] for i in range(len(spec))) in wanted]


def _coarse_filter(table: Table, spec: Spec, keys: set[tuple]) -> BooleanExpression:
    """A filter covering every slice (identity values `In`, days their overall range): it
    prunes the manifests; the exact match is on each file's partition."""
    where: BooleanExpression = AlwaysTrue()
    for i, (column, transform) in enumerate(spec):
        values = {key[i] for key in keys}
        if transform == "identity":
            term: BooleanExpression = In(column, values)
        else:
            tz = isinstance(table.schema().find_field(column).field_type, TimestamptzType)
            suffix = "+00:00" if tz else ""
            first, last = min(values), max(values) + timedelta(days=1)
            term = And(GreaterThanOrEqual(column, f"{first.isoformat()}T00:00:00{suffix}"),
                       LessThan(column, f"{last.isoformat()}T00:00:00{suffix}"))
        where = term if isinstance(where, AlwaysTrue) else And(where, term)
    return where


def _partition_value(value: Any) -> Any:
    """A key value as a data file's partition record holds it (dates as days since 1970)."""
    if isinstance(value, date) and not isinstance(value, datetime):
        return (value - _EPOCH).days
    return value
